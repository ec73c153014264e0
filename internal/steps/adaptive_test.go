package steps_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/pollpolicy/polltest"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
)

// windowTimes are 5-s generations of 5 s (25 times), 25 s (25) and 50 s
// (50), one per slot of the sample: median (index 50) 50 s, quartiles
// (indices 25 and 74) 25 s and 50 s, so From (0.02) is windowFrom and To
// (0.97) windowTo.
func windowTimes() []time.Duration {
	var out []time.Duration
	out = append(out, polltest.Repeat(50*time.Second, 50)...)
	out = append(out, polltest.Repeat(5*time.Second, 25)...)
	return append(out, polltest.Repeat(25*time.Second, 25)...)
}

const (
	windowFrom = 17405 * time.Millisecond
	windowTo   = 131425 * time.Millisecond
)

// learn stores times as the learned sample of 5-s videos of job.Model, a
// slot each, and has e's handlers read it through a cache on e's clock.
func (e *env) learn(times []time.Duration) {
	e.t.Helper()
	for i, d := range times {
		if err := e.store.RecordGenTime(e.t.Context(), job.Model, 5, i, d); err != nil {
			e.t.Fatal(err)
		}
	}
	e.h.Learned = &gentime.Cache{Store: e.store, Clock: e.clk, Log: e.h.Log}
}

// wantLearned checks that the stored sample is windowTimes but for took
// in the slot of job id; took 0: nothing was learned.
func (e *env) wantLearned(id string, took time.Duration) {
	e.t.Helper()
	got, err := e.store.GenTimes(e.t.Context(), job.Model, 5)
	if err != nil {
		e.t.Fatal(err)
	}
	want := windowTimes()
	if took != 0 {
		want[gentime.Slot(id)] = took
	}
	for i := range want {
		if got[i] != want[i] {
			e.t.Errorf("learned sample slot %d = %v, want %v (job %s learned %v in slot %d)", i, got[i], want[i], id, took, gentime.Slot(id))
		}
	}
}

func TestWindowTimes(t *testing.T) {
	ts := pollpolicy.NewTimes(windowTimes())
	if from, to := ts.Range(5, 0.02, 0.97); from != windowFrom || to != windowTo {
		t.Errorf("windowTimes' Range(0.02, 0.97) = %v, %v; want %v, %v", from, to, windowFrom, windowTo)
	}
	polltest.WantFit(t, ts, 5, polltest.Middle(50*time.Second, 25*time.Second, 50*time.Second))
}

// windowEnv is a harness whose deployment learned windowTimes, polling by
// windowPolicy(change).
func windowEnv(t *testing.T, change func(*pollpolicy.Adaptive)) *env {
	e := newEnv(t)
	e.learn(windowTimes())
	e.h.Policy = windowPolicy(change)
	return e
}

func windowPolicy(change func(*pollpolicy.Adaptive)) pollpolicy.Policy {
	p := pollpolicy.Learning()
	p.Adaptive.Window = polltest.LongWindow
	if change != nil {
		change(p.Adaptive)
	}
	return p
}

// windowOf sets the policy's window to w, or leaves the default when w is 0.
func windowOf(w time.Duration) func(*pollpolicy.Adaptive) {
	return func(a *pollpolicy.Adaptive) {
		if w != 0 {
			a.Window = w
		}
	}
}

// Poll keeps asking within one invocation while the learner says
// completion is due, and learns the middle of the span between the last ask
// that found the job unfinished and the one that found it done. The
// simulator queues 3 s, so sim:gen=N is done N+3 s after the submit at t0.
// windowFrom is 17.405 s and windowTo 131.425 s.
func TestPollAdaptiveWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prompt   string
		window   time.Duration // Adaptive.Window; 0: the default 120 s
		deadline time.Duration // 0: jobDeadline
		pollAt   time.Duration // since the submit
		// after the Poll
		asks    int
		doneAt  time.Duration // the clock, since the submit
		status  job.Status
		wait    int
		learned time.Duration // recorded for the job; 0: nothing
	}{
		{name: "completes within the window", prompt: "sim:gen=30 a cat", pollAt: 20 * time.Second,
			// asks at 20, 22, …, 34 s; done at 33 s: learns (32 + 34) / 2
			asks: 8, doneAt: 34 * time.Second, status: job.Completed, learned: 33 * time.Second},
		{name: "completes on the dot", prompt: "sim:gen=31 a cat", pollAt: 20 * time.Second,
			asks: 8, doneAt: 34 * time.Second, status: job.Completed, learned: 33 * time.Second},
		{name: "completes between asks", prompt: "sim:gen=31.5 a cat", pollAt: 20 * time.Second,
			// done at 34.5 s, found at 36 s: learns (34 + 36) / 2
			asks: 9, doneAt: 36 * time.Second, status: job.Completed, learned: 35 * time.Second},
		{name: "completes at an odd time", prompt: "sim:gen=38.2 a cat", pollAt: 20300 * time.Millisecond,
			// asks at 20.3, 22.3, …, 42.3 s; done at 41.2 s: learns 41.3 s
			asks: 12, doneAt: 42300 * time.Millisecond, status: job.Completed, learned: 41300 * time.Millisecond},
		{name: "already complete at the very first ask: learns a bound, at most 20 s", prompt: "sim:gen=17 a cat", pollAt: 20 * time.Second,
			asks: 1, doneAt: 20 * time.Second, status: job.Completed, learned: gentime.AtMost + 20*time.Second},
		{name: "window opens Every before From", prompt: "sim:gen=14 a cat", pollAt: windowFrom - 2*time.Second,
			// asks at 15.405 s and 17.405 s; done at 17 s: learns 16.405 s
			asks: 2, doneAt: windowFrom, status: job.Completed, learned: 16400 * time.Millisecond}, // kept to a tenth of a second
		{name: "too early for a window", prompt: "sim:gen=30 a cat", pollAt: windowFrom - 2*time.Second - time.Millisecond,
			// the next poll at From (2.001 s, rounded up), but a turn of the
			// loop lasts at least pollpolicy.MinTurn
			asks: 1, doneAt: windowFrom - 2*time.Second - time.Millisecond, status: job.Generating, wait: 5},
		{name: "fails within the window: nothing learned", prompt: "sim:error sim:gen=30 a cat", pollAt: 20 * time.Second,
			asks: 8, doneAt: 34 * time.Second, status: job.Failed},
		{name: "window ends at To, then the tail", prompt: "sim:never a cat", pollAt: 20 * time.Second,
			// window min(120 s, 131.425 − 20 + 2 s): asks at 20, 22, …, 132 s;
			// then 0.15 × 132 s, capped at 10 s
			asks: 57, doneAt: 132 * time.Second, status: job.Generating, wait: 10},
		{name: "asks bounded by Window, then straight back", prompt: "sim:never a cat", window: 30 * time.Second, pollAt: 20 * time.Second,
			asks: 16, doneAt: 50 * time.Second, status: job.Generating, wait: 1},
		{name: "window stops an ask before the deadline", prompt: "sim:never a cat", deadline: 40 * time.Second, pollAt: 20 * time.Second,
			// no ask at or past the deadline: the last is at 38 s
			asks: 10, doneAt: 38 * time.Second, status: job.Generating, wait: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.learn(windowTimes())
			e.h.Policy = windowPolicy(windowOf(tc.window))
			deadline := tc.deadline
			if deadline == 0 {
				deadline = jobDeadline
			}
			// Created 5 s before the submit: generation times count from
			// SubmitStarted.
			e.n++
			j := job.Job{
				ID: fmt.Sprintf("job-%d", e.n), Tenant: "tenant-a", Status: job.Queued, Request: validRequest(tc.prompt, 5),
				CreatedAt: t0.Add(-5 * time.Second), UpdatedAt: t0.Add(-5 * time.Second), Deadline: t0.Add(deadline),
			}
			if err := e.store.Create(t.Context(), j); err != nil {
				t.Fatal(err)
			}
			if out := e.submit(e.h, steps.Input{JobID: j.ID}); !out.Submitted || out.WaitSeconds != 18 {
				t.Fatalf("Submit = %+v; want submitted with a wait of 18 s (From, 17.405 s, rounded up)", out)
			}
			wantTime(t, "SubmitStarted", e.get(j.ID).SubmitStarted, t0)
			e.clk.Advance(tc.pollAt)

			out := e.poll(e.h, steps.Input{JobID: j.ID})

			want := steps.Output{JobID: j.ID, Status: tc.status, Submitted: true, WaitSeconds: tc.wait}
			wantOutput(t, out, want)
			got := e.afterPoll(j.ID, tc.doneAt, tc.status, tc.asks)
			wantTime(t, "UpdatedAt", &got.UpdatedAt, t0.Add(tc.doneAt))
			if n := e.tr.requests(http.MethodGet); n != tc.asks {
				t.Errorf("%d polls sent, want %d", n, tc.asks)
			}
			if tc.status == job.Completed && (got.Video == nil || got.Video.URL == "") {
				t.Errorf("completed without a video: %+v", got.Video)
			}
			if tc.status == job.Failed {
				wantFailed(t, got, "ContentModeration")
			}
			e.wantLearned(j.ID, tc.learned)
		})
	}
}

// windowStep is one Poll of a job tracked across invocations.
type windowStep struct {
	fault *simulator.Fault // for the Poll's first ask; nil: none
	// after the Poll
	at       time.Duration // the clock, since the submit
	status   job.Status    // of the Output and the record
	polls    int           // the record's
	updated  time.Duration // the record's UpdatedAt, since the submit
	wait     int
	failures int
	learned  time.Duration // recorded for the job; 0: nothing
}

// A job that outlasts one Poll is polled again by the next, and the record
// counts every ask. When the first ask of a Poll finds the job done, the
// learner takes the middle of the span since the record's UpdatedAt, the
// last ask a Poll recorded.
func TestPollAdaptiveWindowAcrossInvocations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prompt string
		window time.Duration // 0: the default 120 s
		pollAt time.Duration // the first Poll, since the submit; each later one after the wait
		steps  []windowStep
	}{
		{name: "a window, then the next Poll's first ask", prompt: "sim:gen=37.5 a cat", window: 20 * time.Second, pollAt: 20 * time.Second,
			steps: []windowStep{
				// asks at 20, 22, …, 40 s
				{at: 40 * time.Second, status: job.Generating, polls: 11, updated: 40 * time.Second, wait: 1},
				// done at 40.5 s, found at 41 s: learns (40 + 41) / 2
				{at: 41 * time.Second, status: job.Completed, polls: 12, updated: 41 * time.Second, learned: 40500 * time.Millisecond},
			}},
		{name: "two windows", prompt: "sim:gen=32.5 a cat", window: 10 * time.Second, pollAt: 20 * time.Second,
			steps: []windowStep{
				// asks at 20, 22, …, 30 s
				{at: 30 * time.Second, status: job.Generating, polls: 6, updated: 30 * time.Second, wait: 1},
				// asks at 31, 33, 35 and 37 s; done at 35.5 s: learns (35 + 37) / 2
				{at: 37 * time.Second, status: job.Completed, polls: 10, updated: 37 * time.Second, learned: 36 * time.Second},
			}},
		{name: "a single early ask, then a Poll whose first ask finds it done", prompt: "sim:gen=14 a cat", pollAt: 10 * time.Second,
			steps: []windowStep{
				// too early for a window; the next poll at From: 7.405 s, rounded up
				{at: 10 * time.Second, status: job.Generating, polls: 1, updated: 10 * time.Second, wait: 8},
				// done at 17 s, found at 18 s: learns (10 + 18) / 2
				{at: 18 * time.Second, status: job.Completed, polls: 2, updated: 18 * time.Second, learned: 14 * time.Second},
			}},
		{name: "a failed Poll in between records nothing", prompt: "sim:gen=14 a cat", pollAt: 10 * time.Second,
			steps: []windowStep{
				{at: 10 * time.Second, status: job.Generating, polls: 1, updated: 10 * time.Second, wait: 8},
				// jitter × 2 s, stretched to pollpolicy.MinTurn
				{fault: &simulator.Fault{Status: 500}, at: 18 * time.Second, status: job.Generating, polls: 1, updated: 10 * time.Second, wait: 5, failures: 1},
				// found done at 23 s: learns (10 + 23) / 2
				{at: 23 * time.Second, status: job.Completed, polls: 2, updated: 23 * time.Second, learned: 16500 * time.Millisecond},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.learn(windowTimes())
			e.h.Policy = windowPolicy(windowOf(tc.window))
			j := e.submitted(validRequest(tc.prompt, 5), jobDeadline)
			e.clk.Advance(tc.pollAt)
			in := steps.Input{JobID: j.ID}
			sent := 0 // GETs
			for i, want := range tc.steps {
				if want.fault != nil {
					e.sim.Inject(simulator.PollEndpoint, *want.fault)
					sent++ // sent, not answered
				}
				out := e.poll(e.h, in)
				wantOutput(t, out, steps.Output{JobID: j.ID, Status: want.status, Submitted: true, WaitSeconds: want.wait, Failures: want.failures})
				if now := e.clk.Now(); !now.Equal(t0.Add(want.at)) {
					t.Errorf("after Poll %d: clock at t0+%v, want t0+%v", i+1, now.Sub(t0), want.at)
				}
				got := e.get(j.ID)
				if got.Polls != want.polls || got.Status != want.status {
					t.Errorf("after Poll %d: %d polls, status %q; want %d, %q", i+1, got.Polls, got.Status, want.polls, want.status)
				}
				wantTime(t, fmt.Sprintf("UpdatedAt after Poll %d", i+1), &got.UpdatedAt, t0.Add(want.updated))
				e.wantLearned(j.ID, want.learned)
				e.clk.Advance(time.Duration(out.WaitSeconds) * time.Second)
				in = carry(t, out)
			}
			sent += tc.steps[len(tc.steps)-1].polls
			if n := e.tr.requests(http.MethodGet); n != sent {
				t.Errorf("%d polls sent, want %d", n, sent)
			}
		})
	}
}

// failingUpdates is a store whose updates fail.
type failingUpdates struct{ steps.Store }

func (failingUpdates) Update(context.Context, string, job.Change) (job.Job, error) {
	return job.Job{}, errors.New("store unavailable")
}

// Poll learns only once the record says the job completed: a Poll whose
// update fails teaches nothing, and the retry, whose first ask is then the
// job's first recorded one, teaches only a bound (at most 35 s).
func TestPollAdaptiveLearnsOnlyRecorded(t *testing.T) {
	e := windowEnv(t, nil)
	j := e.submitted(validRequest("sim:gen=30 a cat", 5), jobDeadline) // done at 33 s
	e.clk.Advance(20 * time.Second)

	broken := *e.h
	broken.Store = failingUpdates{e.store}
	if out, err := broken.Poll(t.Context(), steps.Input{JobID: j.ID}); !isTransient(err) {
		t.Fatalf("Poll with a failing store = %+v, %v; want a transient error", out, err)
	}
	if now := e.clk.Now(); !now.Equal(t0.Add(34 * time.Second)) {
		t.Errorf("clock at t0+%v after the window, want t0+34s", now.Sub(t0))
	}
	wantSame(t, e.get(j.ID), j)
	e.wantLearned(j.ID, 0)

	e.clk.Advance(time.Second)
	out := e.poll(e.h, steps.Input{JobID: j.ID})
	wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Completed, Submitted: true})
	if got := e.get(j.ID); got.Polls != 1 || got.Status != job.Completed {
		t.Errorf("record: %d polls, status %q; want 1, completed", got.Polls, got.Status)
	}
	e.wantLearned(j.ID, gentime.AtMost+35*time.Second)
	if n := e.tr.requests(http.MethodGet); n != 9 {
		t.Errorf("%d polls sent, want 9", n)
	}
}

// A failed ask ends the window; the Poll records the answers it had and
// returns no error, waiting at least as long as a Retry-After the upstream
// sent. A failure of the first ask is the usual transient failure.
func TestPollAdaptiveWindowFault(t *testing.T) {
	ok := simulator.Fault{} // answers normally
	for _, tc := range []struct {
		name     string
		prompt   string            // "": sim:gen=30 (done at 33 s)
		pollAt   time.Duration     // since the submit; 0: 20 s
		faults   []simulator.Fault // for the asks in order
		failures int               // of the Input
		// after the Poll
		asks   int           // answered
		at     time.Duration // the clock, since the submit
		status job.Status
		want   steps.Output // JobID and Submitted are filled in
	}{
		{name: "500 on the fourth ask", faults: []simulator.Fault{ok, ok, ok, {Status: 500}},
			asks: 3, at: 26 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 1}},
		{name: "reset on the second ask", faults: []simulator.Fault{ok, {Reset: true}},
			asks: 1, at: 22 * time.Second, status: job.Generating, // the turn began at 20 s: MinTurn
			want: steps.Output{Status: job.Generating, WaitSeconds: 3}},
		{name: "429 with Retry-After 30 on the third ask; earlier failures forgotten", faults: []simulator.Fault{ok, ok, {Status: 429, RetryAfter: "30"}}, failures: 2,
			asks: 2, at: 24 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 30}},
		{name: "429 with Retry-After as a date", faults: []simulator.Fault{ok, ok, {Status: 429, RetryAfter: t0.Add(54 * time.Second).Format(http.TimeFormat)}},
			asks: 2, at: 24 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 30}},
		{name: "429 without Retry-After", faults: []simulator.Fault{ok, ok, {Status: 429}},
			asks: 2, at: 24 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 1}},
		{name: "503 with Retry-After 7 on the second ask", faults: []simulator.Fault{ok, {Status: 503, RetryAfter: "7"}},
			asks: 1, at: 22 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 7}},
		{name: "Retry-After shorter than the tail: the tail", prompt: "sim:never a cat", pollAt: 125 * time.Second,
			// window 131.425 − 125 + 2 s: asks at 125, 127, …, 133 s; the
			// tail at 133 s is 0.15 × 133 s, capped at 10 s
			faults: []simulator.Fault{ok, ok, ok, ok, {Status: 429, RetryAfter: "2"}},
			asks:   4, at: 133 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 10}},
		{name: "Retry-After longer than the tail", prompt: "sim:never a cat", pollAt: 125 * time.Second,
			faults: []simulator.Fault{ok, ok, ok, ok, {Status: 429, RetryAfter: "45"}},
			asks:   4, at: 133 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 45}},
		{name: "malformed answer on the fifth ask", faults: []simulator.Fault{ok, ok, ok, ok, {Malformed: true}},
			asks: 4, at: 28 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 1}},
		{name: "404 on the second ask is not counted", faults: []simulator.Fault{ok, {Status: 404}},
			asks: 1, at: 22 * time.Second, status: job.Generating, // the turn began at 20 s: MinTurn
			want: steps.Output{Status: job.Generating, WaitSeconds: 3}},
		{name: "500 on the first ask: no window", faults: []simulator.Fault{{Status: 500}},
			asks: 0, at: 20 * time.Second, status: job.Queued,
			want: steps.Output{Status: job.Queued, WaitSeconds: 5, Failures: 1}}, // jitter × 2 s, stretched to MinTurn
		{name: "429 with Retry-After 30 on the first ask: the backoff waits for it", faults: []simulator.Fault{{Status: 429, RetryAfter: "30"}},
			asks: 0, at: 20 * time.Second, status: job.Queued,
			want: steps.Output{Status: job.Queued, WaitSeconds: 30, Failures: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.learn(windowTimes())
			e.h.Policy = windowPolicy(nil)
			prompt := tc.prompt
			if prompt == "" {
				prompt = "sim:gen=30 a cat"
			}
			pollAt := tc.pollAt
			if pollAt == 0 {
				pollAt = 20 * time.Second
			}
			j := e.submitted(validRequest(prompt, 5), jobDeadline)
			e.clk.Advance(pollAt)
			e.sim.Inject(simulator.PollEndpoint, tc.faults...)

			out, err := e.h.Poll(t.Context(), steps.Input{JobID: j.ID, Failures: tc.failures})
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}

			want := tc.want
			want.JobID, want.Submitted = j.ID, true
			wantOutput(t, out, want)
			got := e.afterPoll(j.ID, tc.at, tc.status, tc.asks)
			if tc.asks > 0 {
				wantTime(t, "UpdatedAt", &got.UpdatedAt, t0.Add(tc.at)) // the failed ask's time
			} else {
				wantSame(t, got, j)
			}
			if n := e.tr.requests(http.MethodGet); n != len(tc.faults) {
				t.Errorf("%d polls sent, want %d", n, len(tc.faults))
			}
			e.wantLearned(j.ID, 0)
		})
	}
}

// The fixed policy asks exactly once per Poll and leaves the clock alone.
func TestPollFixedPolicyAsksOnce(t *testing.T) {
	e := newEnv(t)
	if e.h.Policy.Adaptive != nil {
		t.Fatal("the harness's handlers run an adaptive policy")
	}
	j := e.submitted(validRequest("sim:gen=30 a cat", 5), jobDeadline) // done at 33 s
	e.clk.Advance(20 * time.Second)
	in, out := steps.Input{JobID: j.ID}, steps.Output{}
	for i, want := range []struct {
		at     time.Duration
		status job.Status
		wait   int
	}{
		{20 * time.Second, job.Generating, 5},
		{25 * time.Second, job.Generating, 5},
		{30 * time.Second, job.Generating, 5},
		{35 * time.Second, job.Completed, 0},
	} {
		if now := e.clk.Now(); !now.Equal(t0.Add(want.at)) {
			t.Fatalf("Poll %d at t0+%v, want t0+%v", i+1, now.Sub(t0), want.at)
		}
		out = e.poll(e.h, in)
		if now := e.clk.Now(); !now.Equal(t0.Add(want.at)) {
			t.Errorf("Poll %d moved the clock to t0+%v", i+1, now.Sub(t0))
		}
		// Asks that learned nothing new are handed on, not written.
		if got := e.get(j.ID); got.Polls+out.Unrecorded != i+1 || got.Status != want.status || out.Status != want.status || out.WaitSeconds != want.wait {
			t.Errorf("after Poll %d: %d polls (+%d handed on), status %q, output %+v; want %d, %q, wait %d",
				i+1, got.Polls, out.Unrecorded, got.Status, out, i+1, want.status, want.wait)
		}
		in = carry(t, out)
		if n := e.tr.requests(http.MethodGet); n != i+1 {
			t.Errorf("after Poll %d: %d asks sent, want %d", i+1, n, i+1)
		}
		e.clk.Advance(time.Duration(out.WaitSeconds) * time.Second)
	}
}

// afterPoll checks that a Poll left the clock at t0+at and the record at
// status after asks polls, and returns the record.
func (e *env) afterPoll(id string, at time.Duration, status job.Status, asks int) job.Job {
	e.t.Helper()
	if now := e.clk.Now(); !now.Equal(t0.Add(at)) {
		e.t.Errorf("clock at t0+%v after the Poll, want t0+%v", now.Sub(t0), at)
	}
	got := e.get(id)
	if got.Status != status || got.Polls != asks {
		e.t.Errorf("record: status %q, %d polls; want %q, %d", got.Status, got.Polls, status, asks)
	}
	return got
}

// A window that asks for minutes (TailEvery) records its asks every 30 s,
// and stops asking once the job ended meanwhile (a cancel): the cancel
// at 31 s (after the ask at 30 s; asks then every 2 s from 31 s) is seen
// at the first look 30 s after the window opened at 20 s, at 51 s, and the
// Poll reports the job ended.
func TestPollLongWindowSeesCancel(t *testing.T) {
	e := windowEnv(t, func(a *pollpolicy.Adaptive) { a.Window, a.TailEvery = 12*time.Minute, 5*time.Second })
	j := e.newJob(validRequest("sim:never a cat", 5), jobDeadline)
	e.submit(e.h, steps.Input{JobID: j.ID})
	e.clk.Advance(20 * time.Second)
	cancelled := false
	e.tr.setAfter(func(r *http.Request, _ *http.Response) {
		if r.Method == http.MethodGet && !cancelled && e.clk.Now().Sub(t0) >= 30*time.Second {
			cancelled = true
			e.clk.Advance(time.Second)
			if _, err := e.store.Update(t.Context(), j.ID, job.Fail(e.clk.Now(), job.ErrNameCancelled, "cancelled")); err != nil {
				t.Error(err)
			}
		}
	})

	out := e.poll(e.h, steps.Input{JobID: j.ID})

	if got := e.clk.Now().Sub(t0); got != 51*time.Second {
		t.Errorf("the window stopped at %s, want 51 s", got)
	}
	if out.Status != job.Failed {
		t.Errorf("Poll = %+v; want the job failed (cancelled)", out)
	}
	wantFailed(t, e.get(j.ID), job.ErrNameCancelled)
}

// A long window records its asks every 30 s: a client sees polls and
// last_checked_at at most 30 s old while one Poll asks for minutes.
func TestPollLongWindowRecordsAsks(t *testing.T) {
	e := windowEnv(t, func(a *pollpolicy.Adaptive) { a.Window, a.TailEvery = 12*time.Minute, 5*time.Second })
	j := e.newJob(validRequest("sim:gen=100 a cat", 5), jobDeadline)
	e.submit(e.h, steps.Input{JobID: j.ID})
	e.clk.Advance(20 * time.Second)
	var worst time.Duration
	e.tr.setAfter(func(r *http.Request, _ *http.Response) {
		if r.Method != http.MethodGet {
			return
		}
		cur := e.get(j.ID)
		if cur.CheckedAt != nil && !cur.Status.Terminal() {
			worst = max(worst, e.clk.Now().Sub(*cur.CheckedAt))
		}
	})

	if out := e.poll(e.h, steps.Input{JobID: j.ID}); out.Status != job.Completed {
		t.Fatalf("Poll = %+v; want the job completed within its window", out)
	}
	if worst == 0 || worst > 30*time.Second+2*time.Second {
		t.Errorf("last_checked_at was up to %s old during the window, want at most 30 s plus an ask", worst)
	}
	if got := e.get(j.ID); got.Polls != e.tr.requests(http.MethodGet) {
		t.Errorf("polls %d, asks %d", got.Polls, e.tr.requests(http.MethodGet))
	}
}

// A window of asks leaves the function the time to archive what it finds
// (windowReserve, 2¼ min): a Poll of a job that never ends, opened 20 s
// after the submit, asking under pollpolicy.LongPoll within a function of
// 900 s, stops where its window ends (the job 10 minutes old,
// LongPollTailUntil); within a function of 300 s it stops with 2¼ min
// left, on the clock the asks wait on, which is how the local runtime
// measures its functions' Timeouts as well as AWS (clock.WithTimeout).
func TestPollLongWindowLeavesTheFunctionItsReserve(t *testing.T) {
	for _, tc := range []struct {
		timeout time.Duration
		stopsBy time.Duration // after the window opened
	}{
		{timeout: 900 * time.Second, stopsBy: pollpolicy.LongPollTailUntil - 20*time.Second},
		{timeout: 300 * time.Second, stopsBy: 300*time.Second - (2*time.Minute + 15*time.Second)},
	} {
		t.Run(tc.timeout.String(), func(t *testing.T) {
			e := newEnv(t)
			e.learn(windowTimes())
			e.h.Policy = pollpolicy.LongPoll()
			j := e.newJob(validRequest("sim:never a cat", 5), jobDeadline)
			e.submit(e.h, steps.Input{JobID: j.ID})
			e.clk.Advance(20 * time.Second)
			ctx, cancel := clock.WithTimeout(t.Context(), e.clk, tc.timeout, errors.New("the function's Timeout passed"))
			defer cancel()
			began := e.clk.Now()

			out, err := e.h.Poll(ctx, steps.Input{JobID: j.ID})

			took := e.clk.Now().Sub(began)
			if err != nil || ctx.Err() != nil || out.Status.Terminal() || out.WaitSeconds <= 0 {
				t.Fatalf("Poll = %+v, %v (context %v); want a wait for the next Poll, in time", out, err, ctx.Err())
			}
			// The last turn (a wait and an ask, 5 s apart in the tail) may
			// start just before the stop.
			if took > tc.stopsBy+5*time.Second || took < tc.stopsBy-10*time.Second {
				t.Errorf("the Poll took %s of its %s, want its window to stop at %s", took, tc.timeout, tc.stopsBy)
			}
		})
	}
}
