package states

import (
	"context"
	"encoding/json"
	"errors"
)

// errNoTasks answers a callback to an engine made without asl.Options.Tasks,
// which then cannot run callback tasks either.
var errNoTasks = errors.New("the engine has no asl.Options.Tasks: it runs no .waitForTaskToken tasks")

// SendTaskSuccess completes the Task waiting for token (a .waitForTaskToken
// state) with output, as Step Functions' SendTaskSuccess does. It answers
// errors.Is asl.ErrTaskTimedOut when the task has closed (it ended, or its
// execution ended or was resumed after a restart, which re-enters the state
// under a new token), asl.ErrInvalidToken for a token this runtime never
// issued, asl.ErrInvalidOutput for output that is not JSON and
// asl.ErrValidation for output over 256 KiB.
func (e *Engine) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if e.opts.Tasks == nil {
		return errNoTasks
	}
	return e.opts.Tasks.SendTaskSuccess(ctx, token, output)
}

// SendTaskFailure fails the Task waiting for token with the error name and
// cause, to which its Retry and Catch apply, as Step Functions'
// SendTaskFailure does; its errors are those of SendTaskSuccess.
func (e *Engine) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	if e.opts.Tasks == nil {
		return errNoTasks
	}
	return e.opts.Tasks.SendTaskFailure(ctx, token, errName, cause)
}

// SendTaskHeartbeat restarts the HeartbeatSeconds clock of the Task waiting
// for token, as Step Functions' SendTaskHeartbeat does.
func (e *Engine) SendTaskHeartbeat(ctx context.Context, token string) error {
	if e.opts.Tasks == nil {
		return errNoTasks
	}
	return e.opts.Tasks.SendTaskHeartbeat(ctx, token)
}
