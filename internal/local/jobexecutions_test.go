package local

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas/lambdastest"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/local/states/statestest"
)

// TestJobExecutionsStart: the API, admission and the reconciler start a
// job's execution through jobExecutions. A running execution of the name is
// success, also the job's own one started directly with its request; one
// that has closed is an error, since it runs nothing.
func TestJobExecutionsStart(t *testing.T) {
	tests := []struct {
		name    string
		before  func(t *testing.T, te *statestest.Engine)
		wantErr bool
	}{
		{name: "new"},
		{name: "running", before: func(t *testing.T, te *statestest.Engine) { te.MustStart(t, "Job", "j-1", `{"job_id":"j-1"}`) }},
		{name: "started directly with its request, running",
			before: func(t *testing.T, te *statestest.Engine) { te.MustStart(t, "Job", "j-1", `{"prompt":"a dragon"}`) }},
		{name: "closed", wantErr: true, before: func(t *testing.T, te *statestest.Engine) {
			te.MustStart(t, "Job", "j-1", `{"job_id":"j-1"}`)
			te.Stop("Job", "j-1", "by hand")
		}},
		{name: "started directly, closed", wantErr: true, before: func(t *testing.T, te *statestest.Engine) {
			te.MustStart(t, "Job", "j-1", `{"prompt":"a dragon"}`)
			te.Stop("Job", "j-1", "by hand")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lambdastest.NewBlocker()
			defer close(b.Release)
			te := statestest.New(t, map[string]string{"Job": statestest.Block}, map[string]any{"Block": b.Handle})
			if tt.before != nil {
				tt.before(t, te)
			}
			x := jobExecutions{engine: te.Engine, machine: "Job"}
			err := x.Start(context.Background(), "j-1", "j-1")
			if tt.wantErr != errors.Is(err, states.ErrExecutionExists) || !tt.wantErr && err != nil {
				t.Fatalf("Start = %v, want an error: %v", err, tt.wantErr)
			}
			if running, err := x.Running(context.Background(), "j-1"); err != nil || running == tt.wantErr {
				t.Errorf("Running = %v, %v", running, err)
			}
		})
	}
}

// TestReplayOfAJobWhoseExecutionClosed drives the callers of jobExecutions
// through the runtime: a submit replayed with its Idempotency-Key while the
// job's execution has closed (stopped by hand) does not take the job for
// running; the reconciler resumes it under a new name, after which the
// replay answers with the job again, and it completes with one submission.
func TestReplayOfAJobWhoseExecutionClosed(t *testing.T) {
	cfg := testConfig(t)
	cfg.JobDeadline = 30 * time.Minute
	cfg.ReconcileInterval = 24 * time.Hour // the test runs the pass itself
	noMinAge := time.Duration(0)
	cfg.ReconcileMinAge = &noMinAge
	rt := start(t, cfg)
	ctx := context.Background()
	submit := func() (int, string) {
		t.Helper()
		status, id, err := submitWithKey(rt, keyA, "key-1", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=600"}`)
		if err != nil {
			t.Fatal(err)
		}
		return status, id
	}
	status, id := submit()
	if status != http.StatusOK {
		t.Fatalf("submit: %d", status)
	}
	stopOnceSubmitted(t, rt, id)

	if status, _ := submit(); status != http.StatusServiceUnavailable {
		t.Fatalf("replay while no execution runs the job: %d, want 503", status)
	}
	if rep, err := rt.Reconciler.Run(ctx); err != nil || rep.Resumed != 1 {
		t.Fatalf("reconcile: %+v, %v", rep, err)
	}
	if status, replayed := submit(); status != http.StatusOK || replayed != id {
		t.Fatalf("replay once resumed: %d %s, want 200 %s", status, replayed, id)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if exe, err := rt.Engine.Wait(wctx, VideoJob, id+"-r1"); err != nil || exe.Status != states.Succeeded {
		t.Fatalf("resumed execution: %+v, %v", exe, err)
	}
	j, _ := rt.Store.Get(ctx, id)
	if n := rt.Simulator.SubmissionsOf(j.Request); j.Status != job.Completed || n != 1 {
		t.Fatalf("job %s %+v submitted %d times", j.Status, j.Error, n)
	}
}
