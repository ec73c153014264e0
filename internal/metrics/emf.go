package metrics

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// EMF writes measurements as CloudWatch Embedded Metric Format documents,
// one JSON line per event: in Lambda, a line on stdout goes to the
// function's log group, where CloudWatch extracts the metrics. Each line is
// complete on its own, so a function that times out loses only what it had
// not recorded yet.
//
// The format (CloudWatch's "Specification: Embedded metric format"): the
// root holds _aws, whose Timestamp is milliseconds since the epoch and
// whose CloudWatchMetrics is a list of directives, each a Namespace,
// Dimensions (a list of dimension sets, each a list of keys) and Metrics
// (Name and Unit); every dimension key is a root member with a string
// value, and every metric a root member with a number (or a list of at
// most 100). vidgen's documents stay far inside the limits (30 dimensions
// per set, 100 metrics per directive).
type EMF struct {
	mu sync.Mutex
	w  io.Writer
}

// NewEMF returns a sink writing to w (os.Stdout in Lambda).
func NewEMF(w io.Writer) *EMF { return &EMF{w: w} }

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

// maxValues is the most values one metric may have in one document.
const maxValues = 100

// Record writes one document holding ms; measurements that share their
// dimension sets share a directive. The measurements of one event never
// give one dimension two values (a document has one value per key).
func (e *EMF) Record(at time.Time, stage string, ms []Measurement) {
	line, err := encodeEMF(at, stage, ms)
	if err != nil || line == nil {
		return // nothing in it can fail to encode; a metric is never worth a failed step
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(line) // one write per line, so lines never interleave
}

// encodeEMF builds the document's line, or nil for no measurements.
func encodeEMF(at time.Time, stage string, ms []Measurement) ([]byte, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	root := map[string]any{DimStage: stage}
	values := map[Name][]float64{}
	var order []Name
	directives := map[string]*emfDirective{}
	var dirOrder []string
	for _, m := range ms {
		for _, l := range m.Labels {
			root[l.Key] = l.Value
		}
		if _, seen := values[m.Name]; !seen {
			order = append(order, m.Name)
		}
		if len(values[m.Name]) < maxValues {
			values[m.Name] = append(values[m.Name], m.Value)
		}
	}
	for _, name := range order {
		spec := name.Spec()
		sets := dimensionSets(spec.Sets, ms, name)
		key := setsKey(sets)
		d, ok := directives[key]
		if !ok {
			d = &emfDirective{Namespace: Namespace, Dimensions: sets}
			directives[key] = d
			dirOrder = append(dirOrder, key)
		}
		d.Metrics = append(d.Metrics, emfMetric{Name: string(name), Unit: spec.Unit})
		if v := values[name]; len(v) == 1 {
			root[string(name)] = v[0]
		} else {
			root[string(name)] = v
		}
	}
	doc := emfMeta{Timestamp: at.UnixMilli()}
	for _, k := range dirOrder {
		doc.CloudWatchMetrics = append(doc.CloudWatchMetrics, *directives[k])
	}
	root["_aws"] = doc
	line, err := json.Marshal(root)
	if err != nil {
		return nil, err
	}
	return append(line, '\n'), nil
}

// dimensionSets are the sets of the metric name that its measurements in
// ms have every dimension of, each led by Stage.
func dimensionSets(sets [][]string, ms []Measurement, name Name) [][]string {
	has := map[string]bool{}
	for _, m := range ms {
		if m.Name == name {
			for _, l := range m.Labels {
				has[l.Key] = true
			}
		}
	}
	var out [][]string
	for _, set := range sets {
		if !slices.ContainsFunc(set, func(k string) bool { return !has[k] }) {
			out = append(out, append([]string{DimStage}, set...))
		}
	}
	return out
}

func setsKey(sets [][]string) string {
	var b strings.Builder
	for _, s := range sets {
		b.WriteString(strings.Join(s, ","))
		b.WriteByte(';')
	}
	return b.String()
}
