package local

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
)

// TestStartNameReuse holds Engine.Start to StartExecution's rules for the
// names of standard machines: starting a name again succeeds, without a new
// execution, only while it runs and with the same input.
func TestStartNameReuse(t *testing.T) {
	tests := []struct {
		name    string
		machine string
		before  func(t *testing.T, te *testEngine) // leaves execution "x" as the case needs
		input   string
		wantErr bool
	}{
		{name: "a new name", machine: "Echo", input: `{"n":1}`},
		{name: "running, same input", machine: "Blocked", input: `{"n": 1}`,
			before: func(t *testing.T, te *testEngine) { te.mustStart(t, "Blocked", "x", `{"n":1}`) }},
		{name: "running, other input", machine: "Blocked", input: `{"n":2}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.mustStart(t, "Blocked", "x", `{"n":1}`) }},
		{name: "succeeded, same input", machine: "Echo", input: `{"n":1}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.run(t, "Echo", "x", `{"n":1}`) }},
		{name: "failed, same input", machine: "Fails", input: `{}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.run(t, "Fails", "x", `{}`) }},
		{name: "timed out, same input", machine: "Slow", input: `{}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.run(t, "Slow", "x", `{}`) }},
		{name: "aborted, same input", machine: "Blocked", input: `{"n":1}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) {
				te.mustStart(t, "Blocked", "x", `{"n":1}`)
				te.Stop("Blocked", "x", "by hand")
			}},
		{name: "closed, other input", machine: "Echo", input: `{"n":2}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.run(t, "Echo", "x", `{"n":1}`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlocker()
			defer close(b.release)
			te := newTestEngine(t, map[string]string{"Echo": echoDef, "Fails": failDef, "Slow": timeoutDef, "Blocked": blockDef},
				map[string]any{"Block": b.handle})
			if tt.before != nil {
				tt.before(t, te)
			}
			prev, _ := te.Describe(tt.machine, "x")
			err := te.Start(context.Background(), tt.machine, "x", json.RawMessage(tt.input))
			if got := errors.Is(err, ErrExecutionExists); got != tt.wantErr || !got && err != nil {
				t.Fatalf("Start = %v, want ErrExecutionExists: %v", err, tt.wantErr)
			}
			if tt.before != nil {
				if now, _ := te.Describe(tt.machine, "x"); !now.StartTime.Equal(prev.StartTime) || string(now.Input) != string(prev.Input) {
					t.Errorf("the execution was replaced: %+v, was %+v", now, prev)
				}
			}
		})
	}
}

func (te *testEngine) mustStart(t *testing.T, machine, name, input string) {
	t.Helper()
	if err := te.Start(context.Background(), machine, name, json.RawMessage(input)); err != nil {
		t.Fatal(err)
	}
}

// TestJobExecutionsStart: the API, admission and the reconciler start a
// job's execution through jobExecutions. A running execution of the name is
// success, also the job's own one started directly with its request; one
// that has closed is an error, since it runs nothing.
func TestJobExecutionsStart(t *testing.T) {
	tests := []struct {
		name    string
		before  func(t *testing.T, te *testEngine)
		wantErr bool
	}{
		{name: "new"},
		{name: "running", before: func(t *testing.T, te *testEngine) { te.mustStart(t, "Job", "j-1", `{"job_id":"j-1"}`) }},
		{name: "started directly with its request, running",
			before: func(t *testing.T, te *testEngine) { te.mustStart(t, "Job", "j-1", `{"prompt":"a dragon"}`) }},
		{name: "closed", wantErr: true, before: func(t *testing.T, te *testEngine) {
			te.mustStart(t, "Job", "j-1", `{"job_id":"j-1"}`)
			te.Stop("Job", "j-1", "by hand")
		}},
		{name: "started directly, closed", wantErr: true, before: func(t *testing.T, te *testEngine) {
			te.mustStart(t, "Job", "j-1", `{"prompt":"a dragon"}`)
			te.Stop("Job", "j-1", "by hand")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlocker()
			defer close(b.release)
			te := newTestEngine(t, map[string]string{"Job": blockDef}, map[string]any{"Block": b.handle})
			if tt.before != nil {
				tt.before(t, te)
			}
			x := jobExecutions{engine: te.Engine, machine: "Job"}
			err := x.Start(context.Background(), "j-1", "j-1")
			if tt.wantErr != errors.Is(err, ErrExecutionExists) || !tt.wantErr && err != nil {
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
		req, _ := http.NewRequest("POST", rt.URL+api.PathGenerations,
			strings.NewReader(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=600"}`))
		req.Header.Set("Authorization", "Bearer "+keyA)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "key-1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct{ ID string }
		json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body.ID
	}
	status, id := submit()
	if status != http.StatusOK {
		t.Fatalf("submit: %d", status)
	}
	waitFor(t, func() bool { j, _ := rt.Store.Get(ctx, id); return j.UpstreamID != "" })
	rt.Engine.Stop(VideoJob, id, "stopped by hand")

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
	if exe, err := rt.Engine.Wait(wctx, VideoJob, id+"-r1"); err != nil || exe.Status != Succeeded {
		t.Fatalf("resumed execution: %+v, %v", exe, err)
	}
	j, _ := rt.Store.Get(ctx, id)
	if n := rt.Simulator.SubmissionsOf(j.Request); j.Status != job.Completed || n != 1 {
		t.Fatalf("job %s %+v submitted %d times", j.Status, j.Error, n)
	}
}
