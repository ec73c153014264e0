package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/reconcile"
)

// flaky fails the first failures starts, then starts; failures < 0 fails
// them all. It records each attempt's time left before its deadline.
type flaky struct {
	mu       sync.Mutex
	failures int
	attempts int
	started  []string
	budgets  []time.Duration
}

func (f *flaky) Start(ctx context.Context, name, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if d, ok := ctx.Deadline(); ok {
		f.budgets = append(f.budgets, time.Until(d))
	}
	if f.failures < 0 || f.attempts <= f.failures {
		return errors.New("ThrottlingException: rate exceeded")
	}
	f.started = append(f.started, name)
	return nil
}

// sleeps records the waits between attempts on the test's manual clock.
type sleeps struct {
	clk   *clock.Manual
	waits []time.Duration
}

func (s *sleeps) Now() time.Time { return s.clk.Now() }

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	return s.clk.Sleep(ctx, d)
}

// retrying is a handler whose starts go to f, waiting on a recorded manual
// clock, with the jitter in the middle of its range.
func retrying(t *testing.T, f *flaky) (*checkedHandler, *sleeps) {
	t.Helper()
	h, _, _ := newHandler(t)
	s := &sleeps{clk: h.Clock.(*clock.Manual)}
	h.Starter, h.Sleeper, h.Rand = f, s, func() float64 { return 0.5 }
	return h, s
}

func submitWith(t *testing.T, h *checkedHandler, idem string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := request("POST", PathGenerations, "keyA", "application/json", validBody)
	if idem != "" {
		req.Headers["Idempotency-Key"] = idem
	}
	resp, err := h.Handle(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A start that fails a few times is retried within the request, with
// growing, jittered waits, and the client never sees the failures.
func TestStartIsRetriedWithinTheRequest(t *testing.T) {
	f := &flaky{failures: 2}
	h, s := retrying(t, f)
	resp := submitWith(t, h, "")
	if resp.StatusCode != http.StatusOK || decode(t, resp)["status"] != "queued" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	// Waits of 3/4 of 200 ms, then of 400 ms (Rand is 0.5: the middle of
	// the upper half).
	if f.attempts != 3 || !slices.Equal(f.started, []string{"job-1"}) ||
		!slices.Equal(s.waits, []time.Duration{150 * time.Millisecond, 300 * time.Millisecond}) {
		t.Fatalf("attempts %d, started %v, waits %v", f.attempts, f.started, s.waits)
	}
	for i, b := range f.budgets {
		if b > DefaultStartBudget {
			t.Fatalf("attempt %d had %v left, more than the %v budget", i+1, b, DefaultStartBudget)
		}
	}
	if j, err := h.Store.Get(t.Context(), "job-1"); err != nil || j.Status != job.Queued {
		t.Fatalf("record %+v, %v", j, err)
	}
}

// A start that keeps failing answers 503 with Retry-After. With an
// idempotency key the job stays queued: the client's retry with the same
// key finds that job, not a new one, and the reconciler starts it at its
// next pass without waiting for MinAge.
func TestStartThatKeepsFailing(t *testing.T) {
	f := &flaky{failures: -1}
	h, s := retrying(t, f)
	resp := submitWith(t, h, "order-1")
	body := decode(t, resp)
	e, _ := body["error"].(map[string]any)
	if resp.StatusCode != http.StatusServiceUnavailable || e["name"] != "ServiceUnavailable" || resp.Headers["Retry-After"] != "5" {
		t.Fatalf("%d %v %v", resp.StatusCode, resp.Headers, body)
	}
	// Four attempts, three waits, the last one capped by MaxBackoff's half
	// range: 600 ms of 800 ms.
	if f.attempts != DefaultStartAttempts ||
		!slices.Equal(s.waits, []time.Duration{150 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond}) {
		t.Fatalf("attempts %d, waits %v", f.attempts, s.waits)
	}
	j, err := h.Store.Get(t.Context(), "job-1")
	if err != nil || j.Status != job.Queued || j.Error != nil {
		t.Fatalf("the unstarted job must stay queued: %+v %v", j, err)
	}

	// The client retries while Step Functions still fails: same job.
	if again := submitWith(t, h, "order-1"); again.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("retry: %d %s", again.StatusCode, again.Body)
	}
	if _, err := h.Store.Get(t.Context(), "job-2"); !errors.Is(err, job.ErrNotFound) {
		t.Fatal("a retry with the same key made a second job")
	}

	// The reconciler's next pass, a minute later (MinAge is 5), starts it
	// under its own name.
	clk := h.Clock.(*clock.Manual)
	clk.Advance(time.Minute)
	x := &executionsOf{}
	r := &reconcile.Reconciler{Store: h.Store.(reconcile.Store), Executions: x, Clock: clk,
		Grace: 5 * time.Minute, MinAge: 5 * time.Minute, Log: h.Log}
	rep, err := r.Run(t.Context())
	if err != nil || rep.Started != 1 || !slices.Equal(x.started, []string{"job-1"}) {
		t.Fatalf("reconcile: %+v %v, started %v", rep, err, x.started)
	}

	// Once Step Functions answers, the client's retry gets the job.
	f.failures = 0
	ok := submitWith(t, h, "order-1")
	if ok.StatusCode != http.StatusOK || decode(t, ok)["id"] != "job-1" || ok.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("retry: %d %s %v", ok.StatusCode, ok.Body, ok.Headers)
	}
}

// Without an idempotency key a retry makes a new job, so the unstarted one
// ends rather than run beside it.
func TestStartThatKeepsFailingWithoutAKey(t *testing.T) {
	f := &flaky{failures: -1}
	h, _ := retrying(t, f)
	resp := submitWith(t, h, "")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] != "5" || f.attempts != DefaultStartAttempts {
		t.Fatalf("%d %v %s, %d attempts", resp.StatusCode, resp.Headers, resp.Body, f.attempts)
	}
	if j, err := h.Store.Get(t.Context(), "job-1"); err != nil || j.Status != job.Failed || j.Error.Name != job.ErrNameInternal {
		t.Fatalf("an unstarted job without a key must end: %+v %v", j, err)
	}
}

// The retries stop at the budget, however slow Step Functions is.
func TestStartBudget(t *testing.T) {
	f := &flaky{failures: -1}
	h, _ := retrying(t, f)
	h.StartRetry = StartRetry{Attempts: 10, Budget: 50 * time.Millisecond}
	h.Sleeper = nil // waits on the wall clock, which the budget bounds
	if resp := submitWith(t, h, "slow"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if f.attempts >= 10 {
		t.Fatalf("%d attempts: the budget did not stop them", f.attempts)
	}
	for i, b := range f.budgets {
		if b > 50*time.Millisecond {
			t.Fatalf("attempt %d had %v left, more than the budget", i+1, b)
		}
	}
}

// With caps on generations in flight the dispatcher starts an admitted
// job but only logs a start that failed; the API reads the job back and
// starts it itself, so its answer says whether the job runs.
func TestAdmittedJobIsStarted(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
		want     int
	}{
		{"the start succeeds", 0, http.StatusOK},
		{"the start keeps failing", -1, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flaky{failures: tc.failures}
			h, _ := retrying(t, f)
			adm := &admitsWithoutStarting{store: h.Store.(slotStore), clk: h.Clock}
			h.Admission = adm
			resp := submitWith(t, h, "capped")
			if resp.StatusCode != tc.want {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			j, _ := h.Store.Get(t.Context(), "job-1")
			if j.Waiting || !j.Slot || j.Status != job.Queued {
				t.Fatalf("record %+v: want admitted and queued", j)
			}
			if tc.failures == 0 && !slices.Equal(f.started, []string{"job-1"}) {
				t.Fatalf("started %v", f.started)
			}
		})
	}
	t.Run("a job left waiting is not started", func(t *testing.T) {
		f := &flaky{}
		h, _ := retrying(t, f)
		h.Admission = &admitsWithoutStarting{store: h.Store.(slotStore), clk: h.Clock, full: true}
		if resp := submitWith(t, h, ""); resp.StatusCode != http.StatusOK || f.attempts != 0 {
			t.Fatalf("%d %s, %d starts", resp.StatusCode, resp.Body, f.attempts)
		}
		if j, _ := h.Store.Get(t.Context(), "job-1"); !j.Waiting {
			t.Fatalf("record %+v: want waiting", j)
		}
	})
}

// slotStore is the part of the store admission uses.
type slotStore interface {
	Admit(ctx context.Context, id string, limits job.Limits, at time.Time) (job.Job, error)
}

// admitsWithoutStarting admits the fresh jobs (none when full) and starts
// nothing, as a dispatcher whose starts all failed would.
type admitsWithoutStarting struct {
	store slotStore
	clk   clock.Clock
	full  bool
}

func (a *admitsWithoutStarting) Enabled() bool { return true }

func (a *admitsWithoutStarting) Admit(ctx context.Context, fresh ...job.Job) (int, error) {
	if a.full {
		return 0, nil
	}
	n := 0
	for _, j := range fresh {
		if _, err := a.store.Admit(ctx, j.ID, job.Limits{Global: 10}, a.clk.Now()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// executionsOf stands for Step Functions with no execution running.
type executionsOf struct{ started []string }

func (x *executionsOf) Running(context.Context, string) (bool, error) { return false, nil }

func (x *executionsOf) Start(_ context.Context, name, _ string) error {
	x.started = append(x.started, name)
	return nil
}
