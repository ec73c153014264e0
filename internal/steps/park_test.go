package steps_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// tokens records the task tokens sent back, or fails.
type tokens struct {
	sent []string
	err  error
}

func (tk *tokens) SendTaskSuccess(_ context.Context, token string, output json.RawMessage) error {
	if tk.err != nil {
		return tk.err
	}
	if !json.Valid(output) {
		return errors.New("output is not JSON")
	}
	tk.sent = append(tk.sent, token)
	return nil
}

// waitingJob stores a job that waits for a slot, as Register records one.
func (e *env) waitingJob() job.Job {
	e.t.Helper()
	e.n++
	now := e.clk.Now()
	j := job.Job{ID: fmt.Sprintf("waiting-%d", e.n), Tenant: "tenant-a", Status: job.Queued,
		Request: validRequest("a calm sea", 5), CreatedAt: now, UpdatedAt: now, Waiting: true}
	job.Timeouts{Generation: jobDeadline, Queue: time.Hour}.Schedule(&j, now)
	if err := e.store.Create(e.t.Context(), j); err != nil {
		e.t.Fatal(err)
	}
	return j
}

// TestParkWhileWaiting: Submit of a waiting job says so, sending nothing
// upstream; the park invocation records its token while the job waits and
// never submits; once the job is admitted, a park sends its own token back
// (nobody else would), and the next Submit submits.
func TestParkWhileWaiting(t *testing.T) {
	e := newEnv(t)
	tk := &tokens{}
	e.h.Tasks = tk
	j := e.waitingJob()

	if out := e.submit(e.h, steps.Input{JobID: j.ID}); !out.Waiting || out.Submitted || out.WaitSeconds != 0 {
		t.Fatalf("Submit of a waiting job = %+v; want waiting, nothing submitted", out)
	}
	if out := e.submit(e.h, steps.Input{JobID: j.ID, ParkToken: "token-1"}); !out.Waiting {
		t.Fatalf("park = %+v; want waiting", out)
	}
	if got := e.get(j.ID); got.ParkToken != "token-1" || len(tk.sent) != 0 {
		t.Fatalf("parked: record token %q, sent %v; want token-1 recorded, nothing sent", got.ParkToken, tk.sent)
	}

	e.clk.Advance(50 * time.Minute) // longer than the generation budget
	if _, err := e.store.Admit(t.Context(), j.ID, job.Limits{Global: 1}, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	// A park that comes after the admission resumes its own execution.
	e.submit(e.h, steps.Input{JobID: j.ID, ParkToken: "token-2"})
	if !slices.Equal(tk.sent, []string{"token-2"}) {
		t.Fatalf("sent %v, want [token-2]", tk.sent)
	}
	if n := e.tr.requests("POST"); n != 0 {
		t.Fatalf("%d submits upstream while parking", n)
	}
	// The wait did not eat the generation's time: it runs from admission.
	if out := e.submit(e.h, steps.Input{JobID: j.ID}); !out.Submitted {
		t.Fatalf("Submit after admission = %+v; want submitted", out)
	}
	if got := e.get(j.ID); !got.Deadline.Equal(e.clk.Now().Add(jobDeadline)) {
		t.Fatalf("deadline %v, want admission + %v", got.Deadline, jobDeadline)
	}
}

// TestParkEnded: a job that ended while waiting (cancelled, or past its
// queue timeout) resumes its execution so that it finishes; a job still
// waiting past its queue timeout ends TimedOut without a submit.
func TestParkEnded(t *testing.T) {
	e := newEnv(t)
	tk := &tokens{}
	e.h.Tasks = tk
	cancelled := e.waitingJob()
	e.update(cancelled.ID, job.Fail(e.clk.Now(), job.ErrNameCancelled, "cancelled by the client"))
	e.submit(e.h, steps.Input{JobID: cancelled.ID, ParkToken: "token-c"})
	if !slices.Equal(tk.sent, []string{"token-c"}) {
		t.Fatalf("sent %v, want [token-c]", tk.sent)
	}

	late := e.waitingJob()
	e.clk.Advance(time.Hour + time.Second)
	out := e.submit(e.h, steps.Input{JobID: late.ID})
	got := e.get(late.ID)
	if out.Status != job.Failed || got.Error == nil || got.Error.Name != job.ErrNameTimedOut || got.SubmitStarted != nil {
		t.Fatalf("Submit past the queue timeout = %+v, record %+v; want TimedOut, never submitted", out, got)
	}

	// A park whose own resume fails is retried by the state machine.
	tk.err = errors.New("throttled")
	other := e.waitingJob()
	e.update(other.ID, job.Fail(e.clk.Now(), job.ErrNameCancelled, "cancelled"))
	_, err := e.h.Submit(t.Context(), steps.Input{JobID: other.ID, ParkToken: "token-x"})
	if _, ok := errors.AsType[*job.TransientError](err); !ok {
		t.Fatalf("park with a failing resume: %v, want TransientError", err)
	}
}
