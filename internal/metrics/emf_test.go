package metrics_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/metrics"
)

// cloudWatchUnits are the units the EMF specification allows (those of
// CloudWatch's MetricDatum).
var cloudWatchUnits = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
	"Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// emfDoc is what checkEMF read from a valid document.
type emfDoc struct {
	timestamp int64
	// sets maps each metric to its dimension sets, each as "Stage,Status".
	sets   map[string][]string
	units  map[string]string
	values map[string][]float64
	dims   map[string]string
}

// checkEMF checks one line against CloudWatch's embedded metric format
// specification and returns what it holds. It is the specification's
// schema written out: the root is one JSON object on one line; _aws has
// exactly Timestamp (an integer, milliseconds since the epoch) and a
// non-empty CloudWatchMetrics; each directive has exactly Namespace (1 to
// 1024 characters), Dimensions (dimension sets of at most 30 distinct
// keys) and 1 to 100 Metrics, each exactly Name (1 to 1024 characters) and
// a valid Unit; every dimension key is a root member with a non-empty
// string of at most 1024 characters; every metric is a root member that
// is a number or 1 to 100 numbers.
func checkEMF(t *testing.T, line []byte) emfDoc {
	t.Helper()
	if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, line)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nin %s", fmt.Sprintf(format, args...), line)
	}
	keysAre := func(what string, obj map[string]any, want ...string) {
		t.Helper()
		got := slices.Sorted(maps.Keys(obj))
		slices.Sort(want)
		if !slices.Equal(got, want) {
			fail("%s has members %v, want exactly %v", what, got, want)
		}
	}
	name := func(what string, v any) string {
		t.Helper()
		s, ok := v.(string)
		if !ok || len(s) < 1 || len(s) > 1024 {
			fail("%s = %#v, want a string of 1 to 1024 characters", what, v)
		}
		return s
	}
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		fail("no _aws object")
	}
	keysAre("_aws", aws, "Timestamp", "CloudWatchMetrics")
	ts, ok := aws["Timestamp"].(json.Number)
	if !ok {
		fail("Timestamp = %#v, want a number", aws["Timestamp"])
	}
	ms, err := ts.Int64()
	if err != nil || ms <= 0 {
		fail("Timestamp = %s, want milliseconds since the epoch as an integer", ts)
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		fail("CloudWatchMetrics = %#v, want a non-empty array", aws["CloudWatchMetrics"])
	}
	doc := emfDoc{timestamp: ms, sets: map[string][]string{}, units: map[string]string{}, values: map[string][]float64{}, dims: map[string]string{}}
	for i, d := range directives {
		dir, ok := d.(map[string]any)
		if !ok {
			fail("directive %d is not an object", i)
		}
		keysAre(fmt.Sprintf("directive %d", i), dir, "Namespace", "Dimensions", "Metrics")
		if ns := name("Namespace", dir["Namespace"]); ns != "vidgen" {
			fail("Namespace = %q, want vidgen", ns)
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			fail("Dimensions = %#v, want an array of dimension sets", dir["Dimensions"])
		}
		var rendered []string
		for _, s := range sets {
			set, ok := s.([]any)
			if !ok || len(set) > 30 {
				fail("dimension set %#v: want an array of at most 30 keys", s)
			}
			var keys []string
			for _, k := range set {
				key := name("dimension key", k)
				if slices.Contains(keys, key) {
					fail("dimension set %v repeats %s", set, key)
				}
				keys = append(keys, key)
				doc.dims[key] = name("root member "+key+" (a dimension)", root[key])
			}
			rendered = append(rendered, strings.Join(keys, ","))
		}
		list, ok := dir["Metrics"].([]any)
		if !ok || len(list) < 1 || len(list) > 100 {
			fail("Metrics = %#v, want 1 to 100 metric definitions", dir["Metrics"])
		}
		for _, m := range list {
			def, ok := m.(map[string]any)
			if !ok {
				fail("metric definition %#v is not an object", m)
			}
			keysAre("metric definition", def, "Name", "Unit")
			n := name("metric Name", def["Name"])
			unit, _ := def["Unit"].(string)
			if !slices.Contains(cloudWatchUnits, unit) {
				fail("metric %s has unit %#v, not one CloudWatch knows", n, def["Unit"])
			}
			doc.sets[n], doc.units[n] = rendered, unit
			switch v := root[n].(type) {
			case json.Number:
				f, err := v.Float64()
				if err != nil {
					fail("metric %s = %s: %v", n, v, err)
				}
				doc.values[n] = []float64{f}
			case []any:
				if len(v) < 1 || len(v) > 100 {
					fail("metric %s has %d values, want 1 to 100", n, len(v))
				}
				for _, x := range v {
					num, ok := x.(json.Number)
					if !ok {
						fail("metric %s has value %#v, want numbers", n, x)
					}
					f, _ := num.Float64()
					doc.values[n] = append(doc.values[n], f)
				}
			default:
				fail("root member %s (a metric) = %#v, want a number or an array of numbers", n, root[n])
			}
		}
	}
	return doc
}

// TestEMFEachMetric records each metric through the Recorder's methods and
// checks the line against the specification and the contract's names,
// units and dimension sets.
func TestEMFEachMetric(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 500e6, time.UTC)
	created := at.Add(-90 * time.Second)
	completed := job.Job{ID: "j1", Tenant: "t", Status: job.Completed, Polls: 4, CreatedAt: created, UpdatedAt: at}
	timedOut := job.Job{ID: "j2", Status: job.Failed, Error: &job.Error{Name: job.ErrNameTimedOut}, Polls: 180, CreatedAt: created, UpdatedAt: at}
	upstreamErr := job.Job{ID: "j3", Status: job.Failed, Error: &job.Error{Name: "ContentModeration"}, CreatedAt: created, UpdatedAt: at}
	type metric struct {
		unit  string
		sets  []string
		value float64
	}
	tests := []struct {
		name   string
		record func(r *metrics.Recorder)
		want   map[string]metric
		dims   map[string]string
	}{
		{"JobsSubmitted", func(r *metrics.Recorder) { r.JobSubmitted() },
			map[string]metric{"JobsSubmitted": {"Count", []string{"Stage"}, 1}},
			map[string]string{"Stage": "prod"}},
		{"a job completed", func(r *metrics.Recorder) { r.JobEnded(completed, 1500*time.Millisecond) },
			map[string]metric{
				"JobsEnded":    {"Count", []string{"Stage", "Stage,Status"}, 1},
				"JobDuration":  {"Seconds", []string{"Stage"}, 90},
				"PollsPerJob":  {"Count", []string{"Stage"}, 4},
				"DetectionLag": {"Seconds", []string{"Stage"}, 1.5},
			},
			map[string]string{"Stage": "prod", "Status": "completed"}},
		{"a job timed out", func(r *metrics.Recorder) { r.JobEnded(timedOut, 0) },
			map[string]metric{
				"JobsEnded":   {"Count", []string{"Stage", "Stage,Status", "Stage,Error"}, 1},
				"JobDuration": {"Seconds", []string{"Stage"}, 90},
				"PollsPerJob": {"Count", []string{"Stage"}, 180},
			},
			map[string]string{"Stage": "prod", "Status": "error", "Error": "TimedOut"}},
		{"an upstream error name is Other", func(r *metrics.Recorder) { r.JobEnded(upstreamErr, 0) },
			map[string]metric{
				"JobsEnded":   {"Count", []string{"Stage", "Stage,Status", "Stage,Error"}, 1},
				"JobDuration": {"Seconds", []string{"Stage"}, 90},
				"PollsPerJob": {"Count", []string{"Stage"}, 0},
			},
			map[string]string{"Stage": "prod", "Status": "error", "Error": "Other"}},
		{"UpstreamResponses", func(r *metrics.Recorder) { r.UpstreamResponse(metrics.StatusClass(429)) },
			map[string]metric{"UpstreamResponses": {"Count", []string{"Stage,Class"}, 1}},
			map[string]string{"Stage": "prod", "Class": "429"}},
		{"an admission round", func(r *metrics.Recorder) { r.AdmissionRound(50, 7) },
			map[string]metric{
				"AdmissionInFlight": {"Count", []string{"Stage"}, 50},
				"AdmissionWaiting":  {"Count", []string{"Stage"}, 7},
			},
			map[string]string{"Stage": "prod"}},
		{"an admission round that did not read the queue", func(r *metrics.Recorder) { r.AdmissionRound(50, -1) },
			map[string]metric{"AdmissionInFlight": {"Count", []string{"Stage"}, 50}},
			map[string]string{"Stage": "prod"}},
		{"WebhookDeliveries", func(r *metrics.Recorder) { r.WebhookDelivery(false) },
			map[string]metric{"WebhookDeliveries": {"Count", []string{"Stage,Outcome"}, 1}},
			map[string]string{"Stage": "prod", "Outcome": "failed"}},
		{"ReconcilerActions", func(r *metrics.Recorder) { r.ReconcilerAction(metrics.ActionResumed) },
			map[string]metric{"ReconcilerActions": {"Count", []string{"Stage,Action"}, 1}},
			map[string]string{"Stage": "prod", "Action": "resumed"}},
		{"SpendCountersMissed", func(r *metrics.Recorder) { r.SpendCounterMissed() },
			map[string]metric{"SpendCountersMissed": {"Count", []string{"Stage"}, 1}},
			map[string]string{"Stage": "prod"}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			tt.record(metrics.New("prod", metrics.NewEMF(&out), func() time.Time { return at }))
			doc := checkEMF(t, out.Bytes())
			if doc.timestamp != at.UnixMilli() {
				t.Errorf("Timestamp = %d, want %d", doc.timestamp, at.UnixMilli())
			}
			if !maps.Equal(doc.dims, tt.dims) {
				t.Errorf("dimensions = %v, want %v", doc.dims, tt.dims)
			}
			if got := slices.Sorted(maps.Keys(doc.values)); !slices.Equal(got, slices.Sorted(maps.Keys(tt.want))) {
				t.Errorf("metrics = %v, want %v", got, slices.Sorted(maps.Keys(tt.want)))
			}
			for name, w := range tt.want {
				covered[name] = true
				if doc.units[name] != w.unit || !slices.Equal(doc.sets[name], w.sets) || !slices.Equal(doc.values[name], []float64{w.value}) {
					t.Errorf("%s: unit %s, dimension sets %v, values %v; want %s, %v, [%v]",
						name, doc.units[name], doc.sets[name], doc.values[name], w.unit, w.sets, w.value)
				}
			}
		})
	}
	for _, n := range metrics.Names() {
		if !covered[string(n)] {
			t.Errorf("metric %s is not checked here", n)
		}
	}
}

// TestEMFRepeatedMetric checks that one metric measured twice in one event
// becomes a list of values, and that the lines of concurrent events never
// interleave.
func TestEMFRepeatedMetric(t *testing.T) {
	var out bytes.Buffer
	sink := metrics.NewEMF(&out)
	at := time.UnixMilli(1_700_000_000_123)
	sink.Record(at, "dev", []metrics.Measurement{{Name: metrics.PollsPerJob, Value: 1}, {Name: metrics.PollsPerJob, Value: 2}})
	doc := checkEMF(t, out.Bytes())
	if got := doc.values["PollsPerJob"]; !slices.Equal(got, []float64{1, 2}) {
		t.Errorf("PollsPerJob = %v, want [1 2]", got)
	}
	out.Reset()
	sink.Record(at, "dev", nil)
	if out.Len() != 0 {
		t.Errorf("an empty event wrote %q", out.String())
	}
}

// TestNilRecorder checks that a handler without metrics works.
func TestNilRecorder(t *testing.T) {
	var r *metrics.Recorder
	r.JobSubmitted()
	r.JobEnded(job.Job{Status: job.Completed}, time.Second)
	r.UpstreamResponse(metrics.Class2xx)
	r.AdmissionRound(1, 1)
	r.WebhookDelivery(true)
	r.ReconcilerAction(metrics.ActionStarted)
	r.SpendCounterMissed()
}

func TestStatusClass(t *testing.T) {
	for code, want := range map[int]string{200: "2xx", 201: "2xx", 299: "2xx", 400: "4xx", 401: "4xx", 404: "4xx",
		429: "429", 500: "5xx", 503: "5xx", 302: "5xx", 100: "5xx"} {
		if got := metrics.StatusClass(code); got != want {
			t.Errorf("StatusClass(%d) = %s, want %s", code, got, want)
		}
	}
}

func TestErrorDimension(t *testing.T) {
	for name, want := range map[string]string{
		job.ErrNameTimedOut: "TimedOut", job.ErrNameCancelled: "Cancelled", job.ErrNameInternal: "InternalError",
		job.ErrNameGenerationFailed: "GenerationFailed", job.ErrNameUpstreamAuth: "UpstreamAuth",
		job.ErrNameConfiguration: "ConfigurationError",
		"ContentModeration":      "Other", "": "Other",
	} {
		if got := metrics.ErrorDimension(name); got != want {
			t.Errorf("ErrorDimension(%q) = %s, want %s", name, got, want)
		}
	}
}
