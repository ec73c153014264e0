package local

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/logs"
	"go.yaml.in/yaml/v3"
)

// Schedule is an AWS::Scheduler::Schedule. Locally only schedules whose
// target is a state machine of the template can fire.
type Schedule struct {
	LogicalID  string
	Expression string // ScheduleExpression: rate(…), cron(…) or at(…)
	// State is ENABLED or DISABLED. A value the local run cannot resolve is
	// taken as DISABLED, and StateNote says why.
	State     string
	StateNote string
	// Target is the logical id of the state machine the schedule starts;
	// when the target is anything else it is "" and TargetNote says what.
	Target     string
	TargetNote string
	// InputTemplate is Target.Input with the template's ${…} substituted,
	// still holding the scheduler's <aws.scheduler.…> attributes; "" means
	// no Input. InputError says why it could not be resolved.
	InputTemplate string
	InputError    string
}

// Errors of Scheduler.Fire.
var (
	ErrNoSchedule  = errors.New("no such schedule")
	ErrCannotFire  = errors.New("schedule cannot fire locally")
	errBadSchedule = errors.New("invalid schedule expression")
)

// ScheduleARN is the local ARN of a schedule in the default group.
func ScheduleARN(logicalID string) string {
	return "arn:aws:scheduler:local:000000000000:schedule/default/" + logicalID
}

// Input is the execution input the schedule sends when it fires at
// scheduledTime as executionID: Target.Input with EventBridge Scheduler's
// context attributes filled in. The result must be JSON, as Step Functions
// refuses anything else.
func (s Schedule) Input(scheduledTime time.Time, executionID string) (json.RawMessage, error) {
	if s.InputError != "" {
		return nil, fmt.Errorf("schedule %s: Target.Input: %s: %w", s.LogicalID, s.InputError, ErrCannotFire)
	}
	text := s.fill(scheduledTime, executionID)
	out, err := compact(json.RawMessage(text))
	if err != nil {
		return nil, fmt.Errorf("schedule %s: Target.Input is not JSON once filled in (%v): %.200s: %w", s.LogicalID, err, text, ErrCannotFire)
	}
	return out, nil
}

// fill replaces the context attributes in the input text.
func (s Schedule) fill(scheduledTime time.Time, executionID string) string {
	text := s.InputTemplate
	if strings.TrimSpace(text) == "" {
		text = "{}"
	}
	return strings.NewReplacer(
		"<aws.scheduler.scheduled-time>", scheduledTime.UTC().Format(time.RFC3339),
		"<aws.scheduler.execution-id>", executionID,
		"<aws.scheduler.attempt-number>", "1",
		"<aws.scheduler.schedule-arn>", ScheduleARN(s.LogicalID),
	).Replace(text)
}

// schedule reads an AWS::Scheduler::Schedule. Only what would fail to
// deploy (a bad expression, a reference to nothing) is an error; what a
// local run cannot resolve is recorded on the schedule instead, so one odd
// schedule does not stop the runtime.
func (l *loader) schedule(id string, props *yaml.Node) (Schedule, error) {
	s := Schedule{LogicalID: id, State: "ENABLED"}
	expr, err := l.value(child(props, "ScheduleExpression"), 0)
	if err != nil {
		return s, fmt.Errorf("ScheduleExpression: %w", err)
	}
	if _, err := parseExpression(expr); err != nil {
		return s, err
	}
	s.Expression = expr

	if n := child(props, "State"); n != nil {
		v, err := l.value(n, 0)
		switch {
		case err != nil:
			s.State, s.StateNote = "DISABLED", fmt.Sprintf("State cannot be resolved locally (%v); taken as DISABLED", err)
		case v != "ENABLED" && v != "DISABLED":
			s.State, s.StateNote = "DISABLED", fmt.Sprintf("State is %q, not ENABLED or DISABLED; taken as DISABLED", v)
		default:
			s.State = v
		}
	}

	target := child(props, "Target")
	arn := child(target, "Arn")
	if arn == nil {
		return s, errors.New("no Target.Arn")
	}
	r, isRef, err := ref(arn)
	switch {
	case err != nil:
		return s, fmt.Errorf("Target.Arn: %w", err)
	case isRef && l.types[r.id] == "" && !l.declared[r.id]:
		return s, fmt.Errorf("Target.Arn names unknown resource %s", r.id)
	case isRef:
		sub, err := l.resolve(r)
		switch {
		case err != nil:
			s.TargetNote = fmt.Sprintf("Target.Arn: %v", err)
		case sub.StateMachine != "":
			s.Target = sub.StateMachine
		default:
			s.TargetNote = fmt.Sprintf("the target %s (%s) is not a state machine; only state machine targets run locally", r.id, l.types[r.id])
		}
	default:
		v, err := l.value(arn, 0)
		if m, ok := strings.CutPrefix(v, machineARNPrefix); err == nil && ok && l.types[m] == typeStateMachine {
			s.Target = m
		} else {
			s.TargetNote = fmt.Sprintf("the target %s is not a state machine of the template; only those run locally", cmp.Or(v, "(unresolved)"))
		}
	}

	if n := child(target, "Input"); n != nil {
		v, err := l.value(n, 0)
		if err != nil {
			s.InputError = err.Error()
		} else {
			s.InputTemplate = v
			// Checked now, so a bad Input shows when listing, not only when
			// the schedule fires.
			if _, err := compact(json.RawMessage(s.fill(time.Unix(0, 0), "00000000-0000-4000-8000-000000000000"))); err != nil {
				s.InputError = fmt.Sprintf("not JSON once the <aws.scheduler.…> attributes are filled in: %v", err)
			}
		}
	}
	return s, nil
}

// An expression is a parsed ScheduleExpression.
type expression struct {
	kind  string        // rate, cron or at
	every time.Duration // for rate
}

// parseExpression checks an expression as EventBridge Scheduler does:
// rate(value unit) with a positive value and a singular unit exactly for 1,
// cron(six fields) and at(yyyy-mm-ddThh:mm:ss). Only rate() expressions
// are timed locally.
func parseExpression(s string) (expression, error) {
	kind, rest, ok := strings.Cut(s, "(")
	body, closed := strings.CutSuffix(rest, ")")
	if !ok || !closed {
		return expression{}, fmt.Errorf("%w %q: want rate(…), cron(…) or at(…)", errBadSchedule, s)
	}
	switch kind {
	case "rate":
		f := strings.Fields(body)
		if len(f) != 2 {
			return expression{}, fmt.Errorf("%w %q: want rate(<value> <unit>), e.g. rate(5 minutes)", errBadSchedule, s)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 {
			return expression{}, fmt.Errorf("%w %q: the value must be a positive whole number", errBadSchedule, s)
		}
		units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
		unit, plural := strings.CutSuffix(f[1], "s")
		d, ok := units[unit]
		if !ok {
			return expression{}, fmt.Errorf("%w %q: the unit must be minute(s), hour(s) or day(s)", errBadSchedule, s)
		}
		if plural != (n > 1) {
			return expression{}, fmt.Errorf("%w %q: the unit is singular for 1 and plural otherwise (rate(1 %s), rate(%d %ss))", errBadSchedule, s, unit, max(n, 2), unit)
		}
		return expression{kind: kind, every: time.Duration(n) * d}, nil
	case "cron":
		if f := strings.Fields(body); len(f) != 6 {
			return expression{}, fmt.Errorf("%w %q: cron() takes six fields (minutes hours day-of-month month day-of-week year), got %d", errBadSchedule, s, len(f))
		}
		return expression{kind: kind}, nil
	case "at":
		if _, err := time.Parse("2006-01-02T15:04:05", body); err != nil {
			return expression{}, fmt.Errorf("%w %q: at() takes yyyy-mm-ddThh:mm:ss", errBadSchedule, s)
		}
		return expression{kind: kind}, nil
	}
	return expression{}, fmt.Errorf("%w %q: want rate(…), cron(…) or at(…)", errBadSchedule, s)
}

// Scheduler plays EventBridge Scheduler for the template's schedules: Run
// fires the ENABLED rate() schedules on the virtual clock, and Fire fires
// any schedule on demand. cron() and at() schedules are not timed locally:
// fire them with Fire (POST /local/schedules/{schedule}/fire).
type Scheduler struct {
	Schedules map[string]Schedule
	Engine    *Engine
	Clock     asl.Clock
	Log       *slog.Logger // required
	// NewID names each firing (its <aws.scheduler.execution-id> and the
	// execution's name); nil means a random UUID.
	NewID func() string
}

// ScheduleInfo describes a schedule for the admin routes.
type ScheduleInfo struct {
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
func (s *Scheduler) List() []ScheduleInfo {
	out := make([]ScheduleInfo, 0, len(s.Schedules))
	for _, id := range s.ids() {
		sch := s.Schedules[id]
		_, why := s.automatic(sch)
		out = append(out, ScheduleInfo{Schedule: id, Expression: sch.Expression, State: sch.State, StateNote: sch.StateNote,
			Machine: sch.Target, TargetNote: sch.TargetNote, InputError: sch.InputError, Automatic: why == "", Why: why})
	}
	return out
}

func (s *Scheduler) ids() []string {
	ids := make([]string, 0, len(s.Schedules))
	for id := range s.Schedules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// automatic returns the period of a schedule Run fires, or why it does not.
func (s *Scheduler) automatic(sch Schedule) (time.Duration, string) {
	e, err := parseExpression(sch.Expression)
	switch {
	case err != nil:
		return 0, err.Error()
	case sch.State != "ENABLED":
		return 0, "it is " + sch.State + "; fire it on demand"
	case e.kind != "rate":
		return 0, e.kind + "() schedules are not timed locally; fire them on demand"
	case sch.Target == "":
		return 0, sch.TargetNote
	case sch.InputError != "":
		return 0, "Target.Input: " + sch.InputError
	}
	return e.every, ""
}

// Run fires each ENABLED rate() schedule every period until ctx ends, the
// first time one period after Run starts, as a newly created schedule does.
// Firings missed while the clock jumped ahead are skipped, not caught up.
func (s *Scheduler) Run(ctx context.Context) {
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
func (s *Scheduler) Fire(ctx context.Context, id string, at time.Time) (string, error) {
	sch, ok := s.Schedules[id]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNoSchedule, id)
	}
	if sch.Target == "" {
		return "", fmt.Errorf("schedule %s: %s: %w", id, sch.TargetNote, ErrCannotFire)
	}
	if s.Engine.machines[sch.Target] == nil {
		return "", fmt.Errorf("schedule %s: the runtime does not run state machine %s: %w", id, sch.Target, ErrCannotFire)
	}
	name := newUUID()
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
