package asl

import (
	"fmt"
	"sync"
)

// MaxHistoryEvents is the quota on the events in the history of one
// Standard execution. AWS fails an execution that reaches it with
// States.Runtime, "The execution reached the maximum number of history
// events (25000).", the ExecutionFailed event being event 25,000 itself:
// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-state-machine-executions
const MaxHistoryEvents = 25_000

// A history counts the events AWS Step Functions records in an execution's
// history, to enforce MaxHistoryEvents. The model, after the event types of
// GetExecutionHistory, is:
//
//   - the execution: ExecutionStarted, and at its end one of
//     ExecutionSucceeded, ExecutionFailed or ExecutionTimedOut;
//   - every state entered: <Type>StateEntered, and <Type>StateExited when
//     it leaves normally or through a Catch (a Fail state has no Exited
//     event: ExecutionFailed follows);
//   - every attempt of a Task: Scheduled, Started and one of Succeeded,
//     Failed or TimedOut (LambdaFunction* for a function ARN, Task* for an
//     integration), plus TaskSubmitted for the .sync and .waitForTaskToken
//     patterns; SendTaskHeartbeat records nothing and a Retry's wait has no
//     event of its own;
//   - every attempt of a Map state: MapStateStarted and MapStateSucceeded
//     or MapStateFailed; INLINE, for each iteration started
//     MapIterationStarted, the events of its states and one of
//     MapIterationSucceeded, MapIterationFailed or MapIterationAborted;
//     DISTRIBUTED, MapRunStarted and MapRunSucceeded or MapRunFailed, its
//     child executions having histories of their own (each under the same
//     quota).
//
// Where AWS's choice is not documented the model counts the event rather
// than not (a caught Task's Exited event, a Map state's Failed event on a
// retried attempt), so a run that stays under the quota here does in AWS.
type history struct {
	mu sync.Mutex
	n  int
}

// historyFull is the error that ends an execution at the quota.
func historyFull() *Error {
	return &Error{Name: errRuntime, Cause: fmt.Sprintf("The execution reached the maximum number of history events (%d).", MaxHistoryEvents)}
}

// record counts k events that are about to happen. Only the execution's
// closing event may be event MaxHistoryEvents: when the k would reach it,
// the history stops one short and the execution fails.
func (h *history) record(k int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n+k >= MaxHistoryEvents {
		h.n = MaxHistoryEvents - 1
		return historyFull()
	}
	h.n += k
	return nil
}

// count returns the events so far.
func (h *history) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// close counts the execution's closing event and returns the total.
func (h *history) close() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	return h.n
}
