package lambdas

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/localarn"
	"github.com/vidgen/vidgen/internal/uuid"
)

// Functions invokes in-process handlers by function ARN, the way Lambda
// would: the payload goes through the same aws-lambda-go JSON handling, and
// errors come back named exactly as aws-lambda-go names them.
//
// Each function runs within its Timeout, as in Lambda: its context ends
// then, and an invocation that has not returned by then fails with
// Sandbox.Timedout, whatever the handler answers afterwards. What it wrote
// before stays written. The Timeout is measured on Clock, the clock the
// handlers wait on (clock.WithTimeout): a handler's waits count at their
// length on that clock, so a Poll that waits out a 10-minute window within
// a 900-s function (pollpolicy.LongPoll) fits as in AWS at any
// VIDGEN_TIME_SCALE, and its work and I/O count at the machine's speed, so
// that a 25-s api function does not become 25 ms at a scale of 1000. A
// handler that ignores its context is reported when it returns.
type Functions struct {
	// handlers holds each function's aws-lambda-go handlers, by logical
	// id: one serves one invocation at a time (see invoke).
	handlers map[string]*sync.Pool

	// Clock is what the functions' handlers wait on; nil is the wall
	// clock. Set it before the first call.
	Clock clock.Clock

	// Timeouts are the functions' Timeouts by logical id (the template's
	// Timeout); a function without one runs unbounded. Set them before the
	// first call.
	Timeouts map[string]time.Duration
	// Faults, when set, makes chosen invocations fail as Lambda fails them
	// (tests only). Set it before the first call.
	Faults *Faults

	mu    sync.Mutex
	calls map[string]int // invocations so far by logical id
}

// NewFunctions wraps handler functions (any signature lambda.Start takes)
// by function logical id.
func NewFunctions(byID map[string]any) *Functions {
	f := &Functions{handlers: map[string]*sync.Pool{}, calls: map[string]int{}}
	for id, h := range byID {
		f.Add(id, h)
	}
	return f
}

// Add registers a handler for a function logical id; handlers that need the
// runtime built first are added last. Add them all before the first call.
func (f *Functions) Add(id string, handler any) {
	f.handlers[id] = &sync.Pool{New: func() any { return lambda.NewHandler(handler) }}
}

// Has reports whether a handler is registered for the logical id.
func (f *Functions) Has(id string) bool { _, ok := f.handlers[id]; return ok }

// Invocations reports how many times the function has been invoked,
// including the invocations that faults failed.
func (f *Functions) Invocations(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

// errFunctionTimeout is the cause of a handler context's end at the
// function's Timeout.
var errFunctionTimeout = errors.New("the function's Timeout passed")

// Call invokes the function with a raw payload and returns its raw answer.
func (f *Functions) Call(ctx context.Context, id string, payload []byte) ([]byte, error) {
	handlers, ok := f.handlers[id]
	if !ok {
		return nil, &asl.Error{Name: "Lambda.ResourceNotFoundException", Cause: "function not found: " + id}
	}
	f.mu.Lock()
	f.calls[id]++
	// Decided under the lock, so that Faults.Rand sees one call at a time.
	fault := f.Faults.Decide(id, f.calls[id])
	f.mu.Unlock()
	requestID, timeout := uuid.New(), f.Timeouts[id]
	if fault != NoFault && fault != TimedoutAfter {
		return nil, fault.err(requestID, timeout)
	}
	// Lambda gives the handler its request id and ARN in the context.
	hctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID, InvokedFunctionArn: localarn.Function(id)})
	if timeout > 0 {
		var cancel context.CancelFunc
		hctx, cancel = clock.WithTimeout(hctx, f.Clock, timeout, errFunctionTimeout)
		defer cancel()
	}
	out, err := invoke(hctx, handlers, payload)
	if fault == TimedoutAfter || errors.Is(context.Cause(hctx), errFunctionTimeout) {
		return nil, timedOut(requestID, timeout)
	}
	if used, _ := clock.Elapsed(hctx); timeout > 0 && used >= timeout {
		// It ran past its Timeout without waiting on its context.
		return nil, timedOut(requestID, timeout)
	}
	return out, err
}

// invoke runs a handler of handlers through aws-lambda-go and names its
// errors as aws-lambda-go does.
//
// A lambda.Handler answers with a slice of a buffer it pools, put back
// before the caller reads it and written again at its next invocation:
// safe for Lambda's one invocation at a time, not for concurrent
// executions sharing one. So each handler serves one invocation at a
// time, taken from the function's pool, and its answer is copied before
// it goes back. (A fresh handler per call, as before, made a sync.Pool per
// invocation: each registered under the runtime's global lock of pools
// and cleared in every garbage collection's pause.)
func invoke(ctx context.Context, handlers *sync.Pool, payload []byte) (out []byte, err error) {
	h := handlers.Get().(lambda.Handler)
	defer func() {
		if p := recover(); p != nil {
			// Not put back: a handler that panicked is not trusted again.
			err = &asl.Error{Name: job.ReportedName(p), Cause: causeJSON(fmt.Sprint(p), job.ReportedName(p))}
			return
		}
		handlers.Put(h)
	}()
	out, err = h.Invoke(ctx, payload)
	out = bytes.Clone(out)
	if err != nil {
		var ie messages.InvokeResponse_Error
		if errors.As(err, &ie) {
			return nil, &asl.Error{Name: ie.Type, Cause: causeJSON(ie.Message, ie.Type)}
		}
		name := job.ReportedName(err)
		return nil, &asl.Error{Name: name, Cause: causeJSON(err.Error(), name)}
	}
	return out, nil
}

// Invoke implements asl.Invoker for Task resources that are function ARNs.
func (f *Functions) Invoke(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error) {
	id, ok := localarn.FunctionID(resource)
	if !ok {
		return nil, &asl.Error{Name: "States.Runtime", Cause: "the local runtime cannot run resource " + resource}
	}
	out, err := f.Call(ctx, id, input)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(out), nil
}

// causeJSON is the Cause Step Functions gives a Lambda error: the function's
// error response document.
func causeJSON(msg, typ string) string {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{msg, typ})
	return string(b)
}
