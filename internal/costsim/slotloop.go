package costsim

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// BatchConfig is a batch of n items started at once (a batch's Map with
// max_concurrency n), by one tenant capped at 25 generations in flight (50
// in all), under the adaptive policy; slotLoop waits for slots as before
// parking.
func BatchConfig(n int, slotLoop bool, template, dir string) Config {
	w := BurstOf(n)
	w.BurstShareB = 0
	return Config{Workload: w, Policy: Policies()[2], Latencies: ModelLatencies(), Template: template,
		Deadline: 30 * time.Minute, Dir: dir, Limits: job.Limits{Global: 50, PerTenant: 25},
		Direct: true, SlotLoop: slotLoop}
}

// slotPoll is how often a waiting job's Submit looked again before
// executions parked on a task token.
const slotPoll = 10 * time.Second

// slotLoop wraps Submit to behave as it did before parking: a job waiting
// for a slot is not parked but asked to wait slotPoll and run Submit again
// (the state machine's WaitToResubmit loop).
func slotLoop(submit func(context.Context, steps.Input) (steps.Output, error)) func(context.Context, steps.Input) (steps.Output, error) {
	return func(ctx context.Context, in steps.Input) (steps.Output, error) {
		out, err := submit(ctx, in)
		if err == nil && out.Waiting {
			out.Waiting, out.WaitSeconds = false, int(slotPoll/time.Second)
		}
		return out, err
	}
}

// unparked wraps Register to behave as it did before parking: it never
// reports that the job waits, but submits it (submit, slotLoop's), as
// Register does a job that does not wait.
func unparked(register func(context.Context, steps.RegisterInput) (steps.Registration, error),
	submit func(context.Context, steps.Input) (steps.Output, error)) func(context.Context, steps.RegisterInput) (steps.Registration, error) {
	return func(ctx context.Context, in steps.RegisterInput) (steps.Registration, error) {
		reg, err := register(ctx, in)
		if err == nil && reg.Step.Waiting && !reg.Follow {
			reg.Step, err = submit(ctx, steps.Input{JobID: reg.JobID, Execution: in.Execution})
		}
		return reg, err
	}
}

// fromRegistration gives a job that waits for a slot the deadline it had
// before parking: the generation's, from its registration, kept at its
// admission.
func fromRegistration(j job.Job, deadline time.Duration) job.Job {
	if j.Waiting {
		j.Deadline, j.GenerationSeconds = j.CreatedAt.Add(deadline), 0
	}
	return j
}

// lostTokens is an admitter whose every SendTaskSuccess fails
// (Config.LoseTokens).
type lostTokens struct{}

func (lostTokens) SendTaskSuccess(context.Context, string, json.RawMessage) error {
	return errors.New("send task success: the token was lost")
}
