// Package clock provides the time sources vidgen runs on: the wall clock in
// AWS, a scaled clock for fast local runs, and a manual clock for tests.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits on it. It is the one time source every
// package takes, rather than each declaring its own (issue 15: one name per
// idea); Real, Scaled, Manual and Events implement it, and tests pass a
// Manual or Events clock so that no test sleeps to wait.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// The implementations are checked here so that a new one cannot miss a method.
var (
	_ Clock = Real{}
	_ Clock = (*Scaled)(nil)
	_ Clock = (*Manual)(nil)
	_ Clock = (*Events)(nil)
)

// Real is the wall clock.
type Real struct{}

// Now returns the current time.
func (Real) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, d)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Scaled is a virtual clock that runs Factor times faster than the wall
// clock. Local mode gives every component the same Scaled clock, so waits,
// simulated generation times and job deadlines stay consistent with each
// other while a 25 s generation takes 25/Factor s of real time.
type Scaled struct {
	origin time.Time // wall time when the clock was made
	start  time.Time // virtual time then
	factor float64
}

// NewScaled returns a clock that starts at the current wall time and runs
// factor times faster. A factor below 1 is treated as 1.
func NewScaled(factor float64) *Scaled {
	return NewScaledFrom(factor, time.Time{})
}

// NewScaledFrom is NewScaled starting at the later of the wall time and
// notBefore. A restarted local runtime passes the virtual time it reached,
// so its clock never runs backwards across restarts.
func NewScaledFrom(factor float64, notBefore time.Time) *Scaled {
	if factor < 1 {
		factor = 1
	}
	now := time.Now()
	start := now
	if notBefore.After(now) {
		start = notBefore
	}
	return &Scaled{origin: now, start: start, factor: factor}
}

// Now returns the virtual time.
func (s *Scaled) Now() time.Time {
	elapsed := time.Since(s.origin)
	return s.start.Add(time.Duration(float64(elapsed) * s.factor))
}

// Sleep waits for d of virtual time, which is d/Factor of real time. A
// sleep longer than the time ctx's WithTimeout leaves ends then, with ctx.
func (s *Scaled) Sleep(ctx context.Context, d time.Duration) error {
	d, cut := within(ctx, d)
	t := timeoutOf(ctx)
	began, wall := s.Now(), time.Now()
	err := sleep(ctx, time.Duration(float64(d)/s.factor))
	if t != nil {
		// A sleep counts as long as it was asked to be (or until ctx
		// ended it): what it overshoots by, at the timer's resolution,
		// counts at the wall clock's pace, as work does.
		t.credit(min(d, s.Now().Sub(began)), time.Since(wall))
	}
	if cut != nil && err == nil {
		return cut.end(ctx)
	}
	return err
}

// Wall is the wall-clock time at which s read t. Records keep virtual
// times, which waits and deadlines compare; what people read (API answers)
// is wall time.
func (s *Scaled) Wall(t time.Time) time.Time { return s.Run().Wall(t) }

// Run is the stretch of virtual time s covers: from its start, at the wall
// time it was made, at its factor.
func (s *Scaled) Run() Run { return Run{From: s.start, At: s.origin, Factor: s.factor} }

// Run is one scaled clock's mapping of virtual to wall time. A local
// runtime keeps the Run of each of its starts, so that times an earlier run
// recorded map back to the wall time they were read at.
type Run struct {
	From   time.Time `json:"from"` // the virtual time the run started at
	At     time.Time `json:"at"`   // the wall time then
	Factor float64   `json:"factor"`
}

// Wall is the wall time at which the run read t.
func (r Run) Wall(t time.Time) time.Time {
	return r.At.Add(time.Duration(float64(t.Sub(r.From)) / r.Factor))
}

// Factor reports how much faster than the wall clock s runs.
func (s *Scaled) Factor() float64 { return s.factor }

// Manual is a clock for tests: time stands still until Advance is called or
// a sleeper asks for more time, in which case it jumps forward at once.
// Sleeping never blocks, so tests run at machine speed and are deterministic.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a manual clock set to start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's current time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
}

// Sleep advances the clock by d and returns immediately. A sleep longer
// than the time ctx's WithTimeout leaves advances the clock to its end and
// ends ctx.
func (m *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d, cut := within(ctx, d)
	if d > 0 {
		m.Advance(d)
	}
	if cut != nil {
		return cut.end(ctx)
	}
	return nil
}
