package steps_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/job/jobtest"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/steps"
)

// functions registers the handlers the way the local runtime does, so calls
// go through aws-lambda-go's JSON handling and error naming.
func functions(e *env) *lambdas.Functions {
	return lambdas.NewFunctions(map[string]any{"Submit": e.h.Submit, "Poll": e.h.Poll, "Fail": e.h.Fail})
}

// retried reads the error names the state machine's Retry lists for a task.
func retried(t *testing.T, state string) []string {
	t.Helper()
	return jobtest.Retried(t, filepath.Join("..", "..", "statemachine", "video_job.asl.json"), state)
}

// A *job.TransientError reaches the state machine named "TransientError",
// the name its Retry matches.
func TestTransientErrorName(t *testing.T) {
	e := newEnv(t)
	j := e.submitted(validRequest("a cat surfing", 5), jobDeadline)
	fns := functions(e)
	if err := e.store.Close(); err != nil { // the store is down
		t.Fatal(err)
	}
	for _, tc := range []struct{ fn, state, payload string }{
		{"Submit", "Submit", `{"job_id":"` + j.ID + `","failures":0}`},
		{"Poll", "Poll", `{"job_id":"` + j.ID + `","failures":2}`},
		{"Fail", "RecordFailure", `{"job_id":"` + j.ID + `","error":"States.TaskFailed","cause":"x"}`},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			_, err := fns.Call(t.Context(), tc.fn, []byte(tc.payload))
			var ae *asl.Error
			if !errors.As(err, &ae) || ae.Name != "TransientError" {
				t.Fatalf("Call(%s) error = %#v, want an *asl.Error named TransientError", tc.fn, err)
			}
			var cause struct{ ErrorType, ErrorMessage string }
			if err := json.Unmarshal([]byte(ae.Cause), &cause); err != nil || cause.ErrorType != "TransientError" || cause.ErrorMessage == "" {
				t.Errorf("Cause = %s, want the Lambda error document of a TransientError", ae.Cause)
			}
			if names := retried(t, tc.state); !slices.Contains(names, ae.Name) && !slices.Contains(names, "States.ALL") {
				t.Errorf("state %s retries %v, not %s", tc.state, names, ae.Name)
			}
		})
	}
}

// An unknown job is not transient: the machine must not retry it as such.
func TestNotFoundIsNotRetried(t *testing.T) {
	e := newEnv(t)
	fns := functions(e)
	for _, fn := range []string{"Submit", "Poll"} {
		_, err := fns.Call(t.Context(), fn, []byte(`{"job_id":"no-such-job","failures":0}`))
		var ae *asl.Error
		if !errors.As(err, &ae) || ae.Name == "" || slices.Contains(retried(t, fn), ae.Name) {
			t.Errorf("Call(%s) of an unknown job = %#v, want an error the Retry does not match", fn, err)
		}
	}
}

// The Output fields the state machine reads are always in the payload, also
// for a job that ended, since a JSONPath to a missing field fails the run.
func TestOutputPayload(t *testing.T) {
	e := newEnv(t)
	fns := functions(e)
	for _, tc := range []struct {
		name string
		fn   string
		req  job.Request
		want map[string]any
	}{
		{name: "submitted", fn: "Submit", req: validRequest("a cat", 10),
			want: map[string]any{"status": "queued", "submitted": true, "wait_seconds": 35.0, "failures": 0.0}},
		{name: "rejected", fn: "Submit", req: job.Request{Model: "x", ImageURL: "https://example.com/a.png", AspectRatio: "16:9", Duration: 5},
			want: map[string]any{"status": "error", "submitted": false, "wait_seconds": 0.0, "failures": 0.0}},
		{name: "failed", fn: "Fail", req: validRequest("a cat", 5),
			want: map[string]any{"status": "error", "submitted": false, "wait_seconds": 0.0, "failures": 0.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := e.newJob(tc.req, jobDeadline)
			raw, err := fns.Call(t.Context(), tc.fn, []byte(`{"job_id":"`+j.ID+`","error":"States.TaskFailed"}`))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			tc.want["job_id"] = j.ID
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v (payload %s)", k, got[k], v, raw)
				}
			}
		})
	}
}

// The error types the steps return are reported by their Go type names
// (aws-lambda-go's rule, job.ReportedName), and those are the names the
// error-name contract declares and the state machines match: renaming a
// type would silently rename the error. (job.TransientError, which the
// steps return too, is held to its name in package job.)
func TestErrorTypesHaveContractNames(t *testing.T) {
	jobtest.WantLambdaErrorNames(t, map[string]error{
		job.ErrorTypeIdempotencyKeyReused: &steps.IdempotencyKeyReusedError{},
	})
}
