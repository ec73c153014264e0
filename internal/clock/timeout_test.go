package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errTimedOut = errors.New("timed out")

// On a Manual clock a timeout's time is the clock's: a sleep within it
// advances the clock, one past it advances the clock to the timeout and
// ends the context with the cause, and nested timeouts end with whichever
// comes first.
func TestTimeoutOnManualClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewManual(start)
	ctx, cancel := WithTimeout(context.Background(), m, 900*time.Second, errTimedOut)
	defer cancel()
	if err := m.Sleep(ctx, 600*time.Second); err != nil {
		t.Fatal(err)
	}
	if used, ok := Elapsed(ctx); !ok || used != 600*time.Second {
		t.Fatalf("elapsed %v %v, want 10m", used, ok)
	}
	if left, ok := Remaining(ctx); !ok || left != 300*time.Second {
		t.Fatalf("remaining %v %v, want 5m", left, ok)
	}
	inner, stop := WithTimeout(ctx, m, time.Hour, errors.New("inner"))
	defer stop()
	if err := m.Sleep(inner, 10*time.Minute); err == nil || !errors.Is(context.Cause(inner), errTimedOut) {
		t.Fatalf("sleep past the outer timeout: %v, cause %v", err, context.Cause(inner))
	}
	if got := m.Now().Sub(start); got != 900*time.Second {
		t.Fatalf("the clock went to %v, want the timeout's 15m", got)
	}
	if ctx.Err() == nil || !errors.Is(context.Cause(ctx), errTimedOut) {
		t.Fatalf("the timed-out context: %v, cause %v", ctx.Err(), context.Cause(ctx))
	}
	if left, _ := Remaining(ctx); left != 0 {
		t.Fatalf("remaining %v after the timeout", left)
	}
}

// On a Scaled clock a timeout counts sleeps at their length on the clock
// and work at the wall clock's pace: at a factor of 10,000, 5 virtual
// minutes of sleeps take 30 ms of wall time and use 5 minutes (and the
// 30 ms) of a 15-minute timeout, not 5 minutes and 300 s; a sleep
// past the rest ends the context at the timeout. Its Deadline says when it
// would end without sleeps.
func TestTimeoutOnScaledClock(t *testing.T) {
	s := NewScaled(1e4)
	ctx, cancel := WithTimeout(context.Background(), s, 15*time.Minute, errTimedOut)
	defer cancel()
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) < 14*time.Minute {
		t.Fatalf("deadline %v %v, want 15 min of wall time away", dl, ok)
	}
	for range 5 {
		if err := s.Sleep(ctx, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// Besides the sleeps, the wall time of the work (and of the sleeps'
	// overshoot).
	const slack = 5 * time.Second
	used, _ := Elapsed(ctx)
	if used < 5*time.Minute || used > 5*time.Minute+slack {
		t.Fatalf("elapsed %v after 5 min of sleeps", used)
	}
	if err := s.Sleep(ctx, time.Hour); err == nil || !errors.Is(context.Cause(ctx), errTimedOut) {
		t.Fatalf("sleep past the timeout: %v, cause %v", err, context.Cause(ctx))
	}
	if used, _ := Elapsed(ctx); used < 15*time.Minute || used > 15*time.Minute+slack {
		t.Fatalf("elapsed %v at the end, want 15 min", used)
	}
}

// With credit for its sleeps the rest of a Scaled timeout runs at the wall
// clock's pace: work that outlasts what is left ends the context then.
func TestScaledTimeoutEndsDuringWork(t *testing.T) {
	s := NewScaled(1e4)
	ctx, cancel := WithTimeout(context.Background(), s, 5*time.Minute+200*time.Millisecond, errTimedOut)
	defer cancel()
	if err := s.Sleep(ctx, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if left, _ := Remaining(ctx); left < 100*time.Millisecond {
		t.Fatalf("%v left after the sleep, want most of the 200 ms: work counts at the wall clock's pace", left)
	}
	<-ctx.Done() // the "work": at most 200 ms of wall time are left, not 200 ms of the clock's
	if !errors.Is(context.Cause(ctx), errTimedOut) {
		t.Fatalf("cause %v", context.Cause(ctx))
	}
}

// Without a timeout Remaining falls back to the context's deadline, as in
// AWS, where a Lambda's context carries only that.
func TestRemainingWithoutTimeout(t *testing.T) {
	if _, ok := Remaining(context.Background()); ok {
		t.Fatal("a context without deadline has time remaining")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if left, ok := Remaining(ctx); !ok || left < 59*time.Minute || left > time.Hour {
		t.Fatalf("remaining %v %v, want about an hour", left, ok)
	}
	if _, ok := Elapsed(ctx); ok {
		t.Fatal("elapsed without a timeout")
	}
}

// A context detached from a timed-out one (context.WithoutCancel) keeps
// the timeout: a sleep under it past the timeout is cut short and says so,
// on every clock, rather than returning as if it had slept.
func TestDetachedContextSleepCutSaysSo(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, c := range map[string]Clock{"manual": NewManual(start), "scaled": NewScaled(1e6)} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := WithTimeout(context.Background(), c, time.Minute, errTimedOut)
			defer cancel()
			detached := context.WithoutCancel(ctx)
			if err := c.Sleep(detached, 30*time.Second); err != nil {
				t.Fatalf("a sleep within the timeout: %v", err)
			}
			err := c.Sleep(detached, time.Hour)
			if !errors.Is(err, context.Canceled) || !errors.Is(err, errTimedOut) {
				t.Fatalf("a sleep past the timeout under a detached context: %v, want it cut, naming the cause", err)
			}
			if detached.Err() != nil {
				t.Fatalf("the detached context ended: %v", detached.Err())
			}
		})
	}
}
