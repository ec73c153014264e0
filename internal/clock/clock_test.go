package clock

import (
	"context"
	"testing"
	"time"
)

func TestManual(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewManual(start)
	if err := m.Sleep(context.Background(), 90*time.Second); err != nil {
		t.Fatal(err)
	}
	m.Advance(time.Minute)
	if got := m.Now().Sub(start); got != 150*time.Second {
		t.Fatalf("advanced %v, want 150s", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Sleep(ctx, time.Hour); err == nil || m.Now().Sub(start) != 150*time.Second {
		t.Fatal("a cancelled sleep must neither succeed nor advance the clock")
	}
}

func TestScaledSleepEndsWithContext(t *testing.T) {
	s := NewScaled(1000)
	if s.Factor() != 1000 {
		t.Fatalf("factor %v", s.Factor())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Sleep(ctx, time.Hour); err == nil {
		t.Fatal("sleep on a cancelled context returned nil")
	}
	if NewScaled(0.5).Factor() != 1 {
		t.Fatal("factors below 1 must be treated as 1")
	}
	// Virtual time never runs behind the wall clock.
	before := time.Now()
	if s.Now().Before(before) {
		t.Fatal("scaled clock is behind the wall clock")
	}
}

func TestScaledFromNeverRunsBackwards(t *testing.T) {
	ahead := time.Now().Add(time.Hour)
	if got := NewScaledFrom(20, ahead).Now(); got.Before(ahead) {
		t.Fatalf("clock started at %v, before %v", got, ahead)
	}
	behind := time.Now().Add(-time.Hour)
	if got := NewScaledFrom(20, behind).Now(); got.Before(time.Now().Add(-time.Second)) {
		t.Fatalf("clock started in the past: %v", got)
	}
}

// Wall maps the scaled clock's readings back to the wall clock: a reading
// taken now is now, one d of virtual time later is d/factor later, even for
// a clock that started ahead of the wall clock (a restarted local runtime).
func TestScaledWall(t *testing.T) {
	ahead := time.Now().Add(48 * time.Hour)
	for _, s := range []*Scaled{NewScaled(1), NewScaled(1000), NewScaledFrom(1000, ahead)} {
		before := time.Now()
		w := s.Wall(s.Now())
		after := time.Now()
		if w.Before(before.Add(-time.Millisecond)) || w.After(after.Add(time.Millisecond)) {
			t.Errorf("factor %v: Wall(Now()) = %v, want within [%v, %v]", s.Factor(), w, before, after)
		}
		v := s.Now()
		if got, want := s.Wall(v.Add(time.Hour)).Sub(s.Wall(v)), time.Duration(float64(time.Hour)/s.Factor()); got < want-time.Microsecond || got > want+time.Microsecond {
			t.Errorf("factor %v: an hour of virtual time is %v of wall time, want %v", s.Factor(), got, want)
		}
	}
}
