package steps_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// A window of asks records "generating" as soon as an ask finds the
// upstream generating, with the asks so far and when the last was
// answered, so that clients see the job move before the window ends; it
// writes that once, and the Poll's own write counts the rest of the asks.
func TestPollWindowRecordsGeneratingAtOnce(t *testing.T) {
	e := windowEnv(t, nil)
	// The simulator queues 3 s, then generates for 30 s.
	j := e.submitted(validRequest("sim:gen=30 a cat", 5), jobDeadline)
	e.clk.Advance(20 * time.Second) // windowFrom is 17.405 s: the Poll opens a window

	type seen struct {
		status  job.Status
		polls   int
		checked *time.Time
		at      time.Time
	}
	var (
		mu    sync.Mutex
		views []seen
	)
	e.tr.setAfter(func(r *http.Request, resp *http.Response) {
		if r.Method != http.MethodGet {
			return
		}
		buffered(t, resp)
		cur, err := e.store.Get(t.Context(), j.ID)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		views = append(views, seen{cur.Status, cur.Polls, cur.CheckedAt, e.clk.Now()})
	})
	out := e.poll(e.h, steps.Input{JobID: j.ID})
	e.tr.setAfter(nil)
	if out.Status != job.Completed {
		t.Fatalf("Poll = %+v, want completed within the window", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(views) != 8 {
		t.Fatalf("%d asks, want 8 (20, 22, …, 34 s)", len(views))
	}
	// What the record said when each answer came, before the step acted on it.
	if v := views[0]; v.status != job.Queued || v.polls != 0 || v.checked != nil {
		t.Errorf("at the first ask the record says %+v, want queued and unpolled", v)
	}
	first := views[0].at
	for i, v := range views[1:] {
		if v.status != job.Generating || v.polls != 1 {
			t.Errorf("at ask %d the record says %s with %d polls, want generating with 1 (written once, at the first ask)", i+2, v.status, v.polls)
		}
		wantTime(t, "CheckedAt within the window", v.checked, first)
	}
	got := e.get(j.ID)
	if got.Status != job.Completed || got.Polls != 8 {
		t.Errorf("record after the Poll: %s with %d polls, want completed with 8", got.Status, got.Polls)
	}
	wantTime(t, "CheckedAt", got.CheckedAt, t0.Add(34*time.Second))
}

// Without a window (a fixed policy asks once per Poll) the Poll's own
// write records generating and the ask, as before: no extra write.
func TestPollRecordsGeneratingAndCheckedAt(t *testing.T) {
	e := newEnv(t)
	j := e.submitted(validRequest("sim:gen=30 a cat", 5), jobDeadline)
	e.clk.Advance(20 * time.Second)
	out := e.poll(e.h, steps.Input{JobID: j.ID})
	if out.Status != job.Generating {
		t.Fatalf("Poll = %+v, want generating", out)
	}
	got := e.get(j.ID)
	if got.Status != job.Generating || got.Polls != 1 {
		t.Errorf("record: %s with %d polls, want generating with 1", got.Status, got.Polls)
	}
	wantTime(t, "CheckedAt", got.CheckedAt, t0.Add(20*time.Second))
}
