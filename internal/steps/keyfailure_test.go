package steps_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy/polltest"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
)

// wantKeyRefused checks that j ended as UpstreamAuth with a message that
// says the key was refused and does not hold it.
func wantKeyRefused(t *testing.T, j job.Job, status int, keys ...string) {
	t.Helper()
	wantFailed(t, j, job.ErrNameUpstreamAuth)
	if want := fmt.Sprintf("the upstream refused vidgen's key (HTTP %d", status); !contains(j.Error.Message, want) {
		t.Errorf("message %q does not say %q", j.Error.Message, want)
	}
	for _, k := range keys {
		if k != "" && contains(j.Error.Message, k) {
			t.Errorf("message %q holds a key", j.Error.Message)
		}
	}
}

// An upstream that refuses the key on submit (401 for a wrong key, as the
// simulator checks it, or 403) ends the job at once as UpstreamAuth: not
// retried, not UpstreamRejected, nothing generated.
func TestSubmitKeyRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		key    string           // the client's key; "" is the simulator's
		fault  *simulator.Fault // on submit
		status int
	}{
		{name: "401 wrong key", key: "sk-wrong", status: http.StatusUnauthorized},
		{name: "403", fault: &simulator.Fault{Status: http.StatusForbidden}, status: http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			j := e.newJob(validRequest("a cat", 5), jobDeadline)
			h := e.h
			if tc.key != "" {
				h = e.handlers(e.client(e.srv.URL, tc.key, normalTimeout, e.tr))
			}
			if tc.fault != nil {
				e.sim.Inject(simulator.SubmitEndpoint, *tc.fault)
			}

			out := e.submit(h, steps.Input{JobID: j.ID})

			wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Failed})
			wantKeyRefused(t, e.get(j.ID), tc.status, simKey, tc.key)
			if n := e.tr.requests(http.MethodPost); n != 1 {
				t.Errorf("%d submits sent, want 1", n)
			}
			wantSubmissions(t, e.sim, j.Request, 0)
		})
	}
}

// A key revoked at the upstream while a job generates (401 on the poll) or
// a 403 on it ends the job at the very poll that meets it, instead of
// polling with backoff until the deadline.
func TestPollKeyRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		revoke func(e *env)
		status int
	}{
		{name: "key revoked: 401", revoke: func(e *env) { e.sim.SetKey("sk-rotated") }, status: http.StatusUnauthorized},
		{name: "403", revoke: func(e *env) { e.sim.Inject(simulator.PollEndpoint, simulator.Fault{Status: http.StatusForbidden}) },
			status: http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			j := e.submitted(validRequest("a cat", 5), jobDeadline)
			e.clk.Advance(10 * time.Second)
			tc.revoke(e)

			out := e.poll(e.h, steps.Input{JobID: j.ID})

			wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Failed, Submitted: true})
			wantKeyRefused(t, e.get(j.ID), tc.status, simKey, "sk-rotated")
			if n := e.tr.requests(http.MethodGet); n != 1 {
				t.Errorf("%d polls sent, want 1", n)
			}
		})
	}
}

// A key revoked in the middle of a window (repeated asks within one Poll)
// ends the job in that same Poll, not at the next one.
func TestPollKeyRevokedWithinWindow(t *testing.T) {
	e := newEnv(t)
	h := e.handlers(e.client(e.srv.URL, simKey, normalTimeout, e.tr))
	h.Policy = polltest.LearnedPolicy(nil)
	e.learn(polltest.Seconds(18, 117)) // polltest.LearnedTimes
	h.Learned = e.h.Learned
	j := e.submitted(validRequest("a cat", 5), jobDeadline)
	e.clk.Advance(polltest.LearnedFrom)
	if window, _ := h.Policy.Window(e.get(j.ID), e.clk.Now(), polltest.LearnedTimes()); window <= 0 {
		t.Fatalf("the policy opens no window at %v: the test would not test one", polltest.LearnedFrom)
	}
	e.tr.setAfter(func(r *http.Request, resp *http.Response) {
		if r.Method == http.MethodGet && resp.StatusCode == http.StatusOK {
			e.sim.SetKey("sk-rotated") // after the first ask's answer
		}
	})

	out := e.poll(h, steps.Input{JobID: j.ID})

	wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Failed, Submitted: true})
	wantKeyRefused(t, e.get(j.ID), http.StatusUnauthorized, simKey, "sk-rotated")
	if n := e.tr.requests(http.MethodGet); n != 2 {
		t.Errorf("%d asks sent, want 2 (one answered, one refused)", n)
	}
}
