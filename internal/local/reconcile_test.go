package local

import (
	"context"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
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
	r := call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=600"}`)
	stopped := r.body["id"].(string)
	waitFor(t, func() bool { j, _ := rt.Store.Get(ctx, stopped); return j.UpstreamID != "" })
	rt.Engine.Stop(VideoJob, stopped, "stopped by hand")

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
		if err != nil || exe.Status != Succeeded {
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
	// A second pass finds nothing to do.
	if rep, _ := rt.Reconciler.Run(ctx); rep.Open != 0 {
		t.Fatalf("second pass: %+v", rep)
	}
}
