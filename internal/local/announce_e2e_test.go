package local

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/reconcile"
	"github.com/vidgen/vidgen/internal/simulator"
)

// These tests inject the faults that could announce a job's end twice and
// count what went out: events on the local bus, webhook executions and
// deliveries. Each job is announced once.

// eventsOf counts the events of job id on the local event bus.
func eventsOf(t *testing.T, rt *Runtime, id string) int {
	t.Helper()
	n := 0
	for _, e := range busEvents(t, rt) {
		if e.Detail.ID == id {
			n++
		}
	}
	return n
}

// hookReceiver is a webhook receiver of tenant A, whose secret it reads
// from the API.
func hookReceiver(t *testing.T, rt *Runtime) (*receiver, string) {
	t.Helper()
	sec := call(t, "GET", rt.URL+api.PathWebhookSecret, keyA, "", "")
	secret, _ := sec.body["secret"].(string)
	if sec.status != 200 || secret == "" {
		t.Fatalf("webhook secret: %s", sec.raw)
	}
	rc := &receiver{secret: secret}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/hooks?token=abc"
}

// finishWithWebhook submits a job of tenant A with a webhook to a new
// hookReceiver and waits for the job's execution, which must succeed; it
// returns the receiver and the job's id.
func finishWithWebhook(t *testing.T, rt *Runtime) (*receiver, string) {
	t.Helper()
	rc, hook := hookReceiver(t, rt)
	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA,
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","callback_url":"`+hook+`"}`)
	if exe.Status != states.Succeeded {
		t.Fatalf("job execution: %s %+v", exe.Status, exe.Error)
	}
	return rc, id
}

// wantAnnouncedOnce checks that job id went out exactly once: one event
// and one webhook execution, named after the job. Its deliveries are at
// least once (an attempt whose answer was lost is retried), each with the
// job's webhook-id, by which receivers drop repeats.
func wantAnnouncedOnce(t *testing.T, rt *Runtime, rc *receiver, id string) {
	t.Helper()
	if n := eventsOf(t, rt, id); n != 1 {
		t.Errorf("%d events of job %s, want 1", n, id)
	}
	hooks := executionsOf(t, rt, webhookFlow)
	if !reflect.DeepEqual(hooks, []string{id}) {
		t.Fatalf("webhook executions %v, want one named %s", hooks, id)
	}
	if hook := waitExecution(t, rt, webhookFlow, id); hook.Status != states.Succeeded {
		t.Fatalf("webhook execution: %s %+v", hook.Status, hook.Error)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.deliveries) == 0 {
		t.Errorf("no webhook delivery of job %s", id)
	}
	for _, d := range rc.deliveries {
		if d.id != "msg_"+id || d.verify != "" || d.payload.Data.ID != id {
			t.Errorf("delivery %+v, want job %s's, signed", d, id)
		}
	}
	if j, err := rt.Store.Get(context.Background(), id); err != nil || j.AnnouncedAt == nil {
		t.Errorf("job %s is not marked announced: %+v, %v", id, j, err)
	}
}

// The Poll that sees its job end announces it, and then its Lambda times
// out: its answer is lost and the state machine retries it. The retry
// finds the record marked and publishes nothing; no Finish runs. The job
// is done (sim:gen=0.1, after 3 s queued) long before the first Poll.
func TestPollTimedOutAfterAnnouncingAnnouncesOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.Faults = &lambdas.Faults{At: map[string]map[int]lambdas.Fault{"PollFunction": {1: lambdas.TimedoutAfter}}}
	rt := start(t, cfg)
	rc, hook := hookReceiver(t, rt)
	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA,
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=0.1","callback_url":"`+hook+`"}`)
	if exe.Status != states.Succeeded {
		t.Fatalf("job execution: %s %+v", exe.Status, exe.Error)
	}
	if n := rt.functions.Invocations("PollFunction"); n != 2 {
		t.Fatalf("Poll invoked %d times, want 2 (the timed-out one and its retry)", n)
	}
	if n := rt.functions.Invocations("FinishFunction"); n != 0 {
		t.Errorf("Finish invoked %d times, want 0: the Poll announced", n)
	}
	wantAnnouncedOnce(t, rt, rc, id)
}

// Finish, which announces the jobs no Poll announced (here one the
// upstream refused at its submit), runs to its end, publishing, and then
// its Lambda times out: its answer is lost and the state machine retries
// it. The retry finds the record marked and publishes nothing.
func TestFinishTimedOutAfterPublishingAnnouncesOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.Faults = &lambdas.Faults{At: map[string]map[int]lambdas.Fault{"FinishFunction": {1: lambdas.TimedoutAfter}}}
	rt := start(t, cfg)
	rt.Simulator.Inject(simulator.SubmitEndpoint, simulator.Fault{Status: 422})
	rc, hook := hookReceiver(t, rt)
	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA,
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","callback_url":"`+hook+`"}`)
	if exe.Status != states.Failed || exe.Error == nil || exe.Error.Name != job.ErrNameRejected {
		t.Fatalf("job execution: %s %+v, want it failed %s", exe.Status, exe.Error, job.ErrNameRejected)
	}
	if n := rt.functions.Invocations("FinishFunction"); n != 2 {
		t.Fatalf("Finish invoked %d times, want 2 (the timed-out one and its retry)", n)
	}
	wantAnnouncedOnce(t, rt, rc, id)
}

// meetingExecutions has the reconciler passes that share it look for a
// job's execution at the same moment: each finds none running until all
// of them have looked, so each resumes the job.
type meetingExecutions struct {
	reconcile.Executions
	looked *sync.WaitGroup
}

func (m meetingExecutions) Running(ctx context.Context, name string) (bool, error) {
	running, err := m.Executions.Running(ctx, name)
	m.looked.Done()
	m.looked.Wait()
	return running, err
}

// Two reconciler passes resume the same job at once, its execution having
// been stopped after the upstream accepted it: each counts a resume and
// starts an execution. The one the record no longer names is refused
// before any step (unless it passed its check first, when both run the
// job: polling twice is harmless); the job ends once and is announced
// once.
func TestTwoReconcilerRunsAnnounceOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReconcileInterval = 24 * time.Hour // the test runs the passes itself
	rt := start(t, cfg)
	rc, hook := hookReceiver(t, rt)
	ctx := context.Background()
	id := submitOrphan(t, rt, keyA,
		`{"model":"gen3a_turbo","image_url":"https://example.com/orphan.jpg","prompt":"sim:gen=600","callback_url":"`+hook+`"}`)

	var looked sync.WaitGroup
	looked.Add(2)
	executions := meetingExecutions{Executions: jobExecutions{engine: rt.Engine, machine: VideoJob}, looked: &looked}
	var passes sync.WaitGroup
	for range 2 {
		passes.Go(func() {
			r := &reconcile.Reconciler{Store: rt.Store, Executions: executions, Clock: rt.Clock, Grace: time.Minute,
				Log: slog.New(slog.DiscardHandler)}
			if rep, err := r.Run(ctx); err != nil || rep.Resumed != 1 {
				t.Errorf("pass: %+v, %v; want the job resumed", rep, err)
			}
		})
	}
	passes.Wait()

	succeeded := 0
	for _, name := range []string{id + "-r1", id + "-r2"} {
		exe := waitExecution(t, rt, VideoJob, name)
		switch {
		case exe.Status == states.Succeeded:
			succeeded++
		case exe.Status == states.Failed && exe.Error != nil && exe.Error.Name == "ValidationError" && name == id+"-r1":
			// Superseded by the other pass's resume: it touched nothing.
		default:
			t.Errorf("execution %s: %s %+v", name, exe.Status, exe.Error)
		}
	}
	if succeeded == 0 {
		t.Fatal("no execution ran the job")
	}
	j, err := rt.Store.Get(ctx, id)
	if err != nil || j.Status != job.Completed || j.Resumes != 2 {
		t.Fatalf("job: %+v, %v", j, err)
	}
	if n := rt.Simulator.SubmissionsOf(j.Request); n != 1 {
		t.Fatalf("job submitted %d times", n)
	}
	wantAnnouncedOnce(t, rt, rc, id)
}

// The reconciler's announce-only execution (<id>-end) may race the job's
// own execution: started after that one announced the job, it finds the
// record marked and the webhook execution's name taken, and sends nothing.
func TestSecondExecutionAfterTheEndAnnouncesNothing(t *testing.T) {
	rt := start(t, testConfig(t))
	rc, id := finishWithWebhook(t, rt)
	waitExecution(t, rt, webhookFlow, id)

	if err := (jobExecutions{engine: rt.Engine, machine: VideoJob}).Start(context.Background(), id+"-end", id); err != nil {
		t.Fatal(err)
	}
	if again := waitExecution(t, rt, VideoJob, id+"-end"); again.Status != states.Succeeded {
		t.Fatalf("announce execution: %s %+v", again.Status, again.Error)
	}
	wantAnnouncedOnce(t, rt, rc, id)
}

// A webhook execution name already in use with another input makes
// StartExecution answer ExecutionAlreadyExists: video_job takes that as
// done and ends as the job did.
func TestWebhookNameInUseIsDone(t *testing.T) {
	rt := start(t, testConfig(t))
	_, hook := hookReceiver(t, rt)
	ctx := context.Background()
	const name = "order-77"
	if err := rt.Engine.Start(ctx, webhookFlow, name, json.RawMessage(`{"job_id":"`+name+`","note":"started by hand"}`)); err != nil {
		t.Fatal(err)
	}
	waitExecution(t, rt, webhookFlow, name)
	if err := rt.Engine.Start(ctx, VideoJob, name, json.RawMessage(
		`{"tenant":"tenantA","model":"gen3a_turbo","image_url":"https://example.com/a.jpg","callback_url":"`+hook+`"}`)); err != nil {
		t.Fatal(err)
	}
	if exe := waitExecution(t, rt, VideoJob, name); exe.Status != states.Succeeded {
		t.Fatalf("job execution: %s %+v", exe.Status, exe.Error)
	}
	if hooks := executionsOf(t, rt, webhookFlow); !reflect.DeepEqual(hooks, []string{name}) {
		t.Fatalf("webhook executions %v", hooks)
	}
	if n := eventsOf(t, rt, name); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// Tenant A's workflows pass tenant B's job id: as the only input, beside a
// request (a batch line), under a name that looks like B's resume or
// announce execution. Each execution fails with ValidationError before
// any step touches the job: B's record stays as it was, no event goes
// out, nothing is submitted. B's job then ends once, announced once.
func TestWorkflowCannotSteerAnotherTenantsJob(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReconcileInterval = 24 * time.Hour
	noMinAge := time.Duration(0)
	cfg.ReconcileMinAge = &noMinAge
	rt := start(t, cfg)
	ctx := context.Background()

	// B's own execution is stopped, so that nothing else may touch the
	// record while A's executions run.
	idB := submitOrphan(t, rt, keyB, `{"model":"gen3a_turbo","image_url":"https://example.com/b.jpg","prompt":"sim:gen=600"}`)
	before, err := rt.Store.Get(ctx, idB)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, input string }{
		{"a-order-1", `{"job_id":"` + idB + `"}`},
		{"a-batch-line-0", `{"job_id":"` + idB + `","tenant":"tenantA","idempotency_key":"batch-x-0",` +
			`"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`},
		{idB + "-r1", `{"job_id":"` + idB + `"}`},
		{idB + "-end", `{"job_id":"` + idB + `"}`},
	} {
		if err := rt.Engine.Start(ctx, VideoJob, tc.name, json.RawMessage(tc.input)); err != nil {
			t.Fatal(err)
		}
		exe := waitExecution(t, rt, VideoJob, tc.name)
		if exe.Status != states.Failed || exe.Error == nil || exe.Error.Name != "ValidationError" || !strings.Contains(exe.Error.Cause, "job_id") {
			t.Fatalf("execution %s: %s %+v; want it failed with ValidationError on job_id", tc.name, exe.Status, exe.Error)
		}
	}
	if after, _ := rt.Store.Get(ctx, idB); !reflect.DeepEqual(after, before) {
		t.Fatalf("B's job changed:\n before %+v\n after  %+v", before, after)
	}
	if n := eventsOf(t, rt, idB); n != 0 {
		t.Fatalf("%d events of B's job", n)
	}
	if slices.Contains(executionsOf(t, rt, webhookFlow), idB) {
		t.Fatal("a webhook execution of B's job started")
	}

	// B's job, resumed by the reconciler, ends once. A's execution took the
	// name of its first resume, so the pass that would start it fails and
	// the next one resumes it under the following name.
	resumed := false
	for range 3 {
		rep, err := rt.Reconciler.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if resumed = rep.Resumed == 1; resumed {
			break
		}
	}
	if !resumed {
		t.Fatal("the reconciler did not resume B's job")
	}
	j, _ := rt.Store.Get(ctx, idB)
	if exe := waitExecution(t, rt, VideoJob, j.ExecutionName()); exe.Status != states.Succeeded {
		t.Fatalf("B's resumed execution %s: %s %+v", j.ExecutionName(), exe.Status, exe.Error)
	}
	j, _ = rt.Store.Get(ctx, idB)
	if j.Tenant != "tenantB" || j.Status != job.Completed || rt.Simulator.SubmissionsOf(j.Request) != 1 {
		t.Fatalf("B's job: %+v", j)
	}
	if n := eventsOf(t, rt, idB); n != 1 {
		t.Fatalf("%d events of B's job, want 1", n)
	}
}
