package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
)

// StartRetry bounds how one request retries a failed start of its job's
// execution. A start is safe to repeat: the execution is named after the
// job, and starting one that runs changes nothing. The whole of it, waits
// included, must end well inside the api function's timeout and API
// Gateway's 30-s integration limit, whatever Step Functions does.
type StartRetry struct {
	// Attempts is how many starts are tried in all; 0 means
	// DefaultStartAttempts.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// next one up to MaxBackoff; each wait is drawn from its upper half
	// (jitter, so that requests failing together do not retry together).
	// 0 means DefaultStartBackoff and DefaultStartMaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Budget bounds every attempt and wait together; 0 means
	// DefaultStartBudget.
	Budget time.Duration
}

// Defaults of StartRetry: 4 attempts, waits of 0.1–0.2 s, 0.2–0.4 s and
// 0.4–0.8 s, all within 4 s.
const (
	DefaultStartAttempts   = 4
	DefaultStartBackoff    = 200 * time.Millisecond
	DefaultStartMaxBackoff = time.Second
	DefaultStartBudget     = 4 * time.Second
)

// RetryAfter is what a 503 asks a client to wait before trying again.
const RetryAfter = 5 * time.Second

// start starts j's execution, retrying a failed start as h.StartRetry says.
func (h *Handler) start(ctx context.Context, j job.Job) error {
	r := h.StartRetry
	if r.Attempts <= 0 {
		r.Attempts = DefaultStartAttempts
	}
	if r.Backoff <= 0 {
		r.Backoff = DefaultStartBackoff
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultStartMaxBackoff
	}
	if r.Budget <= 0 {
		r.Budget = DefaultStartBudget
	}
	ctx, cancel := context.WithTimeout(ctx, r.Budget)
	defer cancel()
	wait := r.Backoff
	var err error
	attempt := 1
	for ; ; attempt++ {
		if err = h.Starter.Start(ctx, j.ExecutionName(), j.ID); err == nil {
			return nil
		}
		if attempt == r.Attempts || ctx.Err() != nil {
			break
		}
		d := wait/2 + time.Duration(h.rand()*float64(wait/2))
		h.Log.WarnContext(ctx, "start execution failed; trying again", "attempt", attempt, "wait", d, "err", err)
		if h.sleep(ctx, d) != nil {
			break
		}
		wait = min(2*wait, r.MaxBackoff)
	}
	return fmt.Errorf("start execution %s (%d attempts): %w", j.ExecutionName(), attempt, err)
}

// launch sets a job the request has just recorded going. A job that may
// run has its execution started. One that waits for a slot is admitted if
// one is free; the dispatcher then starts its execution, but only logs a
// start that failed, so the job is read back and, if admitted, started
// here too, which is harmless when it runs already. launch fails only when
// the job may run and no execution of it could be started.
func (h *Handler) launch(ctx context.Context, j job.Job) error {
	if !j.Waiting || h.Admission == nil {
		return h.start(ctx, j)
	}
	n, err := h.Admission.Admit(ctx, j)
	if err != nil {
		// The job waits, queued, and the next admission takes it.
		h.Log.ErrorContext(ctx, "admit waiting jobs", "err", err)
		return nil
	}
	if n == 0 {
		return nil // no slot: it waits its turn
	}
	cur, err := h.Store.Get(ctx, j.ID)
	if err != nil {
		// Whether it was admitted is unknown; if it was and did not start,
		// the reconciler starts it at its next pass.
		h.Log.ErrorContext(ctx, "read admitted job", "err", err)
		return nil
	}
	if cur.Waiting || cur.Status.Terminal() {
		return nil
	}
	return h.start(ctx, cur)
}

// notStarted answers a submit whose job could not be started. Without an
// idempotency key the client's retry makes a new job, so this one is ended
// (nothing was sent upstream) rather than left to run beside it. With one,
// the job stays queued: the client's retry with the same key finds it and
// starts it, and the reconciler starts it at its next pass if no retry
// comes.
func (h *Handler) notStarted(ctx context.Context, j job.Job, keyed bool, err error) events.APIGatewayV2HTTPResponse {
	h.Log.ErrorContext(ctx, "start execution", "err", err)
	if keyed {
		return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable",
			fmt.Sprintf("generation %s is recorded but could not be started yet; retry with the same Idempotency-Key, or query it: it starts within minutes", j.ID))
	}
	if ended, uerr := h.Store.Update(ctx, j.ID, job.Fail(h.Clock.Now().UTC(), job.ErrNameInternal, "vidgen could not start the job")); uerr != nil {
		h.Log.ErrorContext(ctx, "fail unstarted job", "err", uerr)
	} else {
		h.Metrics.JobEnded(ended, 0)
	}
	return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable",
		"could not start the generation, so it was not run; try again (an Idempotency-Key makes retries safe)")
}

func (h *Handler) rand() float64 {
	if h.Rand != nil {
		return h.Rand()
	}
	return rand.Float64()
}

func (h *Handler) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleeper != nil {
		return h.Sleeper.Sleep(ctx, d)
	}
	return clock.Real{}.Sleep(ctx, d)
}
