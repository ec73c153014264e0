package metrics

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Registry keeps measurements in memory, the way Prometheus' client does
// (counters add, gauges keep the last value, summaries keep a count and a
// sum), and serves them in Prometheus' text exposition format (version
// 0.0.4): the local runtime's /metrics. Each metric is named after its
// CloudWatch name in Prometheus' style (PromName), with the Stage and the
// other dimensions as lower-case labels.
type Registry struct {
	mu     sync.Mutex
	series map[seriesKey]*series
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{series: map[seriesKey]*series{}} }

type seriesKey struct {
	name   Name
	labels string // rendered: stage="local",status="error"
}

type series struct {
	value float64 // a counter's total or a gauge's level; a summary's sum
	count uint64  // a summary's observations
}

// Record adds ms to the registry.
func (g *Registry) Record(_ time.Time, stage string, ms []Measurement) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range ms {
		k := seriesKey{m.Name, renderLabels(stage, m.Labels)}
		s := g.series[k]
		if s == nil {
			s = &series{}
			g.series[k] = s
		}
		switch m.Name.Spec().Kind {
		case Gauge:
			s.value = m.Value
		case Summary:
			s.value += m.Value
			s.count++
		default:
			s.value += m.Value
		}
	}
}

// Value is what the registry holds for the series of name with the given
// labels (besides stage): a counter's total, a gauge's level or a
// summary's sum, and the summary's count (1 for others once recorded).
func (g *Registry) Value(name Name, stage string, labels ...Label) (value float64, count uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.series[seriesKey{name, renderLabels(stage, labels)}]
	if s == nil {
		return 0, 0
	}
	if name.Spec().Kind != Summary {
		return s.value, 1
	}
	return s.value, s.count
}

// PromName is the Prometheus name of a metric: vidgen_ and its name in
// snake case, with _total for counters and _seconds for those in seconds
// (JobsEnded is vidgen_jobs_ended_total, JobDuration
// vidgen_job_duration_seconds).
func PromName(n Name) string {
	var b strings.Builder
	b.WriteString(Namespace)
	for _, r := range string(n) {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	spec := n.Spec()
	switch {
	case spec.Kind == Counter:
		b.WriteString("_total")
	case spec.Unit == Seconds:
		b.WriteString("_seconds")
	}
	return b.String()
}

// WriteText writes every metric in the text exposition format: HELP and
// TYPE for each, then its series sorted by labels.
func (g *Registry) WriteText(w io.Writer) error {
	g.mu.Lock()
	byName := map[Name][]seriesKey{}
	snapshot := map[seriesKey]series{}
	for k, s := range g.series {
		byName[k.name] = append(byName[k.name], k)
		snapshot[k] = *s
	}
	g.mu.Unlock()

	bw := bufio.NewWriter(w)
	for _, n := range Names() {
		spec, prom := n.Spec(), PromName(n)
		typ := map[Kind]string{Counter: "counter", Gauge: "gauge", Summary: "summary"}[spec.Kind]
		fmt.Fprintf(bw, "# HELP %s %s: %s\n", prom, n, escapeHelp(spec.Help))
		fmt.Fprintf(bw, "# TYPE %s %s\n", prom, typ)
		keys := byName[n]
		slices.SortFunc(keys, func(a, b seriesKey) int { return strings.Compare(a.labels, b.labels) })
		for _, k := range keys {
			s := snapshot[k]
			if spec.Kind == Summary {
				fmt.Fprintf(bw, "%s_sum{%s} %s\n", prom, k.labels, formatFloat(s.value))
				fmt.Fprintf(bw, "%s_count{%s} %d\n", prom, k.labels, s.count)
				continue
			}
			fmt.Fprintf(bw, "%s{%s} %s\n", prom, k.labels, formatFloat(s.value))
		}
	}
	return bw.Flush()
}

// ServeHTTP answers a scrape.
func (g *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = g.WriteText(w) // a scraper that went away needs no answer
}

// renderLabels renders stage and labels as Prometheus labels, keys in
// lower case, in the order given (a metric's dimensions come in one order).
func renderLabels(stage string, labels []Label) string {
	var b strings.Builder
	b.WriteString(`stage="` + escapeLabel(stage) + `"`)
	for _, l := range labels {
		b.WriteString("," + strings.ToLower(l.Key) + `="` + escapeLabel(l.Value) + `"`)
	}
	return b.String()
}

func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func escapeHelp(v string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(v)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
