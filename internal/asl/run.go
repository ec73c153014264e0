package asl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/plainjson"
)

// maxPayload is the AWS quota on the size of any state's input or output.
const maxPayload = 256 * 1024

var (
	// errExecTimeout ends an execution that has run out of time. It becomes
	// a States.Timeout only at the top of the run, so no Catch can handle it.
	errExecTimeout = errors.New("asl: execution timed out")
	errTaskTimeout = errors.New("asl: task timed out")
)

// A runtimeErr is a States.Runtime failure not yet attributed to a state.
// Being no *Error, it passes Retry and Catch untouched, as in AWS.
type runtimeErr string

func (e runtimeErr) Error() string { return string(e) }

func runtimeError(format string, args ...any) error {
	return runtimeErr(fmt.Sprintf(format, args...))
}

// Run runs exe from the start state. It returns the final output when the
// execution succeeds, or a *Error when it fails, times out (States.Timeout)
// or produces too large a payload (States.DataLimitExceeded). Cancelling ctx
// stops the run with ctx.Err() wrapped.
func (m *Machine) Run(ctx context.Context, exe Execution, opts Options) (json.RawMessage, error) {
	res, err := m.Execute(ctx, exe, nil, opts)
	return res.Output, err
}

// Resume runs exe from a checkpoint, entering from.State again with
// from.Input. The execution timeout is still measured from exe.StartTime.
func (m *Machine) Resume(ctx context.Context, exe Execution, from Checkpoint, opts Options) (json.RawMessage, error) {
	res, err := m.Execute(ctx, exe, &from, opts)
	return res.Output, err
}

// Result is what an execution leaves besides its error.
type Result struct {
	// Output is the final output of an execution that succeeded.
	Output json.RawMessage
	// HistoryEvents is how many events the execution's history holds in
	// AWS, as the history type documents (see MaxHistoryEvents): with its
	// closing event once it has ended (succeeded, failed or timed out),
	// without when the run stopped because ctx ended.
	HistoryEvents int
}

// Execute runs exe as Run does, or from a checkpoint as Resume does when
// from is not nil, and reports its Result along with the error. An
// execution whose history would exceed MaxHistoryEvents fails with
// States.Runtime, as in AWS.
func (m *Machine) Execute(ctx context.Context, exe Execution, from *Checkpoint, opts Options) (Result, error) {
	// The history holds ExecutionStarted, or what a checkpoint counted.
	hist := &history{n: 1}
	start := Checkpoint{State: m.startAt, Input: exe.Input}
	if from != nil {
		start = *from
		hist.n = max(from.HistoryEvents, 1)
	}
	if _, ok := m.states[start.State]; !ok {
		return Result{}, fmt.Errorf("asl: resume: there is no state named %q", start.State)
	}
	if m.hasTask && opts.Invoker == nil {
		return Result{}, errors.New("asl: Options.Invoker is required to run Task states")
	}
	if m.hasCallback && opts.Tasks == nil {
		return Result{}, errors.New("asl: Options.Tasks is required to run Task states that wait for a task token")
	}
	r := &runner{m: m, opts: opts, clock: opts.Clock, jitter: opts.Rand, exe: exe, checkpoint: opts.Checkpoint, hist: hist}
	if r.clock == nil {
		r.clock = clock.Real{}
	}
	if r.jitter == nil {
		r.jitter = rand.Float64
	}
	if r.exe.StartTime.IsZero() {
		r.exe.StartTime = r.clock.Now()
	}
	if m.timeout > 0 {
		r.deadline = r.exe.StartTime.Add(time.Duration(m.timeout) * time.Second)
	}
	var err error
	if r.execInput, err = decodeInput(exe.Input); err != nil {
		return Result{}, fmt.Errorf("asl: execution input: %w", err)
	}
	input, err := decodeInput(start.Input)
	if err != nil {
		return Result{}, fmt.Errorf("asl: input of state %q: %w", start.State, err)
	}
	_, out, err := r.run(ctx, &m.graph, start.State, input)
	var se *Error
	switch {
	case errors.Is(err, errExecTimeout):
		return Result{HistoryEvents: hist.close()}, r.timeoutError()
	case err == nil:
		return Result{Output: out, HistoryEvents: hist.close()}, nil
	case errors.As(err, &se):
		return Result{HistoryEvents: hist.close()}, err
	}
	// Cancelled, or a Checkpoint failed: the execution has not ended.
	return Result{HistoryEvents: hist.count()}, err
}

// A runner runs one execution, or one iteration of a Map state inside it.
type runner struct {
	m          *Machine
	opts       Options
	clock      clock.Clock
	jitter     func() float64
	exe        Execution
	execInput  any
	deadline   time.Time                                     // zero when the machine has no TimeoutSeconds
	checkpoint func(ctx context.Context, c Checkpoint) error // nil inside Map iterations
	hist       *history                                      // the execution's; an INLINE iteration shares its parent's
}

// run runs g from the named state to a terminal state and returns the final
// output, decoded and encoded. An execution timeout comes back as
// errExecTimeout, for Resume to report, so that no Catch, not even a Map
// state's, can handle it.
func (r *runner) run(ctx context.Context, g *graph, name string, input any) (any, json.RawMessage, error) {
	for {
		raw, err := sized(input, "input of state", name)
		if err != nil {
			return nil, nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("asl: %w", err)
		}
		if r.expired() {
			return nil, nil, errExecTimeout
		}
		entered := r.clock.Now()
		if r.checkpoint != nil {
			c := Checkpoint{State: name, Input: raw, Entered: entered, HistoryEvents: r.hist.count()}
			if err := r.checkpoint(ctx, c); err != nil {
				return nil, nil, fmt.Errorf("asl: checkpoint of state %q: %w", name, err)
			}
		}
		if r.opts.Entered != nil {
			r.opts.Entered(r.exe.Name, name)
		}
		if err := r.hist.record(1); err != nil { // StateEntered
			return nil, nil, err
		}
		out, next, err := r.step(ctx, g.states[name], input, entered)
		if err == nil {
			err = r.hist.record(1) // StateExited
		}
		switch {
		case err != nil:
			return nil, nil, err
		case next == "":
			b, err := sized(out, "output of state", name)
			return out, b, err
		}
		name, input = next, out
	}
}

// sized encodes a payload, failing with States.DataLimitExceeded when it is
// larger than AWS allows.
func sized(v any, what, name string) (json.RawMessage, error) {
	b, err := encode(v)
	if err != nil {
		return nil, fmt.Errorf("asl: %s %q: %w", what, name, err)
	}
	if len(b) > maxPayload {
		return nil, &Error{Name: errDataLimitExceeded, Cause: fmt.Sprintf(
			"The %s '%s' has a size of %d bytes, exceeding the maximum of %d", what, name, len(b), maxPayload)}
	}
	return b, nil
}

func (r *runner) step(ctx context.Context, st *state, input any, entered time.Time) (out any, next string, err error) {
	s := r.scope(st, entered, 0)
	next = st.next
	switch st.typ {
	case "Pass", "Succeed":
		if out, err = effective(st, input, s); err == nil && st.parameters != nil {
			// AWS holds a state's input after Parameters to the quota too,
			// even when OutputPath would cut the output down.
			_, err = sized(out, "input after Parameters of state", st.name)
		}
		if err == nil {
			if st.hasResult {
				out = st.result
			}
			out, err = output(st, input, out, s)
		}
	case "Task":
		out, next, err = r.task(ctx, st, input, entered)
	case "Map":
		out, next, err = r.mapState(ctx, st, input, entered)
	case "Choice":
		out, next, err = choose(st, input, s)
	case "Wait":
		out, err = r.wait(ctx, st, input, s)
	case "Fail":
		err = fail(st, input, s)
	}
	var re runtimeErr
	if errors.As(err, &re) {
		err = &Error{Name: errRuntime, Cause: fmt.Sprintf("An error occurred while executing the state '%s'. %s", st.name, re)}
	}
	return out, next, err
}

// scope returns the paths' view of a state: its context object with the
// execution and the state.
func (r *runner) scope(st *state, entered time.Time, retries int) scope {
	return scope{
		ctx: map[string]any{
			"Execution": map[string]any{
				"Id":        r.exe.ID,
				"Name":      r.exe.Name,
				"Input":     r.execInput,
				"StartTime": formatTime(r.exe.StartTime),
			},
			"State": map[string]any{
				"Name":        st.name,
				"EnteredTime": formatTime(entered),
				"RetryCount":  json.Number(strconv.Itoa(retries)),
			},
		},
		rand: r.opts.Rand,
	}
}

// withTask adds the task token to the context object, as $$.Task.Token.
func (s scope) withTask(token string) scope {
	s.ctx = maps.Clone(s.ctx)
	s.ctx["Task"] = map[string]any{"Token": token}
	return s
}

// formatTime renders a time as AWS does in the context object.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// effective applies InputPath and then Parameters to a state's input.
func effective(st *state, input any, s scope) (any, error) {
	eff, err := selectPath(st.inputPath, s.with(input), "InputPath")
	if err != nil || st.parameters == nil {
		return eff, err
	}
	return evalTemplate(st.parameters, s.with(eff))
}

// output places result into the state's input with ResultPath and then
// applies OutputPath.
func output(st *state, input, result any, s scope) (any, error) {
	out, err := setResult(input, st.resultPath, result)
	if err != nil {
		return nil, err
	}
	return selectPath(st.outputPath, s.with(out), "OutputPath")
}

// resultOutput is the output of a state whose work has a result (a Task or
// a Map): ResultSelector shapes the result, then output places it.
func resultOutput(st *state, input, result any, s scope) (any, error) {
	if st.resultSelector != nil {
		var err error
		if result, err = evalTemplate(st.resultSelector, s.with(result)); err != nil {
			return nil, err
		}
	}
	return output(st, input, result, s)
}

// selectPath applies an InputPath or OutputPath; nil stands for null, which
// selects an empty object.
func selectPath(p *path, s scope, field string) (any, error) {
	if p == nil {
		return map[string]any{}, nil
	}
	v, ok := s.resolve(p)
	if !ok {
		return nil, runtimeError("Invalid path '%s' specified for the field %s: no value at that path in the input %s",
			p.src, field, abbrev(s.input))
	}
	return v, nil
}

func choose(st *state, input any, s scope) (any, string, error) {
	eff, err := effective(st, input, s)
	if err != nil {
		return nil, "", err
	}
	next := st.def
	for _, rl := range st.choices {
		ok, err := rl.eval(s.with(eff))
		if err != nil {
			return nil, "", err
		}
		if ok {
			next = rl.next
			break
		}
	}
	if next == "" {
		return nil, "", &Error{Name: errNoChoiceMatched, Cause: fmt.Sprintf(
			"No choice rule of state '%s' matched and it has no Default", st.name)}
	}
	out, err := selectPath(st.outputPath, s.with(eff), "OutputPath")
	return out, next, err
}

func (r *runner) wait(ctx context.Context, st *state, input any, s scope) (any, error) {
	eff, err := effective(st, input, s)
	if err != nil {
		return nil, err
	}
	var d time.Duration
	switch st.waitKind {
	case "Seconds":
		d = st.waitFor
	case "Timestamp":
		d = st.waitUntil.Sub(r.clock.Now())
	case "SecondsPath":
		v, err := st.waitPath.eval(s.with(eff))
		if err != nil {
			return nil, err
		}
		n, _ := v.(json.Number)
		secs, err := n.Int64()
		if err != nil {
			return nil, runtimeError("The SecondsPath parameter cannot be parsed as a long value: %s == %s", st.waitPath.src, abbrev(v))
		}
		if secs < 0 {
			return nil, runtimeError("The SecondsPath parameter references a negative value: %s == %d", st.waitPath.src, secs)
		}
		// Cap the wait so the Duration cannot overflow; an execution lasts
		// at most a year anyway.
		d = time.Duration(min(secs, 1<<33)) * time.Second
	case "TimestampPath":
		v, err := st.waitPath.eval(s.with(eff))
		if err != nil {
			return nil, err
		}
		t, ok := timestamp(v)
		if !ok {
			return nil, runtimeError("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s",
				st.waitPath.src, abbrev(v))
		}
		d = t.Sub(r.clock.Now())
	}
	if err := r.sleep(ctx, d); err != nil {
		return nil, err
	}
	return selectPath(st.outputPath, s.with(eff), "OutputPath")
}

func fail(st *state, input any, s scope) error {
	e := &Error{Name: st.errName, Cause: st.cause}
	for _, f := range []struct {
		x     expr
		dst   *string
		field string
	}{{st.errorPath, &e.Name, "ErrorPath"}, {st.causePath, &e.Cause, "CausePath"}} {
		if f.x == nil {
			continue
		}
		v, err := f.x.eval(s.with(input))
		if err != nil {
			return err
		}
		str, ok := v.(string)
		if !ok {
			return runtimeError("The value of the field %s must be a string, not %s", f.field, abbrev(v))
		}
		*f.dst = str
	}
	return e
}

// task runs a Task state, retrying and catching its errors.
func (r *runner) task(ctx context.Context, st *state, input any, entered time.Time) (any, string, error) {
	return r.handled(ctx, st, input, entered, func(s scope) (any, error) {
		return r.attempt(ctx, st, input, s)
	})
}

// handled makes attempts at a Task or Map state as its Retry field says,
// and handles the error of the last one as its Catch field says.
func (r *runner) handled(ctx context.Context, st *state, input any, entered time.Time, attempt func(scope) (any, error)) (any, string, error) {
	attempts := make([]int, len(st.retry)) // each retrier counts its own
	retries := 0
	for {
		s := r.scope(st, entered, retries)
		out, err := attempt(s)
		var se *Error
		if !errors.As(err, &se) {
			return out, st.next, err
		}
		if i := matchRetrier(st.retry, se.Name); i >= 0 && attempts[i] < st.retry[i].maxAttempts {
			d := st.retry[i].delay(attempts[i], r.jitter)
			attempts[i]++
			retries++
			if err := r.sleep(ctx, d); err != nil {
				return nil, "", err
			}
			continue
		}
		for _, c := range st.catch {
			if matches(c.errors, se.Name) {
				out, err := setResult(input, c.resultPath, map[string]any{"Error": se.Name, "Cause": se.Cause})
				return out, c.next, err
			}
		}
		return nil, "", se
	}
}

func (r *runner) attempt(ctx context.Context, st *state, input any, s scope) (any, error) {
	var cb *callback
	if st.integration.pattern == patternCallback {
		// Each attempt is a new task with a new token; the token of an
		// attempt that has ended answers TaskTimedOut.
		var token string
		token, cb = r.opts.Tasks.issue(r.clock.Now)
		defer r.opts.Tasks.close(token)
		s = s.withTask(token)
	}
	timeout, heartbeat, err := taskTimeouts(st, s.with(input))
	if err != nil {
		return nil, err
	}
	params, err := effective(st, input, s)
	if err != nil {
		return nil, err
	}
	result, err := r.invoke(ctx, st, params, timeout, heartbeat, cb)
	if err != nil {
		return nil, err
	}
	return resultOutput(st, input, result, s)
}

// taskTimeouts resolves a Task's TimeoutSeconds and HeartbeatSeconds, which
// may come from its input through TimeoutSecondsPath and
// HeartbeatSecondsPath; 0 means none.
func taskTimeouts(st *state, s scope) (timeout, heartbeat time.Duration, err error) {
	timeout, heartbeat = st.timeout, st.heartbeat
	for _, f := range []struct {
		p     *path
		dst   *time.Duration
		field string
	}{{st.timeoutPath, &timeout, "TimeoutSecondsPath"}, {st.heartbeatPath, &heartbeat, "HeartbeatSecondsPath"}} {
		if f.p == nil {
			continue
		}
		v, err := f.p.eval(s)
		if err != nil {
			return 0, 0, err
		}
		n, ok := nonNegative(v)
		if !ok || n < 1 || n > maxSeconds {
			return 0, 0, runtimeError("The %s field refers to %s, which is not an integer from 1 to %d", f.field, abbrev(v), maxSeconds)
		}
		*f.dst = time.Duration(n) * time.Second
	}
	if heartbeat > 0 && timeout > 0 && heartbeat >= timeout {
		return 0, 0, runtimeError("The HeartbeatSeconds of %v must be less than the TimeoutSeconds of %v", heartbeat, timeout)
	}
	return timeout, heartbeat, nil
}

// invoke calls the task's resource, bounded by its timeout and the
// execution's. Both are enforced as context deadlines and, after the call,
// on the Clock, so a virtual clock that ran past them counts too. A task
// with a callback then waits for its token (awaitCallback), whose result
// replaces the call's.
func (r *runner) invoke(ctx context.Context, st *state, params any, timeout, heartbeat time.Duration, cb *callback) (any, error) {
	in, err := sized(params, "input of task", st.name)
	if err != nil {
		return nil, err
	}
	start := r.clock.Now()
	ictx := ctx
	if timeout > 0 {
		// Measured as Lambda measures its function's Timeout
		// (clock.WithTimeout): a function and the Task that invokes it
		// agree on how long it ran, whatever the clock's pace.
		var cancel context.CancelFunc
		ictx, cancel = clock.WithTimeout(ictx, r.clock, timeout, errTaskTimeout)
		defer cancel()
	}
	if !r.deadline.IsZero() {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeoutCause(ictx, r.deadline.Sub(start), errExecTimeout)
		defer cancel()
	}
	// TaskScheduled and TaskStarted (LambdaFunction… for a function), and
	// TaskSubmitted for a task that waits for a job or a callback.
	events := 2
	if st.integration.pattern != patternRequestResponse {
		events++
	}
	if err := r.hist.record(events); err != nil {
		return nil, err
	}
	// ended records the task's last event: succeeded, failed or timed out.
	ended := func(err error) error {
		if herr := r.hist.record(1); herr != nil {
			return herr
		}
		return err
	}
	res, err := r.call(ictx, st, in)
	cause := context.Cause(ictx)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("asl: %w", ctx.Err())
	case r.expired() || errors.Is(cause, errExecTimeout):
		return nil, errExecTimeout
	case timeout > 0 && (taskTime(ictx) >= timeout || errors.Is(cause, errTaskTimeout)):
		return nil, ended(&Error{Name: errTimeout, Cause: fmt.Sprintf("Task '%s' timed out after %v", st.name, timeout)})
	case err != nil:
		var se *Error
		if errors.As(err, &se) && se.Name != "" {
			return nil, ended(&Error{Name: se.Name, Cause: se.Cause})
		}
		var re runtimeErr
		if errors.As(err, &re) {
			return nil, ended(re)
		}
		return nil, ended(&Error{Name: errTaskFailed, Cause: err.Error()})
	}
	if cb != nil {
		// The call only handed the token on; its result is ignored.
		if res, err = r.awaitCallback(ctx, st, cb, start, timeout, heartbeat); err != nil {
			if errors.Is(err, errExecTimeout) || ctx.Err() != nil {
				return nil, err
			}
			return nil, ended(err)
		}
	}
	if err := ended(nil); err != nil {
		return nil, err
	}
	switch {
	case len(res) > maxPayload:
		return nil, &Error{Name: errDataLimitExceeded, Cause: fmt.Sprintf(
			"The state/task '%s' returned a result with a size of %d bytes, exceeding the maximum of %d", st.name, len(res), maxPayload)}
	case len(bytes.TrimSpace(res)) == 0:
		return nil, nil
	}
	v, err := decode(res)
	if err != nil {
		return nil, runtimeError("The task result is not valid JSON: %v", err)
	}
	return v, nil
}

// taskTime is how long a Task's call ran, on its timeout's measure.
func taskTime(ictx context.Context) time.Duration {
	used, _ := clock.Elapsed(ictx)
	return used
}

// call makes the task's request: lambda:invoke (also with a callback) calls
// the Invoker with its FunctionName and Payload and shapes the answer as
// the integration does; a callback on another integration makes that
// integration's request-response call; everything else goes to the
// Invoker as it is.
func (r *runner) call(ctx context.Context, st *state, in json.RawMessage) (json.RawMessage, error) {
	if st.integration.action != lambdaInvoke {
		return r.opts.Invoker.Invoke(ctx, st.integration.base, in)
	}
	var p struct {
		FunctionName any
		Payload      json.RawMessage
	}
	if err := json.Unmarshal(in, &p); err != nil {
		return nil, runtimeError("The Parameters of %s must be an object: %v", st.resource, err)
	}
	fn, ok := p.FunctionName.(string)
	if !ok || fn == "" {
		return nil, runtimeError("The FunctionName of %s must be a non-empty string, not %s", st.resource, abbrev(p.FunctionName))
	}
	// Lambda hands a function invoked without a payload an empty object.
	payload := p.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	out, err := r.opts.Invoker.Invoke(ctx, fn, payload)
	if err != nil {
		return nil, err
	}
	if out, err = compactOr(out, "null"); err != nil {
		return nil, runtimeError("The function %s returned a payload that is not valid JSON: %v", fn, err)
	}
	id, err := uuid(r.opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("asl: request id: %w", err)
	}
	return encode(newLambdaResult(out, id))
}

// matchRetrier returns the index of the first retrier for the error, or -1.
func matchRetrier(rs []retrier, name string) int {
	for i, r := range rs {
		if matches(r.errors, name) {
			return i
		}
	}
	return -1
}

// matches reports whether an ErrorEquals list handles the named error.
// States.Runtime is never handled; the wildcards States.ALL and
// States.TaskFailed leave out States.DataLimitExceeded, and States.TaskFailed
// also the timeouts. States.Timeout also matches States.HeartbeatTimeout.
func matches(list []string, name string) bool {
	if name == errRuntime {
		return false
	}
	for _, e := range list {
		switch {
		case e == name:
			return true
		case name == errDataLimitExceeded:
		case e == errALL:
			return true
		case e == errTimeout && name == errHeartbeatTimeout:
			// AWS documents States.Timeout as a task that ran too long or
			// failed to send a heartbeat in time.
			return true
		case e == errTaskFailed && name != errTimeout && name != errHeartbeatTimeout:
			return true
		}
	}
	return false
}

// delay returns the wait before retry number attempt (from 0).
func (rt retrier) delay(attempt int, rnd func() float64) time.Duration {
	secs := float64(rt.interval) * math.Pow(rt.backoff, float64(attempt))
	if rt.maxDelay > 0 {
		secs = min(secs, float64(rt.maxDelay))
	}
	secs = min(secs, 366*24*3600) // an execution lasts at most a year
	if rt.jitter {
		secs *= rnd()
	}
	return time.Duration(math.Round(secs*1000)) * time.Millisecond
}

// sleep waits on the Clock, but no further than the execution's deadline.
func (r *runner) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timedOut := false
	if !r.deadline.IsZero() {
		if left := r.deadline.Sub(r.clock.Now()); d >= left {
			d, timedOut = max(left, 0), true
		}
	}
	if err := r.clock.Sleep(ctx, d); err != nil {
		return fmt.Errorf("asl: %w", err)
	}
	if timedOut || r.expired() {
		return errExecTimeout
	}
	return nil
}

func (r *runner) expired() bool {
	return !r.deadline.IsZero() && !r.clock.Now().Before(r.deadline)
}

func (r *runner) timeoutError() *Error {
	return &Error{Name: errTimeout, Cause: fmt.Sprintf("The execution ran longer than its TimeoutSeconds of %d", r.m.timeout)}
}

// decodeInput decodes an execution or checkpoint input; AWS treats an
// empty one as {}.
func decodeInput(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	return decode(b)
}

// decode parses one JSON value, keeping numbers exact as json.Number.
func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// encode renders a value as compact JSON, without the HTML escaping that
// would make payloads larger than AWS measures them.
func encode(v any) ([]byte, error) { return plainjson.Marshal(v) }
