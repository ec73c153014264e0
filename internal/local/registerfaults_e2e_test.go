package local

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/states"
)

// registerAttempts is how many times one round of Register runs before
// its retries run out: the first attempt and the Retry's six.
const registerAttempts = 7

// registerFaultsConfig runs at a tenth of the usual speed, so that a Task's
// 60-s TimeoutSeconds is 0.6 s of real time: at the usual speed a loaded
// machine makes a healthy invocation outlast it, and the extra retry is
// not the fault under test.
func registerFaultsConfig(t *testing.T, at map[int]lambdas.Fault) Config {
	cfg := testConfig(t)
	cfg.TimeScale = timeScale / 10
	cfg.Faults = &lambdas.Faults{At: map[string]map[int]lambdas.Fault{"RegisterFunction": at}}
	return cfg
}

// A valid request whose Register fails as Lambda fails it, on every
// attempt its Retry makes, is not refused: the execution tries Register
// again later (RegisterLater) and the job runs and completes, submitted
// once. So a batch item never ends as not registered because Lambda was
// down, whether or not an attempt whose answer was lost recorded the job.
func TestRegisterOutlastsLambdaFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first lambdas.Fault // the first attempt's fault; the other six time out before the handler
	}{
		{"no attempt recorded the job", lambdas.ServiceException},
		{"the first attempt recorded the job, its answer lost", lambdas.TimedoutAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := map[int]lambdas.Fault{1: tc.first}
			for i := 2; i <= registerAttempts; i++ {
				at[i] = []lambdas.Fault{lambdas.Timedout, lambdas.ServiceException, lambdas.TooManyRequests}[i%3]
			}
			rt := start(t, registerFaultsConfig(t, at))

			// A batch item's input: the request, its tenant, idempotency
			// key and place in the batch.
			in, _ := json.Marshal(map[string]any{"model": job.Model, "image_url": "https://example.com/a.jpg", "prompt": "item 0",
				"tenant": "tenantA", "idempotency_key": "batch-b-0", "batch": map[string]any{"id": "b", "item": 0}})
			const name = "item-0"
			if err := rt.Engine.Start(t.Context(), VideoJob, name, in); err != nil {
				t.Fatal(err)
			}
			exe := waitExecution(t, rt, VideoJob, name)
			if exe.Status != states.Succeeded {
				t.Fatalf("execution %s %+v, want it to outlast Register's failures", exe.Status, exe.Error)
			}
			if n := rt.functions.Invocations("RegisterFunction"); n < registerAttempts+1 {
				t.Errorf("Register invoked %d times, want at least %d: a round of retries, then one more", n, registerAttempts+1)
			}
			j, err := rt.Store.Get(context.Background(), name)
			if err != nil || j.Status != job.Completed || j.Slot {
				t.Fatalf("job %+v, %v; want it completed, its slot given back", j, err)
			}
			if n := rt.Simulator.SubmissionsOf(j.Request); n != 1 {
				t.Errorf("submitted upstream %d times, want 1", n)
			}
		})
	}
}

// The same for Resume, the check an API job's execution starts with: it
// is tried again later rather than leaving the job to the reconciler.
func TestResumeOutlastsLambdaFailures(t *testing.T) {
	at := map[int]lambdas.Fault{}
	for i := 1; i <= registerAttempts; i++ {
		at[i] = []lambdas.Fault{lambdas.Timedout, lambdas.ServiceException, lambdas.TooManyRequests}[i%3]
	}
	rt := start(t, registerFaultsConfig(t, at))
	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
	if exe.Status != states.Succeeded {
		t.Fatalf("execution %s %+v, want it to outlast Resume's failures", exe.Status, exe.Error)
	}
	if n := rt.functions.Invocations("RegisterFunction"); n < registerAttempts+1 {
		t.Errorf("Resume invoked %d times, want at least %d", n, registerAttempts+1)
	}
	if j, err := rt.Store.Get(context.Background(), id); err != nil || j.Status != job.Completed || j.Resumes != 0 {
		t.Fatalf("job %+v, %v; want it completed by its own execution", j, err)
	}
}
