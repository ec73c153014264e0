package lambdas

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/samtemplate"
)

// The error names Step Functions gives a Task whose Lambda invocation
// failed in Lambda rather than in the handler.
const (
	// SandboxTimedout is a function that ran out of its Timeout.
	SandboxTimedout = "Sandbox.Timedout"
	// LambdaServiceException is a transient failure of Lambda itself.
	LambdaServiceException = "Lambda.ServiceException"
	// LambdaTooManyRequests is Lambda refusing an invocation over a
	// concurrency or rate limit.
	LambdaTooManyRequests = "Lambda.TooManyRequestsException"
)

// Fault is a failure of one Lambda invocation that Faults injects.
type Fault int

// The faults. Only TimedoutAfter runs the handler.
const (
	NoFault Fault = iota
	// Timedout fails the invocation with Sandbox.Timedout before the
	// handler does anything.
	Timedout
	// TimedoutAfter runs the handler to its end and then fails the
	// invocation with Sandbox.Timedout: what the handler wrote stays, its
	// answer is lost, as when a function runs out of time just before
	// returning.
	TimedoutAfter
	// ServiceException fails the invocation with Lambda.ServiceException.
	ServiceException
	// TooManyRequests fails the invocation with
	// Lambda.TooManyRequestsException.
	TooManyRequests
)

// allFaults are the faults Faults.Rate picks from when Kinds is empty.
var allFaults = [...]Fault{Timedout, TimedoutAfter, ServiceException, TooManyRequests}

// AllFaults lists the faults Faults can inject.
func AllFaults() []Fault { return allFaults[:] }

func (f Fault) String() string {
	switch f {
	case NoFault:
		return "NoFault"
	case Timedout:
		return "Timedout"
	case TimedoutAfter:
		return "TimedoutAfter"
	case ServiceException:
		return "ServiceException"
	case TooManyRequests:
		return "TooManyRequests"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Faults makes chosen Lambda invocations of the local runtime fail the way
// Lambda fails them, so tests can show what the state machines and the
// handlers do then. It is for tests only: nothing sets it in make run.
//
// An invocation is chosen by its function and number (At), or at random
// (Rate). Functions calls Decide once per invocation, one call at a time,
// so Rand need not be safe for concurrent use; with a seeded Rand and
// invocations made in a fixed order, the same invocations fail every run.
type Faults struct {
	// At fails chosen invocations: At["SubmitFunction"][2] is the fault of
	// the second invocation of SubmitFunction. Numbers count from 1, per
	// function.
	At map[string]map[int]Fault
	// Rate is the chance that any other invocation fails, with a fault
	// drawn from Kinds (every fault when empty). Only, when set, limits it
	// to those functions.
	Rate  float64
	Kinds []Fault
	Only  []string
	// Rand returns numbers in [0,1); nil means math/rand/v2, which is not
	// reproducible. Seed one for deterministic runs, such as
	// rand.New(rand.NewPCG(seed, 0)).Float64.
	Rand func() float64
	// Injected, when set, is told of every fault Decide returns, so a test
	// can report and account for what it injected. Functions calls it as
	// it calls Rand, one call at a time.
	Injected func(fn string, n int, f Fault)
}

// Decide returns the fault of the nth invocation (from 1) of the function
// with logical id fn. A nil Faults injects nothing.
func (f *Faults) Decide(fn string, n int) Fault {
	if f == nil {
		return NoFault
	}
	fault := f.decide(fn, n)
	if fault != NoFault && f.Injected != nil {
		f.Injected(fn, n, fault)
	}
	return fault
}

func (f *Faults) decide(fn string, n int) Fault {
	if fault, ok := f.At[fn][n]; ok {
		return fault
	}
	if f.Rate <= 0 || len(f.Only) > 0 && !slices.Contains(f.Only, fn) {
		return NoFault
	}
	rnd := f.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	if rnd() >= f.Rate {
		return NoFault
	}
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = allFaults[:]
	}
	return kinds[min(int(rnd()*float64(len(kinds))), len(kinds)-1)]
}

// err is the error Step Functions reports for the fault.
func (f Fault) err(requestID string, timeout time.Duration) error {
	switch f {
	case Timedout, TimedoutAfter:
		return timedOut(requestID, timeout)
	case ServiceException:
		return &asl.Error{Name: LambdaServiceException, Cause: fmt.Sprintf(
			"ServiceException (Service: AWSLambda; Status Code: 500; Error Code: ServiceException; Request ID: %s; Proxy: null)", requestID)}
	case TooManyRequests:
		return &asl.Error{Name: LambdaTooManyRequests, Cause: fmt.Sprintf(
			"Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: %s; Proxy: null)", requestID)}
	}
	return nil
}

// timedOut is the Sandbox.Timedout error of a function with the timeout
// (Lambda's default when 0). Its cause is the error document Lambda
// answers for the invocation, as Step Functions passes it on.
func timedOut(requestID string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = samtemplate.DefaultFunctionTimeout
	}
	b, _ := json.Marshal(struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}{SandboxTimedout, fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID, timeout.Seconds())})
	return &asl.Error{Name: SandboxTimedout, Cause: string(b)}
}
