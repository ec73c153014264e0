package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/samtemplate"
	"github.com/vidgen/vidgen/internal/uuid"
)

// ErrNoSchedule is Runner.Fire's error for an id the template does not define.
var ErrNoSchedule = errors.New("no such schedule")

// Runner plays EventBridge Scheduler for the template's schedules: Run
// fires the ENABLED rate() schedules on the virtual clock, and Fire fires
// any schedule on demand. cron() and at() schedules are not timed locally:
// fire them with Fire (POST /local/schedules/{schedule}/fire).
type Runner struct {
	Schedules map[string]samtemplate.Schedule
	Engine    *states.Engine
	Clock     clock.Clock
	Log       *slog.Logger // required
	// NewID names each firing (its <aws.scheduler.execution-id> and the
	// execution's name); nil means a random UUID.
	NewID func() string
}

// Info describes a schedule for the admin routes.
type Info struct {
	Schedule   string `json:"schedule"`
	Expression string `json:"expression"`
	State      string `json:"state"`
	StateNote  string `json:"state_note,omitempty"`
	Machine    string `json:"machine,omitempty"`
	TargetNote string `json:"target_note,omitempty"`
	InputError string `json:"input_error,omitempty"`
	Automatic  bool   `json:"runs_automatically"`
	// Why says why the schedule does not run automatically.
	Why string `json:"why,omitempty"`
}

// List describes the schedules, by logical id.
func (s *Runner) List() []Info {
	out := make([]Info, 0, len(s.Schedules))
	for _, id := range s.ids() {
		sch := s.Schedules[id]
		_, why := s.automatic(sch)
		out = append(out, Info{Schedule: id, Expression: sch.Expression, State: sch.State, StateNote: sch.StateNote,
			Machine: sch.Target, TargetNote: sch.TargetNote, InputError: sch.InputError, Automatic: why == "", Why: why})
	}
	return out
}

func (s *Runner) ids() []string {
	ids := make([]string, 0, len(s.Schedules))
	for id := range s.Schedules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// automatic returns the period of a schedule Run fires, or why it does not.
func (s *Runner) automatic(sch samtemplate.Schedule) (time.Duration, string) {
	e, err := samtemplate.ParseExpression(sch.Expression)
	switch {
	case err != nil:
		return 0, err.Error()
	case sch.State != "ENABLED":
		return 0, "it is " + sch.State + "; fire it on demand"
	case e.Kind != "rate":
		return 0, e.Kind + "() schedules are not timed locally; fire them on demand"
	case sch.Target == "":
		return 0, sch.TargetNote
	case sch.InputError != "":
		return 0, "Target.Input: " + sch.InputError
	}
	return e.Every, ""
}

// Run fires each ENABLED rate() schedule every period until ctx ends, the
// first time one period after Run starts, as a newly created schedule does.
// Firings missed while the clock jumped ahead are skipped, not caught up.
func (s *Runner) Run(ctx context.Context) {
	log := s.Log
	type timed struct {
		id    string
		every time.Duration
		next  time.Time
	}
	var auto []*timed
	start := s.Clock.Now()
	for _, id := range s.ids() {
		every, why := s.automatic(s.Schedules[id])
		if why != "" {
			log.Info("schedule not run automatically", "schedule", id, "expression", s.Schedules[id].Expression, "why", why)
			continue
		}
		auto = append(auto, &timed{id: id, every: every, next: start.Add(every)})
		log.Info("schedule runs", "schedule", id, "every", every, "machine", s.Schedules[id].Target)
	}
	if len(auto) == 0 {
		return
	}
	for {
		soonest := auto[0].next
		for _, a := range auto[1:] {
			if a.next.Before(soonest) {
				soonest = a.next
			}
		}
		if err := s.Clock.Sleep(ctx, soonest.Sub(s.Clock.Now())); err != nil || ctx.Err() != nil {
			return
		}
		now := s.Clock.Now()
		for _, a := range auto {
			if a.next.After(now) {
				continue
			}
			if _, err := s.Fire(ctx, a.id, a.next); err != nil {
				if ctx.Err() != nil {
					return
				}
				log.ErrorContext(ctx, "schedule failed to fire", "schedule", a.id, "err", err)
			}
			a.next = a.next.Add(a.every)
			if !a.next.After(now) {
				missed := int64(now.Sub(a.next)/a.every) + 1
				a.next = a.next.Add(time.Duration(missed) * a.every)
				log.Warn("schedule skipped firings the clock jumped over", "schedule", a.id, "missed", missed)
			}
		}
	}
}

// Fire fires a schedule as if at scheduled time at, whatever its State and
// expression, and returns the name of the execution it started.
func (s *Runner) Fire(ctx context.Context, id string, at time.Time) (string, error) {
	sch, ok := s.Schedules[id]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNoSchedule, id)
	}
	if sch.Target == "" {
		return "", fmt.Errorf("schedule %s: %s: %w", id, sch.TargetNote, samtemplate.ErrCannotFire)
	}
	if !s.Engine.Runs(sch.Target) {
		return "", fmt.Errorf("schedule %s: the runtime does not run state machine %s: %w", id, sch.Target, samtemplate.ErrCannotFire)
	}
	name := uuid.New()
	if s.NewID != nil {
		name = s.NewID()
	}
	input, err := sch.Input(at, name)
	if err != nil {
		return "", err
	}
	if err := s.Engine.Start(ctx, sch.Target, name, input); err != nil {
		return "", fmt.Errorf("schedule %s: %w", id, err)
	}
	s.Log.InfoContext(ctx, "schedule fired", "schedule", id, "scheduled_time", at.UTC().Format(time.RFC3339), "machine", sch.Target, logs.Execution, name)
	return name, nil
}
