package steps_test

// Issue 17 cut video_job's states: Register submits the job it registers or
// resumes (Registrar.Submitter), and Poll announces the job it sees end
// (Handlers.Finisher). These tests run both on the harness's real parts.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
)

// registrar is a Registrar on the harness's store and clock that submits
// with h.
func (e *env) registrar(h *steps.Handlers) *steps.Registrar {
	return &steps.Registrar{Store: e.store, Clock: e.clk, Deadline: jobDeadline,
		Log: slog.New(slog.NewTextHandler(e.t.Output(), nil)), Submitter: h}
}

func requestJSON(t *testing.T, prompt, key string) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(map[string]any{"model": job.Model, "prompt": prompt, "image_url": "https://example.com/cat.png",
		"duration": 5, "tenant": "tenant-a", "idempotency_key": key})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRegisterSubmits: Register submits the job it records, and the
// resume of one the API recorded (told by its job_id alone, without the
// Resume flag executions before issue 17 sent), once however often the
// state runs; a follower and a refused resume submit nothing.
func TestRegisterSubmits(t *testing.T) {
	e := newEnv(t)
	r := e.registrar(e.h)
	register := func(exec string, input json.RawMessage) (steps.Registration, error) {
		return r.Register(t.Context(), steps.RegisterInput{Request: input, Execution: exec})
	}

	req := requestJSON(t, "a cat registered and submitted", "key-1")
	for attempt := range 2 { // the state retried: the same execution again
		reg, err := register("direct-1", req)
		if err != nil || reg.Follow || !reg.Step.Submitted || reg.Step.WaitSeconds <= 0 || reg.JobID != "direct-1" {
			t.Fatalf("attempt %d: Register = %+v, %v; want the job submitted and a wait before its first Poll", attempt, reg, err)
		}
	}
	if j := e.get("direct-1"); j.UpstreamID == "" || j.SubmitStarted == nil {
		t.Errorf("job after Register = %+v; want submitted", j)
	}
	if got := e.sim.Submissions(); got != 1 {
		t.Errorf("upstream accepted %d submits, want 1", got)
	}

	// The same idempotency key under another execution follows the job.
	reg, err := register("direct-2", req)
	if err != nil || !reg.Follow || reg.JobID != "direct-1" || reg.Step.Submitted {
		t.Errorf("second start = %+v, %v; want it to follow direct-1 without submitting", reg, err)
	}

	// vidgen's own start of a job the API recorded.
	j := e.newJob(validRequest("a cat the API recorded", 5), jobDeadline)
	reg, err = register(j.ID, json.RawMessage(`{"job_id":"`+j.ID+`"}`))
	if err != nil || reg.JobID != j.ID || !reg.Step.Submitted {
		t.Errorf("resume = %+v, %v; want the recorded job submitted", reg, err)
	}

	// Naming a job with anything besides is refused before any submit.
	other := e.newJob(validRequest("another tenant's cat", 5), jobDeadline)
	_, err = register(other.ID, json.RawMessage(`{"job_id":"`+other.ID+`","prompt":"x"}`))
	if _, ok := errors.AsType[*job.ValidationError](err); !ok {
		t.Errorf("a request naming a job: %v, want ValidationError", err)
	}
	if got := e.sim.Submissions(); got != 2 {
		t.Errorf("upstream accepted %d submits, want 2 (direct-1, %s)", got, j.ID)
	}
	if cur := e.get(other.ID); cur.SubmitStarted != nil {
		t.Errorf("refused resume touched the job: %+v", cur)
	}
}

// flakyStore fails the updates of the steps' store while failing is set.
type flakyStore struct {
	steps.Store
	failing bool
}

func (s *flakyStore) Update(ctx context.Context, id string, c job.Change) (job.Job, error) {
	if s.failing {
		return job.Job{}, errors.New("store unavailable")
	}
	return s.Store.Update(ctx, id, c)
}

// TestRegisterSubmitFailures: a submit that may pass later fails the
// Register state with TransientError (retried, then RegisterLater), and
// the state run again submits the job it recorded the first time; a
// submit that ends the job reports it ended (the machine announces it).
func TestRegisterSubmitFailures(t *testing.T) {
	e := newEnv(t)
	flaky := &flakyStore{Store: e.store, failing: true}
	h := e.handlers(e.client(e.srv.URL, simKey, normalTimeout, e.tr))
	h.Store = flaky
	r := e.registrar(h)
	in := steps.RegisterInput{Request: requestJSON(t, "a cat behind a flaky store", ""), Execution: "flaky-1"}
	if _, err := r.Register(t.Context(), in); !isTransient(err) {
		t.Fatalf("Register with the store failing = %v, want TransientError", err)
	}
	if j := e.get("flaky-1"); j.Status != job.Queued || j.SubmitStarted != nil {
		t.Fatalf("job after the failed submit = %+v; want recorded, not submitted", j)
	}
	flaky.failing = false
	reg, err := r.Register(t.Context(), in)
	if err != nil || !reg.Step.Submitted {
		t.Fatalf("Register again = %+v, %v; want submitted", reg, err)
	}

	// The upstream refuses the request for good: the job ends at once.
	e.sim.Inject(simulator.SubmitEndpoint, simulator.Fault{Status: 422})
	reg, err = r.Register(t.Context(), steps.RegisterInput{Request: requestJSON(t, "a cat refused", ""), Execution: "rejected-1"})
	if err != nil || reg.Step.Status != job.Failed {
		t.Fatalf("Register of a rejected request = %+v, %v; want the job ended", reg, err)
	}
	wantFailed(t, e.get("rejected-1"), job.ErrNameRejected)
}

// TestPollAnnouncesEndedJob: the Poll that sees its job end announces it
// (one event, however often it runs) and returns the execution's result;
// a follower's Poll announces nothing; a Poll whose announcing fails
// still succeeds, with no result, so that the machine runs Finish.
func TestPollAnnouncesEndedJob(t *testing.T) {
	e := newEnv(t)
	var events bytes.Buffer
	pub := &switchPublisher{Publisher: &notify.LogPublisher{W: &events}}
	e.h.Finisher = &notify.Notifier{Store: e.store, Publisher: pub, Clock: e.clk, Log: slog.New(slog.DiscardHandler)}
	j := e.submitted(validRequest("a cat announced by Poll", 5), jobDeadline)

	e.clk.Advance(time.Second)
	if out := e.poll(e.h, steps.Input{JobID: j.ID}); out.Status.Terminal() || out.Result != nil {
		t.Fatalf("early Poll = %+v; want the job going on, no result", out)
	}
	if out := e.poll(e.h, steps.Input{JobID: j.ID, Follow: true}); out.Result != nil {
		t.Errorf("follower's Poll = %+v; want no result", out)
	}
	e.clk.Advance(20 * time.Minute)
	for attempt := range 2 { // a retried Poll
		out := e.poll(e.h, steps.Input{JobID: j.ID})
		if out.Status != job.Completed || out.Result == nil || out.Result.Job.Status != job.Completed || out.Result.Callback {
			t.Fatalf("attempt %d: Poll = %+v; want completed with the execution's result", attempt, out)
		}
	}
	if n := strings.Count(events.String(), "\n"); n != 1 {
		t.Errorf("%d events published, want 1:\n%s", n, events.String())
	}
	if cur := e.get(j.ID); cur.AnnouncedAt == nil {
		t.Errorf("job not marked announced: %+v", cur)
	}

	// EventBridge down: the Poll records the end all the same and leaves
	// the announcement to Finish.
	pub.err = errors.New("event bus unavailable")
	k := e.submitted(validRequest("a cat whose event waits for Finish", 5), jobDeadline)
	e.clk.Advance(20 * time.Minute)
	out := e.poll(e.h, steps.Input{JobID: k.ID})
	if out.Status != job.Completed || out.Result != nil {
		t.Errorf("Poll with the bus down = %+v; want completed, no result", out)
	}
	if cur := e.get(k.ID); cur.Status != job.Completed || cur.AnnouncedAt != nil {
		t.Errorf("job = %+v; want completed, not announced", cur)
	}
}

// switchPublisher fails while err is set.
type switchPublisher struct {
	notify.Publisher
	err error
}

func (p *switchPublisher) Publish(ctx context.Context, e notify.Event) error {
	if p.err != nil {
		return fmt.Errorf("publish: %w", p.err)
	}
	return p.Publisher.Publish(ctx, e)
}

// blindStore answers the first blind reads of a job as not found, as a
// store that lost it for a moment would.
type blindStore struct {
	steps.Store
	blind int
}

func (s *blindStore) Get(ctx context.Context, id string) (job.Job, error) {
	if s.blind > 0 {
		s.blind--
		return job.Job{}, fmt.Errorf("get %s: %w", id, job.ErrNotFound)
	}
	return s.Store.Get(ctx, id)
}

// TestRegisterRecordsSubmitFailure: a submit failure that trying again
// cannot mend (here the job not found by Submit) ends the job Register
// recorded, as the machine's RecordFailure would, and Register reports it
// ended; with no job to end either, Register fails with the submit's error
// (the machine's NotRegistered).
func TestRegisterRecordsSubmitFailure(t *testing.T) {
	e := newEnv(t)
	blind := &blindStore{Store: e.store, blind: 1}
	h := e.handlers(e.client(e.srv.URL, simKey, normalTimeout, e.tr))
	h.Store = blind
	r := e.registrar(h)
	reg, err := r.Register(t.Context(), steps.RegisterInput{Request: requestJSON(t, "a cat Submit could not read", ""), Execution: "lost-1"})
	if err != nil || reg.Step.Status != job.Failed {
		t.Fatalf("Register = %+v, %v; want the job ended", reg, err)
	}
	wantFailed(t, e.get("lost-1"), job.ErrNameInternal)
	if e.sim.Submissions() != 0 {
		t.Errorf("upstream got %d submits, want none", e.sim.Submissions())
	}

	blind.blind = 2 // Fail does not find it either
	_, err = r.Register(t.Context(), steps.RegisterInput{Request: requestJSON(t, "a cat nobody could read", ""), Execution: "lost-2"})
	if !errors.Is(err, job.ErrNotFound) || isTransient(err) {
		t.Errorf("Register = %v; want the submit's not-found error, not transient", err)
	}
}
