package samtemplate

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/local/localarn"
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

// Errors of Schedule.Input and ParseExpression; a scheduler that cannot
// fire a schedule wraps ErrCannotFire too.
var (
	ErrCannotFire  = errors.New("schedule cannot fire locally")
	ErrBadSchedule = errors.New("invalid schedule expression")
)

// Input is the execution input the schedule sends when it fires at
// scheduledTime as executionID: Target.Input with EventBridge Scheduler's
// context attributes filled in. The result must be JSON, as Step Functions
// refuses anything else.
func (s Schedule) Input(scheduledTime time.Time, executionID string) (json.RawMessage, error) {
	if s.InputError != "" {
		return nil, fmt.Errorf("schedule %s: Target.Input: %s: %w", s.LogicalID, s.InputError, ErrCannotFire)
	}
	text := s.fill(scheduledTime, executionID)
	out, err := asl.CompactInput(json.RawMessage(text))
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
		"<aws.scheduler.schedule-arn>", localarn.Schedule(s.LogicalID),
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
	if _, err := ParseExpression(expr); err != nil {
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
		if m, ok := localarn.StateMachineID(v); err == nil && ok && l.types[m] == typeStateMachine {
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
			if _, err := asl.CompactInput(json.RawMessage(s.fill(time.Unix(0, 0), "00000000-0000-4000-8000-000000000000"))); err != nil {
				s.InputError = fmt.Sprintf("not JSON once the <aws.scheduler.…> attributes are filled in: %v", err)
			}
		}
	}
	return s, nil
}

// An Expression is a parsed ScheduleExpression.
type Expression struct {
	Kind  string        // rate, cron or at
	Every time.Duration // for rate
}

// ParseExpression checks an expression as EventBridge Scheduler does:
// rate(value unit) with a positive value and a singular unit exactly for 1,
// cron(six fields) and at(yyyy-mm-ddThh:mm:ss). Only rate() expressions
// are timed locally.
func ParseExpression(s string) (Expression, error) {
	kind, rest, ok := strings.Cut(s, "(")
	body, closed := strings.CutSuffix(rest, ")")
	if !ok || !closed {
		return Expression{}, fmt.Errorf("%w %q: want rate(…), cron(…) or at(…)", ErrBadSchedule, s)
	}
	switch kind {
	case "rate":
		f := strings.Fields(body)
		if len(f) != 2 {
			return Expression{}, fmt.Errorf("%w %q: want rate(<value> <unit>), e.g. rate(5 minutes)", ErrBadSchedule, s)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 {
			return Expression{}, fmt.Errorf("%w %q: the value must be a positive whole number", ErrBadSchedule, s)
		}
		units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
		unit, plural := strings.CutSuffix(f[1], "s")
		d, ok := units[unit]
		if !ok {
			return Expression{}, fmt.Errorf("%w %q: the unit must be minute(s), hour(s) or day(s)", ErrBadSchedule, s)
		}
		if plural != (n > 1) {
			return Expression{}, fmt.Errorf("%w %q: the unit is singular for 1 and plural otherwise (rate(1 %s), rate(%d %ss))", ErrBadSchedule, s, unit, max(n, 2), unit)
		}
		return Expression{Kind: kind, Every: time.Duration(n) * d}, nil
	case "cron":
		if f := strings.Fields(body); len(f) != 6 {
			return Expression{}, fmt.Errorf("%w %q: cron() takes six fields (minutes hours day-of-month month day-of-week year), got %d", ErrBadSchedule, s, len(f))
		}
		return Expression{Kind: kind}, nil
	case "at":
		if _, err := time.Parse("2006-01-02T15:04:05", body); err != nil {
			return Expression{}, fmt.Errorf("%w %q: at() takes yyyy-mm-ddThh:mm:ss", ErrBadSchedule, s)
		}
		return Expression{Kind: kind}, nil
	}
	return Expression{}, fmt.Errorf("%w %q: want rate(…), cron(…) or at(…)", ErrBadSchedule, s)
}
