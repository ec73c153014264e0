package local

import (
	"context"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/states"
)

// The reconciler picks up jobs no execution drives: it starts one no step
// has touched under its own name, resumes one that was under way under a
// new execution name, or ends one whose deadline has passed, and a resumed
// job is never submitted twice.
func TestReconcilerEndsOrResumesOrphans(t *testing.T) {
	cfg := testConfig(t)
	cfg.JobDeadline = 30 * time.Minute
	cfg.ReconcileInterval = 24 * time.Hour // the test runs passes itself
	noMinAge := time.Duration(0)           // the stopped job is only moments old
	cfg.ReconcileMinAge = &noMinAge
	rt := start(t, cfg)
	ctx := context.Background()
	now := rt.Clock.Now().UTC()
	orphan := func(id, prompt string, status job.Status, deadline time.Time) job.Job {
		j := job.Job{ID: id, Tenant: "tenantA", Status: status, CreatedAt: now.Add(-10 * time.Minute),
			UpdatedAt: now.Add(-10 * time.Minute), Deadline: deadline,
			Request: job.Request{Model: job.Model, ImageURL: "https://example.com/" + id + ".jpg", Prompt: prompt, AspectRatio: "16:9", Duration: 5}}
		if err := rt.Store.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		return j
	}
	neverStarted := orphan("never-started", "sim:gen=30", job.Queued, now.Add(20*time.Minute))
	overdue := orphan("overdue", "", job.Generating, now.Add(-5*time.Minute))

	// A job whose execution is stopped after the upstream accepted it.
	stopped := submitOrphan(t, rt, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=600"}`)

	rep, err := rt.Reconciler.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Open != 3 || rep.Started != 1 || rep.Resumed != 1 || rep.TimedOut != 1 || rep.Failed != 0 {
		t.Fatalf("report = %+v, want 3 open, 1 started, 1 resumed, 1 timed out", rep)
	}
	if j, _ := rt.Store.Get(ctx, overdue.ID); j.Status != job.Failed || j.Error.Name != job.ErrNameTimedOut {
		t.Fatalf("overdue job: %+v", j)
	}
	for id, execution := range map[string]string{neverStarted.ID: neverStarted.ID, stopped: stopped + "-r1"} {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		exe, err := rt.Engine.Wait(wctx, VideoJob, execution)
		if err != nil || exe.Status != states.Succeeded {
			t.Fatalf("execution %s of %s: %+v %v", execution, id, exe, err)
		}
		j, _ := rt.Store.Get(ctx, id)
		if j.Status != job.Completed || j.ExecutionName() != execution {
			t.Fatalf("job %s: %+v, want completed by %s", id, j, execution)
		}
		if n := rt.Simulator.SubmissionsOf(j.Request); n != 1 {
			t.Fatalf("job %s submitted %d times", id, n)
		}
	}
	// The overdue job's end is announced by an execution of its own, which
	// fails with the job's error as any execution of a failed job does;
	// until then the job stays open.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if exe, err := rt.Engine.Wait(wctx, VideoJob, overdue.AnnounceName()); err != nil || exe.Error == nil || exe.Error.Name != job.ErrNameTimedOut {
		t.Fatalf("announce execution of %s: %+v %v", overdue.ID, exe, err)
	}
	if j, _ := rt.Store.Get(ctx, overdue.ID); j.AnnouncedAt == nil {
		t.Fatalf("overdue job not marked announced: %+v", j)
	}
	// A second pass finds nothing to do.
	if rep, _ := rt.Reconciler.Run(ctx); rep.Open != 0 {
		t.Fatalf("second pass: %+v", rep)
	}
}

// An execution whose Catch-all path fails too (RecordFailure out of
// retries after Poll ran out of its own) leaves its job open, holding its
// slot, with no execution driving it: the reconciler's next pass finds it
// and resumes it, and the job ends once, its slot given back.
func TestReconcilerDrivesJobWhoseCatchFailed(t *testing.T) {
	failAll := func(n int) map[int]lambdas.Fault {
		at := map[int]lambdas.Fault{}
		for i := 1; i <= n; i++ {
			at[i] = []lambdas.Fault{lambdas.Timedout, lambdas.ServiceException, lambdas.TooManyRequests}[i%3]
		}
		return at
	}
	cfg := testConfig(t)
	cfg.JobDeadline = 30 * time.Minute
	cfg.Limits = job.Limits{PerTenant: 2}
	cfg.ReconcileInterval = 24 * time.Hour // the test runs the pass itself
	noMinAge := time.Duration(0)
	cfg.ReconcileMinAge = &noMinAge
	// Poll's first round of 7 attempts, then RecordFailure's 11.
	cfg.Faults = &lambdas.Faults{At: map[string]map[int]lambdas.Fault{"PollFunction": failAll(7), "FailFunction": failAll(11)}}
	rt := start(t, cfg)
	ctx := context.Background()

	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
	if exe.Status != states.Failed || exe.Error == nil || exe.Error.Name != lambdas.SandboxTimedout && exe.Error.Name != lambdas.LambdaServiceException && exe.Error.Name != lambdas.LambdaTooManyRequests {
		t.Fatalf("execution %s %+v, want it failed by RecordFailure's Lambda errors", exe.Status, exe.Error)
	}
	j, err := rt.Store.Get(ctx, id)
	if err != nil || j.Status.Terminal() || !j.Slot {
		t.Fatalf("job after its execution died: %+v, %v; want it open, holding its slot", j, err)
	}

	rep, err := rt.Reconciler.Run(ctx)
	if err != nil || rep.Resumed != 1 {
		t.Fatalf("pass: %+v, %v; want the job resumed", rep, err)
	}
	if exe := waitExecution(t, rt, VideoJob, id+"-r1"); exe.Status != states.Succeeded {
		t.Fatalf("resumed execution: %s %+v", exe.Status, exe.Error)
	}
	if j, err = rt.Store.Get(ctx, id); err != nil || j.Status != job.Completed || j.Slot {
		t.Fatalf("job: %+v, %v; want it completed, its slot given back", j, err)
	}
	if n := rt.Simulator.SubmissionsOf(j.Request); n != 1 {
		t.Errorf("submitted %d times", n)
	}
	if f, err := rt.Store.InFlight(ctx); err != nil || f.Total != 0 {
		t.Errorf("slots in flight %+v, %v; want none", f, err)
	}
}
