package steps_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

func TestFail(t *testing.T) {
	for _, tc := range []struct {
		name      string
		submitted bool                    // submit the job first
		end       func(e *env, j job.Job) // make the job terminal first
		in        steps.FailInput
		want      job.Status
		wantErr   job.Error // Message is a substring; zero when the record must not change
	}{
		{name: "task failed before the submit", in: steps.FailInput{Error: "States.TaskFailed", Cause: `{"errorMessage":"boom"}`},
			want: job.Failed, wantErr: job.Error{Name: job.ErrNameInternal, Message: "States.TaskFailed"}},
		{name: "retries of a transient error ran out", submitted: true, in: steps.FailInput{Error: "TransientError", Cause: "store down"},
			want: job.Failed, wantErr: job.Error{Name: job.ErrNameInternal, Message: "TransientError"}},
		{name: "lambda service error", submitted: true, in: steps.FailInput{Error: "Lambda.ServiceException"},
			want: job.Failed, wantErr: job.Error{Name: job.ErrNameInternal, Message: "Lambda.ServiceException"}},
		{name: "huge cause", in: steps.FailInput{Error: "States.Runtime", Cause: strings.Repeat("x", 1<<20)},
			want: job.Failed, wantErr: job.Error{Name: job.ErrNameInternal, Message: "States.Runtime"}},
		// A Task's timeout, caught after its retries; the machine's own
		// timeout cannot be caught (the reconciler ends such jobs).
		{name: "a step kept timing out", submitted: true, in: steps.FailInput{Error: "States.Timeout"},
			want: job.Failed, wantErr: job.Error{Name: job.ErrNameInternal, Message: "timing out"}},
		{name: "completed job stays completed", submitted: true, in: steps.FailInput{Error: "States.TaskFailed"},
			end: func(e *env, j job.Job) {
				e.clk.Advance(done5)
				e.poll(e.h, steps.Input{JobID: j.ID})
			},
			want: job.Completed},
		{name: "failed job keeps its error", submitted: true, in: steps.FailInput{Error: "States.Timeout"},
			end: func(e *env, j job.Job) {
				e.update(j.ID, job.Fail(e.clk.Now(), job.ErrNameSubmitUncertain, "unknown"))
			},
			want: job.Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			req := validRequest("a cat surfing", 5)
			var j job.Job
			if tc.submitted {
				j = e.submitted(req, jobDeadline)
			} else {
				j = e.newJob(req, jobDeadline)
			}
			if tc.end != nil {
				tc.end(e, j)
			}
			e.clk.Advance(time.Minute)
			before := e.get(j.ID)
			sent := e.tr.requests("")

			in := tc.in
			in.JobID = j.ID
			out, err := e.h.Fail(t.Context(), in)
			if err != nil {
				t.Fatalf("Fail: %v", err)
			}

			wantOutput(t, out, steps.Output{JobID: j.ID, Status: tc.want, Submitted: tc.submitted})
			got := e.get(j.ID)
			if tc.wantErr == (job.Error{}) {
				wantSame(t, got, before)
			} else {
				wantFailed(t, got, tc.wantErr.Name)
				if !strings.Contains(got.Error.Message, tc.wantErr.Message) {
					t.Errorf("message %q does not contain %q", got.Error.Message, tc.wantErr.Message)
				}
				if len(got.Error.Message) > 200 {
					t.Errorf("message is %d bytes; the cause does not belong in it", len(got.Error.Message))
				}
				wantTime(t, "UpdatedAt", &got.UpdatedAt, e.clk.Now())
				if got.UpstreamID != before.UpstreamID {
					t.Errorf("UpstreamID changed from %q to %q", before.UpstreamID, got.UpstreamID)
				}
			}
			if n := e.tr.requests(""); n != sent {
				t.Errorf("Fail sent %d requests upstream", n-sent)
			}
			wantSubmissions(t, e.sim, req, map[bool]int{false: 0, true: 1}[tc.submitted])
		})
	}
}
