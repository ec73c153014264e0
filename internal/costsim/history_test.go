package costsim

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/samtemplate"
)

// maxParameter is a template parameter's MaxValue, in seconds.
func maxParameter(t *testing.T, name string) time.Duration {
	t.Helper()
	var tmpl struct {
		Parameters map[string]struct {
			MaxValue string `yaml:"MaxValue"`
		} `yaml:"Parameters"`
	}
	if err := samtemplate.Decode("../../template.yaml", &tmpl); err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(tmpl.Parameters[name].MaxValue)
	if err != nil {
		t.Fatalf("template parameter %s has no MaxValue: %v", name, err)
	}
	return time.Duration(n) * time.Second
}

// TestWorstCaseHistory runs video_job with the worst parameters the
// template allows and counts each execution's history as AWS does: the
// longest JobDeadlineSeconds with an upstream that never finishes, polled
// as often as a policy may ask (every second, which pollpolicy.MinTurn turns
// into 5 s), by jobs that also wait for a slot for almost the longest
// QueueTimeoutSeconds first. Each history must stay under Step Functions'
// 25,000 events, and no execution may outlive its TimeoutSeconds.
func TestWorstCaseHistory(t *testing.T) {
	deadline, queue := maxParameter(t, "JobDeadlineSeconds"), maxParameter(t, "QueueTimeoutSeconds")
	// One slot; each job holds it until its deadline, so the last of n
	// waits (n-1) deadlines, just inside the queue timeout, then polls
	// for a whole deadline of its own.
	n := int(queue/deadline) + 1
	w := BurstOf(n)
	w.BurstShareB, w.Never = 0, 1
	eager := Policy{Name: "every second", New: func() pollpolicy.Policy {
		p := pollpolicy.Fixed()
		p.FirstPoll, p.Interval = map[int]time.Duration{}, time.Second
		return p
	}}
	res, err := Run(context.Background(), Config{Workload: w, Policy: eager, Latencies: ModelLatencies(),
		Template: "../../template.yaml", Deadline: deadline, QueueTimeout: queue, Dir: t.TempDir(),
		Limits: job.Limits{Global: 1}, Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d jobs over %s simulated; the longest history holds %d events", n, res.Simulated.Round(time.Second), res.MaxHistory)
	if got := res.Statuses["error "+job.ErrNameTimedOut]; got != n || res.Open != 0 {
		t.Fatalf("statuses %v, %d open; want all %d ended TimedOut by their own deadlines", res.Statuses, res.Open, n)
	}
	if res.MaxHistory >= asl.MaxHistoryEvents || res.MaxHistory == 0 {
		t.Fatalf("the longest history holds %d events; Step Functions stops at %d", res.MaxHistory, asl.MaxHistoryEvents)
	}
	// The last job was parked for most of the queue timeout and then
	// polled for a whole deadline: its execution is the longest.
	if res.Simulated < time.Duration(n)*deadline {
		t.Fatalf("simulated %s, want at least %d deadlines: the last job did not run its whole deadline", res.Simulated, n)
	}
}
