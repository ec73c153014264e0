package costsim

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/catalog"
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

// Every catalogued model's deadline is within what TestWorstCaseHistory
// runs (template.yaml's longest JobDeadlineSeconds), so no model's job can
// poll longer than the case whose history it counts; and video_job's
// TimeoutSeconds outlasts the longest life a job can have: the longest
// queue timeout, the longest deadline (a model's or an operator's), and a
// Poll that began just before it (its Task's TimeoutSeconds).
func TestTimeoutsFitTheLongestDeadline(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var longest time.Duration
	var which string
	for _, id := range c.IDs() {
		if m, ok := c.Lookup(id); ok && m.Deadline > longest {
			longest, which = m.Deadline, id
		}
	}
	if longest != 45*time.Minute {
		t.Errorf("the longest catalogued deadline is %s (%s); this test's reasoning was checked at Kling master's 45 min", longest, which)
	}
	deadline, queue := maxParameter(t, "JobDeadlineSeconds"), maxParameter(t, "QueueTimeoutSeconds")
	if longest > deadline {
		t.Errorf("%s's deadline %s is past JobDeadlineSeconds' MaxValue %s, which TestWorstCaseHistory runs", which, longest, deadline)
	}
	m, _, err := loadMachine("../../template.yaml", Design{})
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]struct{ TimeoutSeconds int }
	}
	raw, err := os.ReadFile("../../statemachine/video_job.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	poll := time.Duration(def.States["Poll"].TimeoutSeconds) * time.Second
	life := queue + max(deadline, longest) + poll
	if got := time.Duration(m.TimeoutSeconds()) * time.Second; got <= life || poll == 0 {
		t.Errorf("video_job's TimeoutSeconds is %s; a job may live %s (queue %s + deadline %s + a Poll's %s)", got, life, queue, max(deadline, longest), poll)
	}
}
