package local

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/vidgen/vidgen/internal/local/states"
)

// jobExecutions runs video_job executions on the engine; it is the
// reconciler's Executions.
type jobExecutions struct {
	engine  *states.Engine
	machine string
}

// Start starts an execution of jobID under name. It succeeds when an
// execution of that name runs, and fails with ErrExecutionExists when one
// has closed: that runs nothing, so the caller must not take the job for
// started (the reconciler resumes it under a new name).
func (x jobExecutions) Start(ctx context.Context, name, jobID string) error {
	input, _ := json.Marshal(map[string]string{"job_id": jobID})
	err := x.engine.Start(ctx, x.machine, name, input)
	if errors.Is(err, states.ErrExecutionExists) {
		// A running execution with another input is the job's own, started
		// directly with its request (it waits for the job's slot).
		if exe, derr := x.engine.Describe(x.machine, name); derr == nil && exe.Status == states.Running {
			return nil
		}
	}
	return err
}

// Running reports whether the named execution is running.
func (x jobExecutions) Running(_ context.Context, name string) (bool, error) {
	exe, err := x.engine.Describe(x.machine, name)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil && exe.Status == states.Running, err
}
