package clock_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
)

// TestEventsRunsProcessesInSimulatedTime runs processes that sleep and
// start others: each wakes exactly at its time, ties go in scheduling
// order, and the log is the same on every run.
func TestEventsRunsProcessesInSimulatedTime(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	run := func() []string {
		e := clock.NewEvents(t0)
		var log []string
		note := func(s string) { log = append(log, fmt.Sprintf("%s@%s", s, e.Now().Sub(t0))) }
		for i := range 3 {
			e.Go(func() {
				note(fmt.Sprint("start", i))
				e.Sleep(context.Background(), time.Duration(3-i)*time.Second)
				note(fmt.Sprint("woke", i))
				if i == 0 {
					e.Go(func() { note("child"); e.Sleep(context.Background(), time.Hour); note("child done") })
				}
				e.Sleep(context.Background(), 0)
				note(fmt.Sprint("end", i))
			})
		}
		end := e.Run(context.Background())
		if got := end.Sub(t0); got != time.Hour+3*time.Second {
			t.Errorf("ended at %s, want 1h0m3s", got)
		}
		return log
	}
	want := []string{"start0@0s", "start1@0s", "start2@0s", "woke2@1s", "end2@1s", "woke1@2s", "end1@2s",
		"woke0@3s", "child@3s", "end0@3s", "child done@1h0m3s"}
	for range 20 {
		if got := run(); !slices.Equal(got, want) {
			t.Fatalf("log\n got %v\nwant %v", got, want)
		}
	}
}

func TestEventsSleepHonoursContext(t *testing.T) {
	e := clock.NewEvents(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	var errs []error
	e.Go(func() {
		cancel()
		errs = append(errs, e.Sleep(ctx, time.Second))
	})
	e.Run(context.Background())
	if len(errs) != 1 || errs[0] != context.Canceled || e.Now() != (time.Time{}) {
		t.Fatalf("errs %v, now %v: a cancelled sleep must return at once", errs, e.Now())
	}
}

// TestEventsInterruptible has a process sleep until a deadline that
// another process cuts short: it resumes at the instant of the wake, its
// deadline's wake-up does not resume it again nor move the clock, and a
// sleep woken before it starts returns at once.
func TestEventsInterruptible(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		limit     time.Duration // the sleep's; negative: none
		wakeAfter time.Duration // when the other process wakes it; negative: never
		wantWoke  time.Duration
		wantEnd   time.Duration
	}{
		{name: "woken before the deadline", limit: time.Hour, wakeAfter: 10 * time.Second, wantWoke: 10 * time.Second, wantEnd: 10 * time.Second},
		{name: "deadline first", limit: 5 * time.Second, wakeAfter: 10 * time.Second, wantWoke: 5 * time.Second, wantEnd: 10 * time.Second},
		{name: "no limit", limit: -1, wakeAfter: 7 * time.Second, wantWoke: 7 * time.Second, wantEnd: 7 * time.Second},
		{name: "woken before sleeping", limit: time.Hour, wakeAfter: 0, wantWoke: 0, wantEnd: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := clock.NewEvents(t0)
			sleep, wake := e.Interruptible(tt.limit)
			var woke time.Duration
			e.Go(func() {
				if tt.wakeAfter == 0 {
					wake() // before the sleep starts
				}
				if err := sleep(context.Background()); err != nil {
					t.Error(err)
				}
				woke = e.Now().Sub(t0)
			})
			if tt.wakeAfter > 0 {
				e.Go(func() {
					e.Sleep(context.Background(), tt.wakeAfter)
					wake()
					wake() // harmless
				})
			}
			end := e.Run(context.Background())
			if woke != tt.wantWoke || end.Sub(t0) != tt.wantEnd {
				t.Fatalf("woke at %v, run ended at %v; want %v and %v", woke, end.Sub(t0), tt.wantWoke, tt.wantEnd)
			}
		})
	}
}
