package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/metrics"
)

func TestPromName(t *testing.T) {
	want := map[metrics.Name]string{
		metrics.JobsSubmitted:       "vidgen_jobs_submitted_total",
		metrics.JobsEnded:           "vidgen_jobs_ended_total",
		metrics.JobDuration:         "vidgen_job_duration_seconds",
		metrics.DetectionLag:        "vidgen_detection_lag_seconds",
		metrics.PollsPerJob:         "vidgen_polls_per_job",
		metrics.UpstreamResponses:   "vidgen_upstream_responses_total",
		metrics.AdmissionWaiting:    "vidgen_admission_waiting",
		metrics.AdmissionInFlight:   "vidgen_admission_in_flight",
		metrics.WebhookDeliveries:   "vidgen_webhook_deliveries_total",
		metrics.ReconcilerActions:   "vidgen_reconciler_actions_total",
		metrics.SpendCountersMissed: "vidgen_spend_counters_missed_total",
	}
	for _, n := range metrics.Names() {
		if got := metrics.PromName(n); got != want[n] {
			t.Errorf("PromName(%s) = %s, want %s", n, got, want[n])
		}
	}
}

// TestRegistryText records into a registry and reads it back the way
// Prometheus scrapes it, over HTTP.
func TestRegistryText(t *testing.T) {
	reg := metrics.NewRegistry()
	r := metrics.New("local", reg, nil)
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	r.JobSubmitted()
	r.JobSubmitted()
	r.JobEnded(job.Job{Status: job.Completed, Polls: 3, CreatedAt: t0, UpdatedAt: t0.Add(30 * time.Second)}, 2*time.Second)
	r.JobEnded(job.Job{Status: job.Failed, Error: &job.Error{Name: job.ErrNameCancelled}, Polls: 1, CreatedAt: t0, UpdatedAt: t0.Add(10 * time.Second)}, 0)
	r.UpstreamResponse(metrics.Class2xx)
	r.UpstreamResponse(metrics.ClassTransport)
	r.UpstreamResponse(metrics.Class2xx)
	r.AdmissionRound(3, 9)
	r.AdmissionRound(2, -1)
	r.WebhookDelivery(true)
	r.ReconcilerAction(metrics.ActionTimedOut)
	r.SpendCounterMissed()

	srv := httptest.NewServer(reg)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q", ct)
	}
	want := `# HELP vidgen_jobs_submitted_total JobsSubmitted: jobs the upstream accepted (they got their upstream id)
# TYPE vidgen_jobs_submitted_total counter
vidgen_jobs_submitted_total{stage="local"} 2
# HELP vidgen_jobs_ended_total JobsEnded: jobs whose terminal record was written, by status and error name
# TYPE vidgen_jobs_ended_total counter
vidgen_jobs_ended_total{stage="local",status="completed"} 1
vidgen_jobs_ended_total{stage="local",status="error",error="Cancelled"} 1
# HELP vidgen_job_duration_seconds JobDuration: seconds from a job's creation to its end
# TYPE vidgen_job_duration_seconds summary
vidgen_job_duration_seconds_sum{stage="local"} 40
vidgen_job_duration_seconds_count{stage="local"} 2
# HELP vidgen_detection_lag_seconds DetectionLag: seconds from the upstream's end of a generation (estimated: the middle of the span between the last ask that found it unfinished and the one that found it done) to the job's end
# TYPE vidgen_detection_lag_seconds summary
vidgen_detection_lag_seconds_sum{stage="local"} 2
vidgen_detection_lag_seconds_count{stage="local"} 1
# HELP vidgen_polls_per_job PollsPerJob: upstream checks made for a job, at its end
# TYPE vidgen_polls_per_job summary
vidgen_polls_per_job_sum{stage="local"} 4
vidgen_polls_per_job_count{stage="local"} 2
# HELP vidgen_upstream_responses_total UpstreamResponses: upstream calls by answer class: 2xx, 4xx, 429, 5xx, transport
# TYPE vidgen_upstream_responses_total counter
vidgen_upstream_responses_total{stage="local",class="2xx"} 2
vidgen_upstream_responses_total{stage="local",class="transport"} 1
# HELP vidgen_admission_waiting AdmissionWaiting: jobs waiting for a slot, at the last admission round that read the queue
# TYPE vidgen_admission_waiting gauge
vidgen_admission_waiting{stage="local"} 9
# HELP vidgen_admission_in_flight AdmissionInFlight: slots held (generations in flight), at the last admission round
# TYPE vidgen_admission_in_flight gauge
vidgen_admission_in_flight{stage="local"} 2
# HELP vidgen_webhook_deliveries_total WebhookDeliveries: webhook delivery attempts by outcome: succeeded, failed
# TYPE vidgen_webhook_deliveries_total counter
vidgen_webhook_deliveries_total{stage="local",outcome="succeeded"} 1
# HELP vidgen_reconciler_actions_total ReconcilerActions: reconciler acts: started, resumed, timed_out, slots_repaired
# TYPE vidgen_reconciler_actions_total counter
vidgen_reconciler_actions_total{stage="local",action="timed_out"} 1
# HELP vidgen_spend_counters_missed_total SpendCountersMissed: jobs whose credits were recorded without their tenant's daily spend counter, which undercounts them
# TYPE vidgen_spend_counters_missed_total counter
vidgen_spend_counters_missed_total{stage="local"} 1
`
	if string(body) != want {
		t.Errorf("scrape:\n%s\nwant:\n%s", body, want)
	}
	if v, n := reg.Value(metrics.JobDuration, "local"); v != 40 || n != 2 {
		t.Errorf("Value(JobDuration) = %v, %d; want 40, 2", v, n)
	}
}

func TestRegistryEscapesLabels(t *testing.T) {
	reg := metrics.NewRegistry()
	metrics.New("a\"b\\c\nd", reg, nil).JobSubmitted()
	var b strings.Builder
	if err := reg.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if want := `vidgen_jobs_submitted_total{stage="a\"b\\c\nd"} 1`; !strings.Contains(b.String(), want+"\n") {
		t.Errorf("scrape lacks %s:\n%s", want, b.String())
	}
}
