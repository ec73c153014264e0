package local

import (
	"context"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/samtemplate"
)

// TestVideoJobRetriesLambdaFaults runs the real video_job state machine with
// Lambda failing its first invocations of Register (which submits) and
// Poll in the ways its Retry covers: each job still completes with one
// upstream submission.
func TestVideoJobRetriesLambdaFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults map[string]map[int]lambdas.Fault
	}{
		{"register throttled", map[string]map[int]lambdas.Fault{"RegisterFunction": {1: lambdas.TooManyRequests}}},
		{"register service exception", map[string]map[int]lambdas.Fault{"RegisterFunction": {1: lambdas.ServiceException, 2: lambdas.ServiceException}}},
		{"register timed out after submitting", map[string]map[int]lambdas.Fault{"RegisterFunction": {1: lambdas.TimedoutAfter}}},
		{"poll timed out before", map[string]map[int]lambdas.Fault{"PollFunction": {1: lambdas.Timedout}}},
		{"poll timed out after its writes", map[string]map[int]lambdas.Fault{"PollFunction": {1: lambdas.TimedoutAfter, 2: lambdas.TimedoutAfter}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Faults = &lambdas.Faults{At: tt.faults}
			// Room for the retries on a loaded machine: 1.8 s here.
			cfg.JobDeadline = 30 * time.Minute
			rt := start(t, cfg)
			id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"a dragon"}`)
			j, err := rt.Store.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if exe.Status != states.Succeeded || j.Status != job.Completed {
				t.Fatalf("execution %s %+v, job %s %+v", exe.Status, exe.Error, j.Status, j.Error)
			}
			if n := rt.Simulator.SubmissionsOf(j.Request); n != 1 {
				t.Errorf("%d upstream submissions, want 1", n)
			}
			for fn, at := range tt.faults {
				if n := rt.functions.Invocations(fn); n <= len(at) {
					t.Errorf("%s invoked %d times: its failed invocations were not retried", fn, n)
				}
			}
		})
	}
}

// TestRuntimeFunctionTimeouts: the runtime runs each function within the
// Timeout template.yaml gives it.
func TestRuntimeFunctionTimeouts(t *testing.T) {
	cfg := testConfig(t)
	tmpl, err := samtemplate.Load(cfg.Template)
	if err != nil {
		t.Fatal(err)
	}
	rt := start(t, cfg)
	for id, f := range tmpl.Functions {
		if got := rt.functions.Timeouts[id]; got != f.Timeout || got <= 0 {
			t.Errorf("%s runs within %v, want the template's %v", id, got, f.Timeout)
		}
	}
}
