package asl

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits of the SendTask* requests, from the AWS Step Functions API
// reference (SendTaskSuccess, SendTaskFailure).
const (
	maxTaskToken = 1024   // taskToken: 1 to 1024 characters
	maxTaskError = 256    // SendTaskFailure error
	maxTaskCause = 32768  // SendTaskFailure cause
	maxTaskOut   = 262144 // SendTaskSuccess output, in bytes
)

// An APIError is what SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat
// answer when AWS Step Functions would refuse the call. Code is the AWS
// error code; errors.Is matches on it, so callers test for the exported
// values below.
type APIError struct {
	Code, Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Is reports whether target is an *APIError with the same Code.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Code == e.Code
}

// The errors of the SendTask* actions, by AWS error code. TaskDoesNotExist
// is not among them: AWS documents it as "the activity does not exist",
// which a callback token never answers.
var (
	// ErrInvalidToken: the token is not one a task of this Tasks was
	// given (malformed, or from elsewhere).
	ErrInvalidToken = &APIError{Code: "InvalidToken"}
	// ErrTaskTimedOut: the token was issued, but its task has closed: it
	// succeeded, failed, timed out, was retried under a new token, or its
	// execution ended or was re-entered after a restart.
	ErrTaskTimedOut = &APIError{Code: "TaskTimedOut"}
	// ErrInvalidOutput: SendTaskSuccess's output is not JSON.
	ErrInvalidOutput = &APIError{Code: "InvalidOutput"}
	// ErrValidation: a parameter breaks the API's length constraints, for
	// example an output over 256 KiB.
	ErrValidation = &APIError{Code: "ValidationException"}
)

// Tasks holds the task tokens of Task states waiting for a callback
// (Resource ending in .waitForTaskToken). A run that has such states needs
// one in Options.Tasks; the embedding runtime exposes its SendTaskSuccess,
// SendTaskFailure and SendTaskHeartbeat as Step Functions' actions of the
// same names. One Tasks may serve any number of concurrent runs.
//
// A token is 128 random bits and a MAC of them under the Tasks' key, so it
// cannot be guessed, and a Tasks made with the same key (a restarted
// runtime) tells a token it issued before, whose task has closed
// (ErrTaskTimedOut), from one it never issued (ErrInvalidToken).
type Tasks struct {
	key []byte

	mu   sync.Mutex
	open map[string]*callback // by token, while the task waits
}

// NewTasks returns a Tasks whose tokens are authenticated with key. A key
// persisted across restarts makes tokens from before a restart answer
// ErrTaskTimedOut; an empty key means a random one.
func NewTasks(key []byte) *Tasks {
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key) // never fails: crypto/rand aborts the program instead
	}
	return &Tasks{key: append([]byte(nil), key...), open: map[string]*callback{}}
}

// A callback is one open task token: what it has been sent so far.
type callback struct {
	now func() time.Time // the run's clock, to time heartbeats

	done     bool // SendTaskSuccess or SendTaskFailure arrived
	output   json.RawMessage
	err      *Error
	lastBeat time.Time // the last SendTaskHeartbeat; zero before the first
	wake     func()    // ends the run's sleep; nil when the run is not asleep
}

// issue opens a new token whose heartbeats are timed by now.
func (t *Tasks) issue(now func() time.Time) (string, *callback) {
	var b [32]byte
	rand.Read(b[:16])
	copy(b[16:], t.mac(b[:16]))
	token := base64.RawURLEncoding.EncodeToString(b[:])
	cb := &callback{now: now}
	t.mu.Lock()
	t.open[token] = cb
	t.mu.Unlock()
	return token, cb
}

// close ends a token: every later call with it answers ErrTaskTimedOut.
func (t *Tasks) close(token string) {
	t.mu.Lock()
	delete(t.open, token)
	t.mu.Unlock()
}

func (t *Tasks) mac(random []byte) []byte {
	h := hmac.New(sha256.New, t.key)
	h.Write(random)
	return h.Sum(nil)[:16]
}

// lookup returns the open callback of token; t.mu must be held.
func (t *Tasks) lookup(token string) (*callback, error) {
	if token == "" || len(token) > maxTaskToken {
		return nil, &APIError{Code: ErrValidation.Code, Message: fmt.Sprintf(
			"Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and %d", maxTaskToken)}
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 32 || !hmac.Equal(b[16:], t.mac(b[:16])) {
		return nil, &APIError{Code: ErrInvalidToken.Code, Message: "Invalid token"}
	}
	cb, ok := t.open[token]
	if !ok || cb.done {
		return nil, &APIError{Code: ErrTaskTimedOut.Code, Message: "Task Timed Out: the task of this token has already been closed"}
	}
	return cb, nil
}

// SendTaskSuccess completes the task of token with output, which becomes its
// result (then ResultSelector, ResultPath and OutputPath apply as usual).
func (t *Tasks) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(output) > maxTaskOut {
		return &APIError{Code: ErrValidation.Code, Message: fmt.Sprintf(
			"Value at 'output' failed to satisfy constraint: Member must have length less than or equal to %d", maxTaskOut)}
	}
	if _, err := decode(output); err != nil {
		return &APIError{Code: ErrInvalidOutput.Code, Message: "Invalid Output: " + err.Error()}
	}
	return t.deliver(token, func(cb *callback) { cb.done, cb.output = true, append(json.RawMessage(nil), output...) })
}

// SendTaskFailure fails the task of token with the error name and cause, to
// which its Retry and Catch fields apply.
func (t *Tasks) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"error", errName, maxTaskError}, {"cause", cause, maxTaskCause}} {
		if utf8.RuneCountInString(f.v) > f.max {
			return &APIError{Code: ErrValidation.Code, Message: fmt.Sprintf(
				"Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", f.name, f.max)}
		}
	}
	return t.deliver(token, func(cb *callback) { cb.done, cb.err = true, &Error{Name: errName, Cause: cause} })
}

// SendTaskHeartbeat restarts the heartbeat clock (HeartbeatSeconds) of the
// task of token. It does not extend the task's TimeoutSeconds.
func (t *Tasks) SendTaskHeartbeat(ctx context.Context, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return t.deliver(token, func(cb *callback) { cb.lastBeat = cb.now() })
}

// deliver applies f to the open callback of token and wakes its run.
func (t *Tasks) deliver(token string, f func(*callback)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	cb, err := t.lookup(token)
	if err != nil {
		return err
	}
	f(cb)
	if cb.wake != nil {
		cb.wake()
	}
	return nil
}

// An Interrupter is a Clock whose sleeps another goroutine can end early. A
// Task waiting for its callback sleeps until its timeout or heartbeat is
// due and must wake the moment SendTask* arrives. With a plain Clock the
// interpreter cancels the context it passed to Sleep, which ends the sleep
// of a clock whose Sleep returns when its context ends (a wall or scaled
// clock). A clock whose sleepers cannot see that happen, such as a
// discrete-event clock on which only one process runs at a time,
// implements Interrupter instead.
type Interrupter interface {
	// Interruptible prepares a sleep of d on the clock, without limit when
	// d is negative, and returns it with a function that ends it early.
	// wake may be called before sleep (sleep then returns at once), more
	// than once, and from another goroutine or process.
	Interruptible(d time.Duration) (sleep func(ctx context.Context) error, wake func())
}

// Why a callback task stopped waiting, when it was not called back.
type deadlineKind int

const (
	noDeadline deadlineKind = iota
	taskTimeout
	heartbeatTimeout
	executionTimeout
)

// awaitCallback waits for SendTaskSuccess or SendTaskFailure on cb, for at
// most timeout since start and heartbeat since start or the last heartbeat
// (either 0 for none), and within the execution's deadline.
func (r *runner) awaitCallback(ctx context.Context, st *state, cb *callback, start time.Time, timeout, heartbeat time.Duration) (json.RawMessage, error) {
	tasks := r.opts.Tasks
	for {
		tasks.mu.Lock()
		if cb.done {
			tasks.mu.Unlock()
			if cb.err != nil {
				return nil, cb.err
			}
			return cb.output, nil
		}
		now := r.clock.Now()
		deadline, kind := time.Time{}, noDeadline
		if timeout > 0 {
			deadline, kind = start.Add(timeout), taskTimeout
		}
		if heartbeat > 0 {
			beat := start
			if cb.lastBeat.After(beat) {
				beat = cb.lastBeat
			}
			// At a tie the task's TimeoutSeconds, its whole allowance, wins.
			if due := beat.Add(heartbeat); kind == noDeadline || due.Before(deadline) {
				deadline, kind = due, heartbeatTimeout
			}
		}
		if !r.deadline.IsZero() && (kind == noDeadline || !r.deadline.After(deadline)) {
			deadline, kind = r.deadline, executionTimeout
		}
		if kind != noDeadline && !now.Before(deadline) {
			tasks.mu.Unlock()
			switch kind {
			case executionTimeout:
				return nil, errExecTimeout
			case heartbeatTimeout:
				return nil, &Error{Name: errHeartbeatTimeout, Cause: fmt.Sprintf(
					"Task '%s' sent no heartbeat for %v (HeartbeatSeconds)", st.name, heartbeat)}
			}
			return nil, &Error{Name: errTimeout, Cause: fmt.Sprintf("Task '%s' timed out after %v", st.name, timeout)}
		}
		d := time.Duration(-1)
		if kind != noDeadline {
			d = deadline.Sub(now)
		}
		sleep, wake := r.interruptible(ctx, d)
		cb.wake = wake
		tasks.mu.Unlock()
		err := sleep()
		tasks.mu.Lock()
		cb.wake = nil
		tasks.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("asl: %w", err)
		}
	}
}

// interruptible returns a sleep of d on the run's clock (no limit when d is
// negative) that wake ends early. The sleep reports only ctx's end.
func (r *runner) interruptible(ctx context.Context, d time.Duration) (sleep func() error, wake func()) {
	if ic, ok := r.clock.(Interrupter); ok {
		s, w := ic.Interruptible(d)
		return func() error {
			s(ctx)
			return ctx.Err()
		}, w
	}
	wctx, cancel := context.WithCancel(ctx)
	return func() error {
		defer cancel()
		if d < 0 {
			<-wctx.Done()
		} else {
			r.clock.Sleep(wctx, d)
		}
		return ctx.Err()
	}, cancel
}

// A Spawner is a discrete-event clock (clock.Events), on which nothing but
// the clock's own processes may run: a Map state starts its iterations as
// processes with Go and waits for them with an interruptible sleep, so
// that a simulation runs them in simulated time, the same way every time.
type Spawner interface {
	Interrupter
	Go(f func())
}
