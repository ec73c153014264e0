package steps_test

import (
	"cmp"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
)

func TestSubmitAccepted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		seconds  int
		deadline time.Duration
		wait     int
	}{
		{name: "5-s video polls first after 20 s", seconds: 5, deadline: jobDeadline, wait: 20},
		{name: "10-s video polls first after 35 s", seconds: 10, deadline: jobDeadline, wait: 35},
		{name: "first poll no later than a second past the deadline (8 s left)", seconds: 10, deadline: 10 * time.Second, wait: 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			req := validRequest("a cat surfing", tc.seconds)
			j := e.newJob(req, tc.deadline)
			e.clk.Advance(2 * time.Second)
			now := e.clk.Now()

			out := e.submit(e.h, steps.Input{JobID: j.ID})

			wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Queued, Submitted: true, WaitSeconds: tc.wait})
			got := e.get(j.ID)
			if got.UpstreamID == "" || got.Status != job.Queued || got.Error != nil || got.Polls != 0 {
				t.Errorf("record = %+v, want queued with an upstream id", got)
			}
			wantTime(t, "SubmitStarted", got.SubmitStarted, now)
			wantTime(t, "UpdatedAt", &got.UpdatedAt, now)
			wantSubmissions(t, e.sim, req, 1)
			// The recorded id is the simulator's.
			if _, err := e.h.Upstream.Get(t.Context(), got.UpstreamID); err != nil {
				t.Errorf("the simulator does not know the recorded id %s: %v", got.UpstreamID, err)
			}
		})
	}
}

// A submit the upstream surely did not take releases its claim and asks the
// machine to wait (at least Retry-After) and submit again, which then
// succeeds with exactly one submission.
func TestSubmitNotAcceptedIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fault       *simulator.Fault // nil: the upstream cannot be reached
		retryAfterS int              // Retry-After as an HTTP date this many seconds ahead
		failures    int              // Input.Failures
		deadline    time.Duration
		wait        int
	}{
		{name: "429 Retry-After 30", fault: &simulator.Fault{Status: 429, RetryAfter: "30"}, wait: 30},
		{name: "429 Retry-After as HTTP date", fault: &simulator.Fault{Status: 429}, retryAfterS: 45, wait: 45},
		{name: "429 without Retry-After backs off", fault: &simulator.Fault{Status: 429}, wait: 5},
		{name: "429 Retry-After beyond the deadline is clamped to a second past it", fault: &simulator.Fault{Status: 429, RetryAfter: "86400"},
			deadline: 10 * time.Minute, wait: 600},
		{name: "503", fault: &simulator.Fault{Status: 503}, wait: 5},
		{name: "503 Retry-After 12", fault: &simulator.Fault{Status: 503, RetryAfter: "12"}, wait: 12},
		{name: "503 after 3 failures backs off longer", fault: &simulator.Fault{Status: 503}, failures: 3, wait: 8},
		{name: "503 after many failures is capped", fault: &simulator.Fault{Status: 503}, failures: 40, wait: 30},
		{name: "unreachable", wait: 5},
		{name: "unreachable after 2 failures", failures: 2, wait: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			req := validRequest("a cat surfing", 5)
			j := e.newJob(req, cmp.Or(tc.deadline, jobDeadline))
			e.clk.Advance(time.Second)
			now := e.clk.Now()

			h := e.h
			if tc.fault == nil {
				dead := httptest.NewServer(http.NotFoundHandler())
				dead.Close()
				h = e.handlers(e.client(dead.URL, simKey, normalTimeout, nil))
			} else {
				f := *tc.fault
				if tc.retryAfterS > 0 {
					f.RetryAfter = now.Add(time.Duration(tc.retryAfterS) * time.Second).Format(http.TimeFormat)
				}
				e.sim.Inject(simulator.SubmitEndpoint, f)
			}

			out := e.submit(h, steps.Input{JobID: j.ID, Failures: tc.failures})

			wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Queued, Submitted: false,
				WaitSeconds: tc.wait, Failures: tc.failures + 1})
			got := e.get(j.ID)
			if got.Status != job.Queued || got.SubmitStarted != nil || got.UpstreamID != "" || got.Error != nil {
				t.Errorf("record = %+v, want queued with the claim released", got)
			}
			wantTime(t, "UpdatedAt", &got.UpdatedAt, now)
			wantSubmissions(t, e.sim, req, 0)

			// The machine waits and submits again, carrying Failures.
			e.clk.Advance(time.Duration(out.WaitSeconds) * time.Second)
			again := e.submit(e.h, carry(t, out))
			if !e.clk.Now().Before(j.Deadline) {
				// The wait ran past the deadline: the job times out unsent.
				wantOutput(t, again, steps.Output{JobID: j.ID, Status: job.Failed})
				wantFailed(t, e.get(j.ID), job.ErrNameTimedOut)
				wantSubmissions(t, e.sim, req, 0)
				return
			}
			wantOutput(t, again, steps.Output{JobID: j.ID, Status: job.Queued, Submitted: true, WaitSeconds: 20})
			if got := e.get(j.ID); got.UpstreamID == "" || got.SubmitStarted == nil {
				t.Errorf("record after the retry = %+v, want an upstream id", got)
			}
			wantSubmissions(t, e.sim, req, 1)
		})
	}
}

// A submit whose outcome is unknown may have been accepted and charged: the
// job ends as SubmitOutcomeUnknown and is never submitted again.
func TestSubmitOutcomeUnknownEndsJob(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    simulator.Fault
		accepted int // submits the simulator took
	}{
		{name: "500", fault: simulator.Fault{Status: 500}},
		{name: "502", fault: simulator.Fault{Status: 502}},
		{name: "504", fault: simulator.Fault{Status: 504}},
		{name: "404 on the POST", fault: simulator.Fault{Status: 404}},
		{name: "connection reset", fault: simulator.Fault{Reset: true}},
		{name: "malformed 200", fault: simulator.Fault{Malformed: true}},
		{name: "truncated 200", fault: simulator.Fault{Truncated: true}},
		{name: "slower than the client", fault: simulator.Fault{Delay: slowFault}},
		{name: "accepted, then 500", fault: simulator.Fault{Status: 500, AfterAccept: true}, accepted: 1},
		{name: "accepted, then 502", fault: simulator.Fault{Status: 502, AfterAccept: true}, accepted: 1},
		{name: "accepted, then reset", fault: simulator.Fault{Reset: true, AfterAccept: true}, accepted: 1},
		{name: "accepted, then malformed", fault: simulator.Fault{Malformed: true, AfterAccept: true}, accepted: 1},
		{name: "accepted, then truncated", fault: simulator.Fault{Truncated: true, AfterAccept: true}, accepted: 1},
		{name: "accepted, then slower than the client", fault: simulator.Fault{Delay: slowFault, AfterAccept: true}, accepted: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			req := validRequest("a cat surfing", 5)
			j := e.newJob(req, jobDeadline)
			e.clk.Advance(time.Second)
			claimedAt := e.clk.Now()
			e.sim.Inject(simulator.SubmitEndpoint, tc.fault)

			h := e.h
			if tc.fault.Delay > 0 {
				h = e.impatient()
			}
			out := e.submit(h, steps.Input{JobID: j.ID})

			wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Failed})
			got := e.get(j.ID)
			wantFailed(t, got, job.ErrNameSubmitUncertain)
			if got.UpstreamID != "" {
				t.Errorf("UpstreamID = %q, want none", got.UpstreamID)
			}
			wantTime(t, "SubmitStarted", got.SubmitStarted, claimedAt)
			wantSubmissions(t, e.sim, req, tc.accepted)
			sent := e.tr.requests(http.MethodPost)
			if sent != 1 {
				t.Errorf("%d submits sent, want 1", sent)
			}

			// Never again: the machine would not call Submit after "error",
			// but even if it did (a redelivery), nothing is sent.
			e.clk.Advance(time.Minute)
			again := e.submit(e.h, steps.Input{JobID: j.ID, Failures: 1})
			wantOutput(t, again, steps.Output{JobID: j.ID, Status: job.Failed})
			wantSame(t, e.get(j.ID), got)
			if n := e.tr.requests(""); n != sent {
				t.Errorf("%d requests after the job ended, want none", n-sent)
			}
			wantSubmissions(t, e.sim, req, tc.accepted)
		})
	}
}

// A request the upstream refuses for good ends the job as UpstreamRejected.
func TestSubmitRejected(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     job.Request
		fault   *simulator.Fault
		message string // part of the recorded message
	}{
		{name: "invalid stored request", req: job.Request{Model: "x", ImageURL: "https://example.com/cat.png", AspectRatio: "16:9", Duration: 5},
			message: "model"},
		{name: "invalid duration", req: job.Request{Model: job.Model, ImageURL: "https://example.com/cat.png", AspectRatio: "16:9", Duration: 7},
			message: "duration"},
		{name: "400", req: validRequest("ok", 5), fault: &simulator.Fault{Status: 400}, message: "simulated fault"},
		{name: "422", req: validRequest("ok", 5), fault: &simulator.Fault{Status: 422}, message: "simulated fault"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			j := e.newJob(tc.req, jobDeadline)
			if tc.fault != nil {
				e.sim.Inject(simulator.SubmitEndpoint, *tc.fault)
			}

			out := e.submit(e.h, steps.Input{JobID: j.ID})

			wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Failed})
			got := e.get(j.ID)
			wantFailed(t, got, job.ErrNameRejected)
			if !contains(got.Error.Message, tc.message) {
				t.Errorf("message %q does not mention %q", got.Error.Message, tc.message)
			}
			if contains(got.Error.Message, simKey) {
				t.Errorf("message %q holds the key", got.Error.Message)
			}
			wantSubmissions(t, e.sim, tc.req, 0)
			if e.sim.Submissions() != 0 {
				t.Errorf("simulator accepted %d submits", e.sim.Submissions())
			}
		})
	}
}

// The cases where Submit must not send anything at all.
func TestSubmitSendsNothing(t *testing.T) {
	type setup func(e *env, j job.Job) job.Job
	// claimedThen leaves the submit claim of an attempt that crashed, and
	// lets d pass before the machine retries.
	claimedThen := func(d time.Duration) setup {
		return func(e *env, j job.Job) job.Job {
			e.update(j.ID, job.Change{At: e.clk.Now(), ClaimSubmit: true})
			e.clk.Advance(d)
			return e.get(j.ID)
		}
	}
	// cancelled ends the job as its client cancelling it would, a minute
	// before the Submit.
	cancelled := func(e *env, j job.Job) job.Job {
		e.update(j.ID, job.Fail(e.clk.Now(), job.ErrNameCancelled, "cancelled by the client"))
		e.clk.Advance(time.Minute)
		return e.get(j.ID)
	}
	failed := func(j job.Job) steps.Output { return steps.Output{JobID: j.ID, Status: job.Failed} }
	for _, tc := range []struct {
		name      string
		deadline  time.Duration
		setup     setup
		want      func(j job.Job) steps.Output
		wantName  string // error name of the ended job; "" when the record must not change
		unchanged bool
	}{
		// The machine retried 5 s after the crash.
		{name: "claimed by an earlier attempt that crashed", setup: claimedThen(5 * time.Second), want: failed, wantName: job.ErrNameSubmitUncertain},
		{name: "claimed by a crashed attempt, deadline passed too", deadline: 10 * time.Second, setup: claimedThen(time.Minute),
			want: failed, wantName: job.ErrNameSubmitUncertain},
		{
			name:     "deadline is now",
			deadline: 30 * time.Second,
			setup:    func(e *env, j job.Job) job.Job { e.clk.Advance(30 * time.Second); return j },
			want:     failed,
			wantName: job.ErrNameTimedOut,
		},
		{
			name:     "deadline passed",
			deadline: 30 * time.Second,
			setup:    func(e *env, j job.Job) job.Job { e.clk.Advance(time.Hour); return j },
			want:     failed,
			wantName: job.ErrNameTimedOut,
		},
		{
			name: "completed",
			setup: func(e *env, j job.Job) job.Job {
				five := 5.0
				j = e.update(j.ID, job.Change{At: e.clk.Now(), UpstreamID: "gen-1", Status: job.Completed,
					Video: &job.Video{URL: "https://cdn.example.com/v.mp4", Duration: &five}})
				e.clk.Advance(time.Minute)
				return e.get(j.ID)
			},
			want:      func(j job.Job) steps.Output { return steps.Output{JobID: j.ID, Status: job.Completed, Submitted: true} },
			unchanged: true,
		},
		{name: "failed", setup: cancelled, want: failed, unchanged: true},
		{name: "failed after its deadline", deadline: time.Second, setup: cancelled, want: failed, unchanged: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			req := validRequest("a cat surfing", 5)
			j := tc.setup(e, e.newJob(req, cmp.Or(tc.deadline, jobDeadline)))
			before := e.get(j.ID)

			out := e.submit(e.h, steps.Input{JobID: j.ID, Failures: 2})

			wantOutput(t, out, tc.want(j))
			got := e.get(j.ID)
			if tc.unchanged {
				wantSame(t, got, before)
			} else {
				wantFailed(t, got, tc.wantName)
				wantTime(t, "UpdatedAt", &got.UpdatedAt, e.clk.Now())
				if (got.SubmitStarted != nil) != (before.SubmitStarted != nil) {
					t.Errorf("SubmitStarted changed from %v to %v", before.SubmitStarted, got.SubmitStarted)
				}
			}
			if n := e.tr.requests(""); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
			wantSubmissions(t, e.sim, req, 0)
		})
	}
}

// A Submit that runs again after its answer was recorded (a lost Lambda
// response, a redelivery) reports the submission instead of repeating it.
func TestSubmitAgainAfterUpstreamIDRecorded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		after  time.Duration // since the submit
		poll   bool          // poll once first
		status job.Status
		wait   int
	}{
		{name: "right away", status: job.Queued, wait: 20},
		{name: "after a poll saw it generating", after: 10 * time.Second, poll: true, status: job.Generating, wait: 20},
		{name: "near the deadline", after: jobDeadline - 3*time.Second, status: job.Queued, wait: 4},
		{name: "past the deadline", after: jobDeadline + time.Minute, status: job.Queued, wait: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			req := validRequest("a cat surfing", 5)
			j := e.submitted(req, jobDeadline)
			e.clk.Advance(tc.after)
			if tc.poll {
				e.poll(e.h, steps.Input{JobID: j.ID})
			}
			before := e.get(j.ID)
			sent := e.tr.requests("")

			out := e.submit(e.h, steps.Input{JobID: j.ID})

			wantOutput(t, out, steps.Output{JobID: j.ID, Status: tc.status, Submitted: true, WaitSeconds: tc.wait})
			wantSame(t, e.get(j.ID), before)
			if n := e.tr.requests(""); n != sent {
				t.Errorf("%d requests sent, want none", n-sent)
			}
			wantSubmissions(t, e.sim, req, 1)
		})
	}
}

// A job ended (say, cancelled) while its submit is in flight keeps its end;
// Submit reports the final record.
func TestSubmitJobEndedWhileInFlight(t *testing.T) {
	e := newEnv(t)
	req := validRequest("a cat surfing", 5)
	j := e.newJob(req, jobDeadline)
	e.tr.setAfter(func(r *http.Request, _ *http.Response) {
		e.update(j.ID, job.Fail(e.clk.Now(), job.ErrNameCancelled, "cancelled by the client"))
	})

	out := e.submit(e.h, steps.Input{JobID: j.ID})

	wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Failed})
	got := e.get(j.ID)
	wantFailed(t, got, job.ErrNameCancelled)
	if got.UpstreamID != "" {
		t.Errorf("UpstreamID = %q recorded on an ended job", got.UpstreamID)
	}
	wantSubmissions(t, e.sim, req, 1)
}

// When the invocation is cancelled right after the upstream accepted, the
// upstream id is still recorded: losing it would leave a charged generation
// the job no longer follows.
func TestSubmitRecordsUpstreamIDAfterCancel(t *testing.T) {
	e := newEnv(t)
	req := validRequest("a cat surfing", 5)
	j := e.newJob(req, jobDeadline)
	ctx, cancel := context.WithCancel(t.Context())
	e.tr.setAfter(func(_ *http.Request, resp *http.Response) {
		buffered(t, resp)
		cancel()
	})

	out, err := e.h.Submit(ctx, steps.Input{JobID: j.ID})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	got := e.get(j.ID)
	if !out.Submitted || got.UpstreamID == "" || got.Status != job.Queued {
		t.Fatalf("output %+v, record %+v: want the upstream id recorded", out, got)
	}
	wantSubmissions(t, e.sim, req, 1)
}

// Each step refuses an input without a job id and reports a job it cannot
// find as job.ErrNotFound, neither as transient (a retry would not help),
// and sends nothing upstream.
func TestInputErrors(t *testing.T) {
	for _, tc := range []struct {
		step string
		call func(e *env, id string) error
	}{
		{"Submit", func(e *env, id string) error {
			_, err := e.h.Submit(e.t.Context(), steps.Input{JobID: id})
			return err
		}},
		{"Poll", func(e *env, id string) error {
			_, err := e.h.Poll(e.t.Context(), steps.Input{JobID: id})
			return err
		}},
		{"Fail", func(e *env, id string) error {
			_, err := e.h.Fail(e.t.Context(), steps.FailInput{JobID: id, Error: "States.TaskFailed"})
			return err
		}},
	} {
		t.Run(tc.step, func(t *testing.T) {
			e := newEnv(t)
			if err := tc.call(e, ""); err == nil || isTransient(err) {
				t.Errorf("%s without job_id = %v, want a non-transient error", tc.step, err)
			}
			if err := tc.call(e, "no-such-job"); !errorsIsNotFound(err) || isTransient(err) {
				t.Errorf("%s of an unknown job = %v, want job.ErrNotFound, not transient", tc.step, err)
			}
			if n := e.tr.requests(""); n != 0 {
				t.Errorf("%s sent %d requests", tc.step, n)
			}
		})
	}
}
