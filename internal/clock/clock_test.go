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
