package steps_test

import (
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/steps"
)

// recorder gives h a Recorder on a fresh registry, stamped by e's clock.
func (e *env) recorder(h *steps.Handlers) *metrics.Registry {
	reg := metrics.NewRegistry()
	h.Metrics = metrics.New("test", reg, e.clk.Now)
	return reg
}

// wantValue checks one series of reg: a counter's or gauge's value, or a
// summary's sum and count.
func wantValue(t *testing.T, reg *metrics.Registry, name metrics.Name, value float64, count uint64, labels ...metrics.Label) {
	t.Helper()
	if v, n := reg.Value(name, "test", labels...); v != value || n != count {
		t.Errorf("%s%v = %v (count %d), want %v (count %d)", name, labels, v, n, value, count)
	}
}

func status(s job.Status) metrics.Label {
	return metrics.Label{Key: metrics.DimStatus, Value: string(s)}
}

func errorName(name string) metrics.Label { return metrics.Label{Key: metrics.DimError, Value: name} }

// A job's life through Submit and Poll records its submit once, nothing
// while it runs, and its end with its duration, polls and detection lag.
func TestStepsRecordSubmitAndEnd(t *testing.T) {
	e := newEnv(t)
	reg := e.recorder(e.h)
	j := e.submitted(validRequest("sim:gen=2 a cat", 5), jobDeadline)
	wantValue(t, reg, metrics.JobsSubmitted, 1, 1)

	e.clk.Advance(4 * time.Second)
	e.poll(e.h, steps.Input{JobID: j.ID}) // generating
	wantValue(t, reg, metrics.JobsEnded, 0, 0, status(job.Completed))

	e.clk.Advance(3 * time.Second)
	out := e.poll(e.h, steps.Input{JobID: j.ID})
	if out.Status != job.Completed {
		t.Fatalf("Poll = %+v, want completed", out)
	}
	wantValue(t, reg, metrics.JobsEnded, 1, 1, status(job.Completed))
	wantValue(t, reg, metrics.JobDuration, 7, 1)
	wantValue(t, reg, metrics.PollsPerJob, 2, 1)
	// Found unfinished at 4 s, done at 7 s: half the span.
	wantValue(t, reg, metrics.DetectionLag, 1.5, 1)

	// A later step finds the job ended and records nothing more.
	e.poll(e.h, steps.Input{JobID: j.ID})
	if _, err := e.h.Fail(t.Context(), steps.FailInput{JobID: j.ID, Error: "States.TaskFailed"}); err != nil {
		t.Fatal(err)
	}
	wantValue(t, reg, metrics.JobsEnded, 1, 1, status(job.Completed))
	wantValue(t, reg, metrics.JobsSubmitted, 1, 1)
}

// Every end a step writes is recorded once, with its error name; the
// detection lag only where the upstream's end was seen.
func TestStepsRecordFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		end   func(e *env, j job.Job)
		err   string
		polls float64
		lag   bool
	}{
		{name: "RecordFailure", err: job.ErrNameInternal, end: func(e *env, j job.Job) {
			if _, err := e.h.Fail(e.t.Context(), steps.FailInput{JobID: j.ID, Error: "States.TaskFailed"}); err != nil {
				e.t.Fatal(err)
			}
		}},
		{name: "deadline at Poll", err: job.ErrNameTimedOut, end: func(e *env, j job.Job) {
			e.clk.Advance(jobDeadline)
			e.poll(e.h, steps.Input{JobID: j.ID})
		}},
		{name: "upstream failed the generation", err: "Other", polls: 2, lag: true, end: func(e *env, j job.Job) {
			// The simulator names its failures itself: not one of vidgen's.
			e.clk.Advance(2 * time.Second)
			out := e.poll(e.h, steps.Input{JobID: j.ID})
			e.clk.Advance(time.Minute)
			e.poll(e.h, carry(e.t, out))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			prompt := "a cat"
			if tc.err == "Other" {
				prompt = "sim:error sim:gen=2 a cat"
			}
			j := e.submitted(validRequest(prompt, 5), jobDeadline)
			reg := e.recorder(e.h)
			tc.end(e, j)
			got := e.get(j.ID)
			if got.Status != job.Failed {
				t.Fatalf("job = %+v, want failed", got)
			}
			wantValue(t, reg, metrics.JobsEnded, 1, 1, status(job.Failed), errorName(tc.err))
			wantValue(t, reg, metrics.JobDuration, got.UpdatedAt.Sub(got.CreatedAt).Seconds(), 1)
			wantValue(t, reg, metrics.PollsPerJob, tc.polls, 1)
			if _, n := reg.Value(metrics.DetectionLag, "test"); (n == 1) != tc.lag {
				t.Errorf("DetectionLag recorded %d times, want it recorded: %v", n, tc.lag)
			}
		})
	}
}
