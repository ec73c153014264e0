package job

import (
	"context"
	"errors"
	"reflect"
	"strings"
)

// Names of errors the functions return that the state machines match. Each
// is the name of a Go error type: aws-lambda-go reports an error's type name
// as its errorType, and Step Functions matches that name in Retry and Catch.
// Renaming one of those types renames the error; the test beside this file
// holds each type to its name here.
const (
	// ErrorTypeTransient: a step could not reach a store or service; the
	// state machine retries the step (TransientError).
	ErrorTypeTransient = "TransientError"
	// ErrorTypeValidation: a direct start's input is not a valid request, or
	// names a job it may not touch (ValidationError).
	ErrorTypeValidation = "ValidationError"
	// ErrorTypeIdempotencyKeyReused: a direct start reused an idempotency key
	// with another request (steps.IdempotencyKeyReusedError).
	ErrorTypeIdempotencyKeyReused = "IdempotencyKeyReusedError"
	// ErrorTypeAnnouncementBusy: another Finish holds the job's announcement
	// claim; Finish is retried (notify.AnnouncementBusyError).
	ErrorTypeAnnouncementBusy = "AnnouncementBusyError"
	// ErrorTypeWebhookRetryable: the webhook receiver may take it later; the
	// delivery is retried (notify.WebhookRetryableError).
	ErrorTypeWebhookRetryable = "WebhookRetryableError"
	// ErrorTypeWebhookRefused: the receiver refused the webhook for good; the
	// delivery's execution fails with it (notify.WebhookRefusedError).
	ErrorTypeWebhookRefused = "WebhookRefusedError"
)

// TransientError marks a failure the state machine retries: the steps and
// the notifier return it alike, since one Retry matches its name
// (ErrorTypeTransient), the type's name as aws-lambda-go reports it.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return "transient: " + e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// Load reads the job a step's input names with get. An input without an id
// is an error of the state machine's; a job get does not find is
// ErrNotFound, passed on for the step to decide; any other failure is a
// TransientError, for the state machine to retry the step.
func Load(ctx context.Context, get func(context.Context, string) (Job, error), id string) (Job, error) {
	if id == "" {
		return Job{}, errors.New("input has no job_id")
	}
	j, err := get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Job{}, &TransientError{Err: err}
	}
	return j, err
}

// StateErrInvalidBatch is the Error of video_batch's Fail states for an
// input it cannot run.
const StateErrInvalidBatch = "InvalidBatch"

// StateErrTooManyItemsFailed is the Error of video_batch's Fail state for a
// batch run in chunks whose items failed past its thresholds. A Map past
// its own fails with States.ExceedToleratedFailureThreshold, but a Fail
// state may not give a States. name: the Amazon States Language reserves
// the prefix for the errors Step Functions itself raises.
const StateErrTooManyItemsFailed = "TooManyItemsFailed"

// ErrorSource says who gives an error its name.
type ErrorSource int

const (
	// FromJob: vidgen ends a job with the name (Error.Name, the ErrName
	// constants); video_job's execution fails with it as its Error.
	FromJob ErrorSource = iota + 1
	// FromLambda: a function returns a Go error of the type so named (the
	// ErrorType constants).
	FromLambda
	// FromStateMachine: a Fail state of a state machine names it.
	FromStateMachine
)

// ErrorName is one entry of the error-name contract between the code and
// the state machines.
type ErrorName struct {
	Name   string
	Source ErrorSource
}

// ErrorNames is the error-name contract: every name vidgen gives an error
// that a state machine may see, match or report. Names Step Functions,
// Lambda and the Step Functions service integrations define themselves
// (AWSErrorName) are not in it; an upstream's own error names, which a
// failed job keeps, cannot be.
func ErrorNames() []ErrorName {
	return []ErrorName{
		{ErrNameTimedOut, FromJob},
		{ErrNameCancelled, FromJob},
		{ErrNameRejected, FromJob},
		{ErrNameSubmitUncertain, FromJob},
		{ErrNameUpstreamNotFound, FromJob},
		{ErrNameGenerationFailed, FromJob},
		{ErrNameInternal, FromJob},
		{ErrNameUpstreamAuth, FromJob},
		{ErrNameConfiguration, FromJob},
		{ErrNameSpendCap, FromJob},
		{ErrorTypeTransient, FromLambda},
		{ErrorTypeValidation, FromLambda},
		{ErrorTypeIdempotencyKeyReused, FromLambda},
		{ErrorTypeAnnouncementBusy, FromLambda},
		{ErrorTypeWebhookRetryable, FromLambda},
		{ErrorTypeWebhookRefused, FromLambda},
		{StateErrInvalidBatch, FromStateMachine},
		{StateErrTooManyItemsFailed, FromStateMachine},
	}
}

// LookupErrorName finds name in ErrorNames.
func LookupErrorName(name string) (ErrorName, bool) {
	for _, n := range ErrorNames() {
		if n.Name == name {
			return n, true
		}
	}
	return ErrorName{}, false
}

// AWSErrorName reports whether AWS defines name: Step Functions' own
// (States.*), a Lambda invocation's (Lambda.*, Sandbox.Timedout) or a Step
// Functions service integration's (StepFunctions.*).
func AWSErrorName(name string) bool {
	return name == "Sandbox.Timedout" || strings.HasPrefix(name, "States.") ||
		strings.HasPrefix(name, "Lambda.") || strings.HasPrefix(name, "StepFunctions.")
}

// ReportedName is the name Lambda reports for an error (or a panic's value)
// a Go function returns, aws-lambda-go's rule: the name of its type, through
// a pointer. Errors a function means a state machine to match have their
// names in ErrorNames.
func ReportedName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
