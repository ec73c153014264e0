package local

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/metrics"
)

// sampleLine is a sample line of Prometheus' text format: a name, its
// labels if any, and a number.
var sampleLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? -?[0-9.]+(?:e[+-]?[0-9]+)?$`)

// TestMetricsEndpoint runs real jobs through the runtime (one completed
// with a webhook, one the upstream failed) and scrapes /metrics as
// Prometheus would.
func TestMetricsEndpoint(t *testing.T) {
	rt := start(t, testConfig(t))
	_, done := finishWithWebhook(t, rt)
	if hookExe := waitExecution(t, rt, webhookFlow, done); hookExe.Status != states.Succeeded {
		t.Fatalf("webhook execution: %s %+v", hookExe.Status, hookExe.Error)
	}
	if _, exe := submitAndFinish(t, rt, api.PathGenerations, keyA,
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:error"}`); exe.Status != states.Failed {
		t.Fatalf("failing job's execution: %s", exe.Status)
	}

	resp, err := http.Get(rt.URL + MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "# HELP ") && !strings.HasPrefix(l, "# TYPE ") && !sampleLine.MatchString(l) {
			t.Errorf("not a line of the text format: %q", l)
		}
	}
	has := func(l string) bool {
		for _, got := range lines {
			if got == l {
				return true
			}
		}
		return false
	}
	for _, n := range metrics.Names() {
		name := metrics.PromName(n)
		for _, prefix := range []string{"# HELP " + name + " " + string(n) + ": ", "# TYPE " + name + " "} {
			if !strings.Contains(string(body), "\n"+prefix) && !strings.HasPrefix(string(body), prefix) {
				t.Errorf("no %q line", prefix)
			}
		}
	}
	for _, want := range []string{
		`vidgen_jobs_submitted_total{stage="local"} 2`,
		`vidgen_jobs_ended_total{stage="local",status="completed"} 1`,
		// The simulator's ContentModeration is not one of vidgen's names.
		`vidgen_jobs_ended_total{stage="local",status="error",error="Other"} 1`,
		`vidgen_job_duration_seconds_count{stage="local"} 2`,
		`vidgen_polls_per_job_count{stage="local"} 2`,
		`vidgen_webhook_deliveries_total{stage="local",outcome="succeeded"} 1`,
		`vidgen_admission_in_flight{stage="local"} 0`,
		`vidgen_admission_waiting{stage="local"} 0`,
		"# TYPE vidgen_jobs_ended_total counter",
		"# TYPE vidgen_job_duration_seconds summary",
		"# TYPE vidgen_admission_in_flight gauge",
	} {
		if !has(want) {
			t.Errorf("no line %s", want)
		}
	}
	// Two submits and at least one poll each, all answered.
	if v, _ := rt.Metrics.Value(metrics.UpstreamResponses, LocalStage, metrics.Label{Key: metrics.DimClass, Value: metrics.Class2xx}); v < 4 {
		t.Errorf("upstream 2xx answers = %v, want at least 4", v)
	}
	if t.Failed() {
		t.Logf("GET /metrics:\n%s", body)
	}
}
