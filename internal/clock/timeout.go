package clock

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// A timeout is an allowance of time for the code running with a context,
// measured as Lambda measures an invocation and Step Functions a Task: the
// code's own work at the machine's speed, and its waits at their length on
// the clock they sleep on. On the wall clock that is simply the time since
// the start. On a Scaled clock, which runs Factor times faster than the
// wall, it is not the clock's reading: a handler that waits 10 minutes on
// it and works for a real second has used 10 minutes and a second, not 10
// minutes and Factor seconds, so neither the handler's window of waits nor
// its timeout depends on how fast the machine is. On Manual and Events
// clocks, where work takes no time, it is the clock's reading. The code a
// timeout bounds waits in sequence, as a handler or a Task does: the
// waits of goroutines sleeping side by side under one timeout would each
// count.
type timeout struct {
	c      Clock
	parent *timeout // the timeout of the context this one was made from
	limit  time.Duration
	start  time.Time // on c
	wall   time.Time // the wall time at the start (Scaled)
	cancel context.CancelCauseFunc
	cause  error

	mu    sync.Mutex
	extra time.Duration // Scaled: what its sleeps took on the clock beyond their wall time
	timer *time.Timer   // Scaled: ends the context when the work alone uses up the rest
}

type timeoutKey struct{}

// WithTimeout returns a copy of ctx that ends with cause once d has passed
// for the code running with it, as the timeout type describes; a code's
// sleeps on c longer than what is left end then. Elapsed and Remaining
// report the time used and left. ctx's Deadline is the wall time by which
// it ends at the latest (when nothing sleeps on a faster clock).
func WithTimeout(ctx context.Context, c Clock, d time.Duration, cause error) (context.Context, context.CancelFunc) {
	if c == nil {
		c = Real{}
	}
	t := &timeout{c: c, limit: d, start: c.Now(), wall: time.Now(), cause: cause}
	t.parent, _ = ctx.Value(timeoutKey{}).(*timeout)
	var stop context.CancelFunc
	switch c.(type) {
	case Real, *Scaled:
		// The latest it ends is d of wall time from now; a Scaled clock's
		// sleeps bring that forward (credit).
		ctx, stop = context.WithDeadlineCause(ctx, t.wall.Add(d), cause)
	case *Manual, *Events:
		// Time there moves only by sleeps (and Manual.Advance), which
		// end the context themselves.
		ctx, stop = context.WithCancel(ctx)
	default:
		// A clock this package does not know: at least the wall-clock
		// bound, as before clocks had timeouts.
		ctx, stop = context.WithTimeoutCause(ctx, d, cause)
	}
	ctx, t.cancel = context.WithCancelCause(ctx)
	ctx = context.WithValue(ctx, timeoutKey{}, t)
	return ctx, func() {
		t.mu.Lock()
		if t.timer != nil {
			t.timer.Stop()
		}
		t.mu.Unlock()
		t.cancel(context.Canceled)
		stop()
	}
}

// elapsed is the time t's code has used.
func (t *timeout) elapsed() time.Duration {
	if _, ok := t.c.(*Scaled); ok {
		t.mu.Lock()
		defer t.mu.Unlock()
		return time.Since(t.wall) + t.extra
	}
	return t.c.Now().Sub(t.start)
}

// within is the part of a sleep of d that the timeouts of ctx allow, and
// the timeout that cuts it short, if one does.
func within(ctx context.Context, d time.Duration) (time.Duration, *timeout) {
	var cut *timeout
	for t := timeoutOf(ctx); t != nil; t = t.parent {
		if left := t.limit - t.elapsed(); left < d {
			d, cut = max(left, 0), t
		}
	}
	return d, cut
}

// end ends t's context, which used up its time, and reports ctx's end. A
// ctx that does not end with t's (made by context.WithoutCancel, which
// keeps t as a value but not its end) still had its sleep cut short: the
// sleep reports that as ctx's own end would, never as a full sleep, or
// code under it would loop through cut waits at one instant unaware.
func (t *timeout) end(ctx context.Context) error {
	t.cancel(t.cause)
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.cause != nil {
		return fmt.Errorf("%w: %w", context.Canceled, t.cause)
	}
	return context.Canceled
}

// credit adds what a sleep took on the Scaled clock beyond its wall time to
// every Scaled timeout of the chain from t and re-arms their timers, which
// end the context once the work alone uses up what is left.
func (t *timeout) credit(virtual, wall time.Duration) {
	for ; t != nil; t = t.parent {
		if _, ok := t.c.(*Scaled); !ok {
			continue
		}
		t.mu.Lock()
		t.extra += virtual - wall
		rest := t.limit - (time.Since(t.wall) + t.extra)
		if t.timer != nil {
			t.timer.Stop()
		}
		cancel, cause := t.cancel, t.cause
		t.timer = time.AfterFunc(max(rest, 0), func() { cancel(cause) })
		t.mu.Unlock()
	}
}

// timeoutOf is the innermost timeout of ctx, or nil.
func timeoutOf(ctx context.Context) *timeout {
	t, _ := ctx.Value(timeoutKey{}).(*timeout)
	return t
}

// Elapsed is how long the code running with ctx has used of its innermost
// WithTimeout, and whether it has one.
func Elapsed(ctx context.Context) (time.Duration, bool) {
	t := timeoutOf(ctx)
	if t == nil {
		return 0, false
	}
	return t.elapsed(), true
}

// Remaining is how much time the code running with ctx has left: the least
// its WithTimeouts leave, measured as they measure it, or else the time to
// ctx's deadline on the wall clock (a Lambda's context in AWS). ok is false
// when ctx has neither.
func Remaining(ctx context.Context) (time.Duration, bool) {
	if t := timeoutOf(ctx); t != nil {
		left := time.Duration(1<<63 - 1)
		for ; t != nil; t = t.parent {
			left = min(left, t.limit-t.elapsed())
		}
		return max(left, 0), true
	}
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), 0), true
	}
	return 0, false
}
