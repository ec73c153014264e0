package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/localarn"
	"github.com/vidgen/vidgen/internal/local/scheduler/schedulertest"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/local/states/statestest"
	"github.com/vidgen/vidgen/internal/samtemplate"
	"github.com/vidgen/vidgen/internal/uuid"
)

// gateClock is a manual clock whose Sleep waits for the test: it reports
// the duration asked for and returns, advancing the clock, once released.
type gateClock struct {
	*clock.Manual
	asked   chan time.Duration
	release chan struct{}
}

func (c *gateClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case c.asked <- d:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return c.Manual.Sleep(ctx, d)
}

// Run fires the ENABLED rate() schedules one period after it starts and
// every period after, on the virtual clock, and skips what the clock jumps
// over.
func TestSchedulerRun(t *testing.T) {
	te := statestest.New(t, map[string]string{"Echo": statestest.Echo}, nil)
	clk := &gateClock{Manual: te.Clock, asked: make(chan time.Duration), release: make(chan struct{})}
	ids := &schedulertest.Names{}
	s := &Runner{Schedules: schedulertest.Schedules(), Engine: te.Engine, Clock: clk, NewID: ids.Next, Log: slog.New(slog.DiscardHandler)}
	s.Schedules["Gone"] = samtemplate.Schedule{LogicalID: "Gone", Expression: "rate(1 day)", State: "DISABLED", Target: "Deleted"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	// fired checks the executions started since the last step.
	seen := 0
	fired := func(step string, want ...string) {
		t.Helper()
		for _, w := range want {
			seen++
			name := fmt.Sprintf("e-%d", seen)
			exe, err := te.Describe("Echo", name)
			if err != nil {
				t.Fatalf("%s: execution %s: %v", step, name, err)
			}
			if got := string(exe.Input); got != w {
				t.Errorf("%s: %s input = %s, want %s", step, name, got, w)
			}
		}
		if _, err := te.Describe("Echo", fmt.Sprintf("e-%d", seen+1)); err == nil {
			t.Fatalf("%s: more firings than %d", step, seen)
		}
	}
	in := func(id string, at time.Duration) string {
		return fmt.Sprintf(`{"at":"%s","from":"%s"}`, statestest.Start.Add(at).Format(time.RFC3339), localarn.Schedule(id))
	}
	steps := []struct {
		advance time.Duration // the clock jumps ahead by itself meanwhile
		asked   time.Duration // the next sleep Run asks for
		fired   []string
	}{
		{0, 20 * time.Minute, nil},
		{0, 20 * time.Minute, []string{in("Every20", 20*time.Minute)}},
		{0, 20 * time.Minute, []string{in("Every20", 40*time.Minute)}},
		{0, 20 * time.Minute, []string{in("Every20", 60*time.Minute), in("Hourly", 60*time.Minute)}},
		// At 60 min the clock jumps 30 min: the sleep to 80 ends at 110,
		// which fires 80 once, skips 100 and waits for 120.
		{30 * time.Minute, 10 * time.Minute, []string{in("Every20", 80*time.Minute)}},
		{0, 20 * time.Minute, []string{in("Every20", 120*time.Minute), in("Hourly", 120*time.Minute)}},
	}
	for i, st := range steps {
		step := fmt.Sprintf("step %d", i)
		if i > 0 {
			te.Clock.Advance(st.advance)
			clk.release <- struct{}{}
		}
		if d := <-clk.asked; d != st.asked {
			t.Fatalf("%s: Run sleeps %v, want %v", step, d, st.asked)
		}
		fired(step, st.fired...)
	}
}

// Run with nothing to time returns at once.
func TestSchedulerRunNothing(t *testing.T) {
	te := statestest.New(t, map[string]string{"Echo": statestest.Echo}, nil)
	s := &Runner{Schedules: map[string]samtemplate.Schedule{"Off": schedulertest.Schedules()["Off"]}, Engine: te.Engine, Clock: te.Clock, Log: slog.New(slog.DiscardHandler)}
	s.Run(context.Background())
}

func TestSchedulerFire(t *testing.T) {
	at := statestest.Start.Add(time.Hour)
	tests := []struct {
		id      string
		wantErr error
		msg     string
	}{
		{id: "Off"}, // DISABLED schedules fire on demand
		{id: "Nightly"},
		{id: "Every20"},
		{id: "Nope", wantErr: ErrNoSchedule, msg: "no such schedule: Nope"},
		{id: "Lambda", wantErr: samtemplate.ErrCannotFire, msg: "the target Fn is not a state machine"},
		{id: "Regional", wantErr: samtemplate.ErrCannotFire, msg: "${AWS::Region}: no local value"},
		{id: "Gone", wantErr: samtemplate.ErrCannotFire, msg: "does not run state machine Deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			te := statestest.New(t, map[string]string{"Echo": statestest.Echo}, nil)
			s := &Runner{Schedules: schedulertest.Schedules(), Engine: te.Engine, Clock: te.Clock, Log: slog.New(slog.DiscardHandler)}
			name, err := s.Fire(context.Background(), tt.id, at)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("err = %v, want %v with %q", err, tt.wantErr, tt.msg)
				}
				return
			}
			if err != nil || !uuid.IsV4(name) {
				t.Fatalf("Fire = %q, %v", name, err)
			}
			exe := te.Ended(t, "Echo", name)
			want := fmt.Sprintf(`{"got":{"at":"2026-11-25T11:00:00Z","from":"%s"},"name":"%s"}`, localarn.Schedule(tt.id), name)
			if exe.Status != states.Succeeded || string(exe.Output) != want {
				t.Fatalf("execution = %s %s, want %s", exe.Status, exe.Output, want)
			}
		})
	}
}

func TestSchedulerList(t *testing.T) {
	s := &Runner{Schedules: schedulertest.Schedules(), Log: slog.New(slog.DiscardHandler)}
	got, err := json.Marshal(s.List())
	if err != nil {
		t.Fatal(err)
	}
	want := `[` +
		`{"schedule":"Every20","expression":"rate(20 minutes)","state":"ENABLED","machine":"Echo","runs_automatically":true},` +
		`{"schedule":"Gone","expression":"rate(1 day)","state":"ENABLED","machine":"Deleted","runs_automatically":true},` +
		`{"schedule":"Hourly","expression":"rate(1 hour)","state":"ENABLED","machine":"Echo","runs_automatically":true},` +
		`{"schedule":"Lambda","expression":"rate(1 minute)","state":"ENABLED","target_note":"the target Fn is not a state machine","runs_automatically":false,"why":"the target Fn is not a state machine"},` +
		`{"schedule":"Nightly","expression":"cron(0 6 * * ? *)","state":"ENABLED","machine":"Echo","runs_automatically":false,"why":"cron() schedules are not timed locally; fire them on demand"},` +
		`{"schedule":"Off","expression":"rate(1 minute)","state":"DISABLED","machine":"Echo","runs_automatically":false,"why":"it is DISABLED; fire it on demand"},` +
		`{"schedule":"Regional","expression":"rate(1 minute)","state":"ENABLED","machine":"Echo","input_error":"${AWS::Region}: no local value","runs_automatically":false,"why":"Target.Input: ${AWS::Region}: no local value"}]`
	if string(got) != want {
		t.Errorf("List\n got %s\nwant %s", got, want)
	}
}
