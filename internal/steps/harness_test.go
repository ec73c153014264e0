package steps_test

// The harness wires the step handlers to real parts only: a bbolt store in a
// temporary directory, the real upstream client and the real simulator
// behind an httptest server, all on one manual clock. Nothing sleeps; the
// only real waiting is a client timeout of normalTimeout/shortTimeout when a
// test provokes one on purpose.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
	"github.com/vidgen/vidgen/internal/upstream"
)

const (
	simKey = "sim-test-key"
	// normalTimeout bounds a request that should succeed; it is generous
	// so that -race on a loaded machine cannot turn a good answer into a
	// timeout.
	normalTimeout = 10 * time.Second
	// shortTimeout and slowFault provoke a client timeout: the simulator
	// returns early when the request context ends, so the test waits only
	// shortTimeout.
	shortTimeout = 50 * time.Millisecond
	slowFault    = 2 * time.Second
	// jitter makes the backoff deterministic: half the exponential ceiling.
	jitter = 0.5
	// jobDeadline is how long test jobs may take unless a test says otherwise.
	jobDeadline = 30 * time.Minute
)

// t0 is whole seconds so that HTTP-date Retry-After values are exact.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// transport is the client's real transport (no keep-alives, so each fault
// meets a fresh connection) plus request counting and an optional hook that
// runs after a real answer arrived, in the caller's goroutine.
type transport struct {
	base *http.Transport

	mu    sync.Mutex
	calls map[string]int // by method
	after func(*http.Request, *http.Response)
}

func newTransport() *transport {
	return &transport{base: &http.Transport{DisableKeepAlives: true}, calls: map[string]int{}}
}

func (tr *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	tr.mu.Lock()
	tr.calls[r.Method]++
	after := tr.after
	tr.mu.Unlock()
	resp, err := tr.base.RoundTrip(r)
	if err == nil && after != nil {
		after(r, resp)
	}
	return resp, err
}

// requests reports how many requests of the method were sent ("" for all).
func (tr *transport) requests(method string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if method != "" {
		return tr.calls[method]
	}
	n := 0
	for _, c := range tr.calls {
		n += c
	}
	return n
}

func (tr *transport) setAfter(f func(*http.Request, *http.Response)) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.after = f
}

type env struct {
	t     *testing.T
	clk   *clock.Manual
	sim   *simulator.Server
	srv   *httptest.Server
	store *boltstore.Store
	tr    *transport
	h     *steps.Handlers
	n     int // jobs made
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := clock.NewManual(t0)
	sim := simulator.New(simulator.Config{Key: simKey, Clock: clk})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	store := bolttest.New(t)
	e := &env{t: t, clk: clk, sim: sim, srv: srv, store: store, tr: newTransport()}
	e.h = e.handlers(e.client(srv.URL, simKey, normalTimeout, e.tr))
	return e
}

// client is a real upstream client on the shared manual clock.
func (e *env) client(baseURL, key string, timeout time.Duration, tr http.RoundTripper) *upstream.Client {
	if tr == nil {
		tr = newTransport()
	}
	return upstream.New(upstream.Config{
		BaseURL: baseURL, Key: key, Timeout: timeout,
		HTTP:  &http.Client{Transport: tr},
		Clock: e.clk,
	})
}

// handlers are steps on e's store and clock that talk to the upstream
// through up.
func (e *env) handlers(up steps.Upstream) *steps.Handlers {
	return &steps.Handlers{
		Store: e.store, Upstream: up, Clock: e.clk, Policy: pollpolicy.Fixed(),
		Rand: func() float64 { return jitter },
		Log:  slog.New(slog.NewTextHandler(e.t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// impatient are handlers whose client gives up after shortTimeout; they
// share e's transport counter.
func (e *env) impatient() *steps.Handlers {
	return e.handlers(e.client(e.srv.URL, simKey, shortTimeout, e.tr))
}

func validRequest(prompt string, seconds int) job.Request {
	return job.Request{
		Model: job.Model, Prompt: prompt, ImageURL: "https://example.com/cat.png",
		AspectRatio: "16:9", Duration: seconds,
	}
}

// newJob stores a queued job created now with the given deadline from now.
func (e *env) newJob(req job.Request, deadline time.Duration) job.Job {
	e.t.Helper()
	e.n++
	now := e.clk.Now()
	j := job.Job{
		ID: fmt.Sprintf("job-%d", e.n), Tenant: "tenant-a", Status: job.Queued, Request: req,
		CreatedAt: now, UpdatedAt: now, Deadline: now.Add(deadline),
	}
	if err := e.store.Create(e.t.Context(), j); err != nil {
		e.t.Fatal(err)
	}
	return e.get(j.ID)
}

func (e *env) get(id string) job.Job {
	e.t.Helper()
	j, err := e.store.Get(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *env) update(id string, c job.Change) job.Job {
	e.t.Helper()
	j, err := e.store.Update(e.t.Context(), id, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

// submitted makes a job and submits it, checking that the upstream took it.
func (e *env) submitted(req job.Request, deadline time.Duration) job.Job {
	e.t.Helper()
	j := e.newJob(req, deadline)
	out, err := e.h.Submit(e.t.Context(), steps.Input{JobID: j.ID})
	if err != nil || !out.Submitted {
		e.t.Fatalf("Submit(%s) = %+v, %v; want submitted", j.ID, out, err)
	}
	return e.get(j.ID)
}

func (e *env) submit(h *steps.Handlers, in steps.Input) steps.Output {
	e.t.Helper()
	out, err := h.Submit(e.t.Context(), in)
	return e.succeeded("Submit", in, out, err)
}

func (e *env) poll(h *steps.Handlers, in steps.Input) steps.Output {
	e.t.Helper()
	out, err := h.Poll(e.t.Context(), in)
	return e.succeeded("Poll", in, out, err)
}

// succeeded is out of the step name run on in, which must not have failed.
func (e *env) succeeded(name string, in steps.Input, out steps.Output, err error) steps.Output {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s(%+v): %v", name, in, err)
	}
	return out
}

func wantOutput(t *testing.T, got, want steps.Output) {
	t.Helper()
	if got != want {
		t.Errorf("Output = %+v, want %+v", got, want)
	}
}

// wantFailed checks that j ended as error with the given name.
func wantFailed(t *testing.T, j job.Job, name string) {
	t.Helper()
	if j.Status != job.Failed || j.Error == nil || j.Error.Name != name {
		t.Fatalf("job = status %q, error %+v; want error %s", j.Status, j.Error, name)
	}
	if j.Video != nil {
		t.Errorf("failed job has a video: %+v", j.Video)
	}
}

func wantSame(t *testing.T, got, want job.Job) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("job record changed:\n got  %+v\n want %+v", got, want)
	}
}

func wantSubmissions(t *testing.T, sim *simulator.Server, req job.Request, n int) {
	t.Helper()
	if got := sim.Submissions(); got != n {
		t.Errorf("simulator accepted %d submits in all, want %d", got, n)
	}
	if got := sim.SubmissionsOf(req); got != n {
		t.Errorf("simulator accepted %d submits of the request, want %d", got, n)
	}
}

func wantTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// buffered reads the whole body of resp so that the client still gets a
// complete answer after the hook cancels its context.
func buffered(t *testing.T, resp *http.Response) {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("read answer in hook: %v", err)
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
}

func isTransient(err error) bool {
	var te *job.TransientError
	return errors.As(err, &te)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func errorsIsNotFound(err error) bool { return errors.Is(err, job.ErrNotFound) }

// carry is the next step's Input made from this step's Output the way the
// state machine makes it: through JSON, field by field, so any control
// field the handlers add travels too.
func carry(t *testing.T, out steps.Output) steps.Input {
	t.Helper()
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var in steps.Input
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	// The machine's Poll passes the previous step's output as "step".
	var prev steps.Output
	if err := json.Unmarshal(data, &prev); err != nil {
		t.Fatal(err)
	}
	in.Prev = &prev
	return in
}
