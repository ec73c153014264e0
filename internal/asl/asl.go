// Package asl interprets AWS Step Functions state machines written in the
// Amazon States Language with JSONPath, so the project's state machines can
// run in-process with the semantics they have in AWS.
//
// It supports the Pass, Task, Choice, Wait, Succeed, Fail and Map states
// (Map in both INLINE and DISTRIBUTED mode, with ItemReader and
// ResultWriter), Tasks that wait for a callback (.waitForTaskToken, see
// Tasks) and the optimized lambda:invoke integration, reference paths,
// payload templates and a set of intrinsic functions. Parse refuses
// everything else, naming the state and field, rather than run a
// definition differently from AWS.
//
// A Map state runs its iterations concurrently, so the Invoker, the Clock,
// Options.Rand, Options.ReadItems and Options.WriteObject of a machine with
// Map states must be safe for concurrent use. Iterations are not checkpointed: a run resumed
// after a crash enters the interrupted Map state again and re-runs all of its
// iterations, which is why their tasks must be idempotent.
package asl

import (
	"cmp"
	"context"
	"encoding/json"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
)

// Invoker runs a Task state's Resource with the effective input and returns
// its raw JSON output. Service integrations such as
// arn:aws:states:::states:startExecution.sync:2 are ordinary Task resources
// to the interpreter; NestedResult builds what AWS returns for that one.
type Invoker interface {
	Invoke(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error)
}

// Error is a States error with a name and cause. An Invoker returns *Error to
// name a task failure (for example Name "TransientError"); any other error
// from Invoke is treated as Name "States.TaskFailed" with Cause err.Error().
type Error struct {
	Name, Cause string
}

func (e *Error) Error() string {
	name := cmp.Or(e.Name, "unnamed error") // a Fail state may set neither field
	if e.Cause == "" {
		return name
	}
	return name + ": " + e.Cause
}

// Predefined error names.
const (
	errALL                    = "States.ALL"
	errDataLimitExceeded      = "States.DataLimitExceeded"
	errExceedTolerated        = "States.ExceedToleratedFailureThreshold"
	errHeartbeatTimeout       = "States.HeartbeatTimeout"
	errItemReaderFailed       = "States.ItemReaderFailed"
	errNoChoiceMatched        = "States.NoChoiceMatched"
	errResultPathMatchFailure = "States.ResultPathMatchFailure"
	errResultWriterFailed     = "States.ResultWriterFailed"
	errRuntime                = "States.Runtime"
	errTaskFailed             = "States.TaskFailed"
	errTimeout                = "States.Timeout"
)

// Options are the dependencies of a run.
type Options struct {
	Clock   clock.Clock // nil means the wall clock
	Invoker Invoker     // required when the machine has Task states

	// Rand returns numbers in [0,1) for JitterStrategy FULL and, when set,
	// for States.UUID. Nil means math/rand/v2 and crypto/rand.
	Rand func() float64

	// Checkpoint, when set, is called each time execution is about to enter
	// a state, with the state name and that state's raw input; a caller
	// persists it so an execution can resume after a crash. A non-nil error
	// aborts the execution with that error. It is not called for the states
	// inside a Map state's iterations, which cannot be resumed on their own.
	Checkpoint func(ctx context.Context, c Checkpoint) error

	// Entered, when set, is called each time a state is entered, in the
	// execution or in one of its Map states' iterations (which Checkpoint
	// skips), with the name of the execution entering it: what Step
	// Functions bills a state transition for.
	Entered func(execution, state string)

	// ReadItems reads the items of a Map state that has an ItemReader. It
	// receives the reader's Resource (arn:aws:states:::s3:getObject), its
	// Parameters with paths resolved (for example {"Bucket":…,"Key":…}) and
	// its ReaderConfig with MaxItemsPath resolved into MaxItems (for example
	// {"InputType":"JSONL","MaxItems":10}), and returns one raw JSON value
	// per item, in order. A returned *Error keeps its name; any other error
	// fails the Map state with States.ItemReaderFailed. Nil makes such a Map
	// state fail with States.Runtime.
	ReadItems func(ctx context.Context, resource string, params, readerConfig json.RawMessage) ([]json.RawMessage, error)

	// WriteObject writes one object for a distributed Map state's
	// ResultWriter (arn:aws:states:::s3:putObject): its results files and
	// then manifest.json, under <Prefix>/<map run id>/ in bucket. A
	// returned *Error keeps its name; any other error fails the Map state
	// with States.ResultWriterFailed. Nil makes a Map state that exports
	// its results fail with States.Runtime.
	WriteObject func(ctx context.Context, bucket, key string, body []byte) error

	// Tasks issues the task tokens of Task states that wait for a callback
	// (a Resource ending in .waitForTaskToken) and receives the callbacks;
	// it is required when the machine has such states. While one waits,
	// the run sleeps on Clock until its TimeoutSeconds or HeartbeatSeconds
	// is due, and wakes when a callback arrives (see Interrupter).
	Tasks *Tasks
}

// Checkpoint records that an execution entered State with Input.
type Checkpoint struct {
	State   string
	Input   json.RawMessage
	Entered time.Time
	// HistoryEvents counts the events of the execution's history before
	// it entered State, so that a resumed run goes on counting (see
	// MaxHistoryEvents); 0 in a checkpoint from before it was counted.
	HistoryEvents int `json:",omitempty"`
}

// Execution identifies one run; it feeds the context object ($$).
type Execution struct {
	ID, Name  string          // $$.Execution.Id and $$.Execution.Name
	Input     json.RawMessage // $$.Execution.Input; empty means {}
	StartTime time.Time       // $$.Execution.StartTime; zero means the clock's now
}

// Machine is a parsed and validated state machine definition.
type Machine struct {
	graph
	timeout     int
	hasTask     bool // a Task state anywhere, also inside Map states
	hasCallback bool // a .waitForTaskToken Task state anywhere
}

// A graph is a set of states and the one to start at: the whole machine, or
// the iteration of a Map state.
type graph struct {
	startAt string
	states  map[string]*state
}

// StartAt returns the name of the first state.
func (m *Machine) StartAt() string { return m.startAt }

// TimeoutSeconds returns the execution timeout, or 0 when it is unset.
func (m *Machine) TimeoutSeconds() int { return m.timeout }

// A state is one parsed state. Which fields are used depends on typ.
type state struct {
	name, typ string
	next      string // empty for a terminal state
	end       bool

	inputPath, outputPath *path // nil when the field is null
	parameters            any   // compiled payload template; nil when absent
	resultSelector        any
	resultPath            *path // nil when the field is null
	result                any
	hasResult             bool

	resource      string
	integration   integration   // resource, parsed
	timeout       time.Duration // 0 when unset
	timeoutPath   *path
	heartbeat     time.Duration // 0 when unset; only for callback tasks
	heartbeatPath *path
	retry         []retrier
	catch         []catcher

	choices []*rule
	def     string

	waitKind  string // the Wait field that is set
	waitFor   time.Duration
	waitUntil time.Time
	waitPath  *path

	errName, cause       string
	errorPath, causePath expr

	mapping *mapSpec // set for Map states
}

// A mapSpec holds the fields of a Map state.
type mapSpec struct {
	processor   *graph
	distributed bool
	label       string // the Label, or the state name; names child executions

	itemsPath *path // nil means "$"
	selector  any   // compiled ItemSelector (or Parameters); nil when absent
	reader    *itemReader
	writer    *resultWriter

	maxConcurrency     int // 0 means unbounded
	maxConcurrencyPath *path

	toleratedCount, toleratedPercentage limit

	batcher *itemBatcher // nil: each child execution takes one item
}

// An itemBatcher is the ItemBatcher of a distributed Map state: it groups
// the items, each already shaped by the ItemSelector, into the Items array
// of one child execution's input, up to a number of items and of bytes.
type itemBatcher struct {
	batchInput        any // compiled payload template; nil when absent
	maxItems          int64
	maxItemsPath      *path
	maxInputBytes     int64
	maxInputBytesPath *path
}

// An itemReader is the ItemReader of a distributed Map state.
type itemReader struct {
	resource     string
	parameters   any // compiled payload template
	inputType    string
	maxItems     int64 // 0 means all items
	maxItemsPath *path
}

// A limit is a tolerated failure threshold of a distributed Map state: unset,
// a number, or a path to one.
type limit struct {
	set   bool
	value float64
	path  *path
}

type retrier struct {
	errors      []string
	interval    int
	maxAttempts int
	backoff     float64
	maxDelay    int // 0 when unset
	jitter      bool
}

type catcher struct {
	errors     []string
	next       string
	resultPath *path
}

// targets returns the states st can transition to.
func (st *state) targets() []string {
	t := []string{st.next, st.def}
	for _, c := range st.catch {
		t = append(t, c.next)
	}
	for _, r := range st.choices {
		t = append(t, r.next)
	}
	return t
}
