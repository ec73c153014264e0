package costsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/local/localarn"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/samtemplate"
)

// A Design is a shape of video_job's poll loop that make bench compares
// (docs/performance.md, "Cost and detection lag"). Edit rewrites the
// machine's definition, parsed from statemachine/video_job.asl.json with
// the template's substitutions made, before the run; it returns the
// definition of an Express workflow when the design runs its polls in
// one, which the job's machine then starts with
// arn:aws:states:::states:startExecution.sync:2 (roundResource). A nil
// Edit runs the file as it is.
type Design struct {
	Edit func(def map[string]any) (express map[string]any, err error)
}

// roundResource is how a Standard workflow runs an Express one and waits
// for its result. Express workflows themselves support only Request
// Response integrations, no .sync and no .waitForTaskToken
// (https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html),
// so the wait for the round's end must sit in the Standard workflow.
const roundResource = "arn:aws:states:::states:startExecution.sync:2"

// roundMachine is the Express round's ARN in the rewritten definition.
var roundMachine = localarn.StateMachine("PollRoundStateMachine")

// expressMemoryMiB is what an Express execution of a small definition
// with small payloads is billed: 50 MB plus the definition and payload,
// in 64 MB chunks (https://aws.amazon.com/step-functions/pricing/,
// pricing example 3).
const expressMemoryMiB = 64

// expressMaxDuration is an Express execution's longest run: five minutes.
const expressMaxDuration = 5 * time.Minute

// statesOf is the States object of def.
func statesOf(def map[string]any) (map[string]any, error) {
	s, ok := def["States"].(map[string]any)
	if !ok {
		return nil, errors.New("definition has no States")
	}
	return s, nil
}

func state(s map[string]any, name string) (map[string]any, error) {
	st, ok := s[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("definition has no state %q", name)
	}
	return st, nil
}

// Uncut puts back, for the rows that show what the machine cost before
// issue 17, every state a job entered then and no longer does, each as a
// no-op Pass or Choice in its place, so that the fixed-10-s baseline and
// "(a) before" are billed the transitions they were (CONTRACT-17b: cutting
// states must not also make the baseline cheaper):
//
//   - Registered?, the Choice that sent {"job_id"} to Resume and a request
//     to Register, before Register;
//   - Following? after Register, which sent a follower to Follow and a
//     parked job to WaitForSlot, and else, as Start (a Pass that shaped
//     Resume's output) did on the API's path, to
//   - the first Submit, its own Task then, now Register's work;
//   - Finish, Callback? and Ended? after a Poll that saw its job end,
//     where Poll now announces the job itself and Done? repeats
//     Callback?'s Choices; and Ended? after Callback? on the Finish
//     state's path, whose Choices Callback? now repeats.
//
// Lambda is billed as the machine is now: the Tasks put back are Passes.
func Uncut(def map[string]any) error {
	s, err := statesOf(def)
	if err != nil {
		return err
	}
	register, err := state(s, "Register")
	if err != nil {
		return err
	}
	s["Registered?"] = map[string]any{"Type": "Pass", "Next": def["StartAt"]}
	def["StartAt"] = "Registered?"
	s["Following?"] = map[string]any{"Type": "Choice", "Choices": []any{
		map[string]any{"Variable": "$.follow", "BooleanEquals": true, "Next": "Follow"},
		map[string]any{"Variable": "$.step.waiting", "BooleanEquals": true, "Next": "WaitForSlot"},
	}, "Default": "Submit (first)"}
	s["Submit (first)"] = map[string]any{"Type": "Pass", "Next": register["Next"]}
	register["Next"] = "Following?"

	done, err := state(s, "Done?")
	if err != nil {
		return err
	}
	// The rules (and Default) that end the execution after a Poll
	// announced the job go through Finish and Callback? again.
	ends := map[any]bool{"StartWebhook": true, "JobCompleted": true, "JobFailed": true}
	announced := 0
	for _, c := range done["Choices"].([]any) {
		if rule := c.(map[string]any); ends[rule["Next"]] {
			rule["Next"] = "Finish (Poll announced)"
			announced++
		}
	}
	if ends[done["Default"]] {
		done["Default"] = "Finish (Poll announced)"
		announced++
	}
	if announced == 0 {
		return errors.New("state Done? does not end the execution after a Poll's announcement")
	}
	s["Finish (Poll announced)"] = map[string]any{"Type": "Pass", "Next": "Callback?"}

	callback, err := state(s, "Callback?")
	if err != nil {
		return err
	}
	choices := callback["Choices"].([]any)
	if len(choices) < 2 {
		return errors.New("state Callback? does not repeat the Choices of Ended?")
	}
	callback["Choices"], callback["Default"] = choices[:1], "Ended?"
	return nil
}

// BeforeIssue17 runs the machine as it stood before issue 17 (Uncut, and
// ShortPolls' Poll timeout): the design the fixed-10-s baseline is held to.
func BeforeIssue17() Design {
	return Design{Edit: Both(Uncut, ShortPolls)}
}

// CutStates is how many states a job that ended by a Poll's announcement,
// the usual job, enters fewer than before issue 17 (Uncut puts them back):
// Registered?, Start or Following?, Submit, Finish, Callback?, Ended?. A
// job that ends by Submit still passes Finish and Callback?: four.
const CutStates = 6

// ExpressRounds moves the wait-poll loop (WaitToPoll, Poll, Done?) into an
// Express workflow that the job's machine runs in rounds (PollRound,
// .sync:2); a round ends once its waits add up to waits seconds, which
// with Poll's windows (at most 30 s each, only while a generation is
// likely to end) keeps it well within Express's 5 minutes. Polling is safe to run more than once, which
// an Express workflow may do (at least once); Submit stays in the Standard
// workflow, which runs each state exactly once.
func ExpressRounds(waits int) func(def map[string]any) (map[string]any, error) {
	return func(def map[string]any) (map[string]any, error) {
		s, err := statesOf(def)
		if err != nil {
			return nil, err
		}
		wait, err := state(s, "WaitToPoll")
		if err != nil {
			return nil, err
		}
		poll, err := state(s, "Poll")
		if err != nil {
			return nil, err
		}
		done, err := state(s, "Done?")
		if err != nil {
			return nil, err
		}
		// The round: the job's own loop, with the execution's name passed
		// in, no Catch (a failed round fails PollRound, whose Catch is
		// Poll's) and a bound on its turns.
		rpoll := clone(poll)
		params := rpoll["Parameters"].(map[string]any)
		params["execution.$"] = "$.execution"
		catch := rpoll["Catch"]
		delete(rpoll, "Catch")
		// The round's Done? takes another turn where the job's went on
		// polling (WaitToPoll) and ends the round wherever else it went.
		rdone := clone(done)
		for _, c := range rdone["Choices"].([]any) {
			rule := c.(map[string]any)
			rule["Next"] = map[bool]string{true: "Turns?", false: "RoundEnd"}[rule["Next"] == "WaitToPoll"]
		}
		rdone["Default"] = map[bool]string{true: "Turns?", false: "RoundEnd"}[rdone["Default"] == "WaitToPoll"]
		express := map[string]any{
			"Comment": "One round of a job's polls (an Express workflow run by video_job's PollRound).",
			"StartAt": "WaitToPoll",
			"States": map[string]any{
				"WaitToPoll": clone(wait),
				"Poll":       rpoll,
				"Done?":      rdone,
				"Turns?": map[string]any{"Type": "Choice", "Choices": []any{map[string]any{
					"Variable": "$.waited", "NumericGreaterThanEquals": waits, "Next": "RoundEnd"}}, "Default": "NextTurn"},
				"NextTurn": map[string]any{"Type": "Pass", "Next": "WaitToPoll", "Parameters": map[string]any{
					"job_id.$": "$.job_id", "execution.$": "$.execution", "step.$": "$.step",
					"waited.$": "States.MathAdd($.waited, $.step.wait_seconds)"}},
				"RoundEnd": map[string]any{"Type": "Succeed"},
			},
		}
		delete(s, "WaitToPoll")
		delete(s, "Poll")
		s["PollRound"] = map[string]any{
			"Type": "Task", "Resource": roundResource,
			"Parameters": map[string]any{"StateMachineArn": roundMachine, "Input": map[string]any{
				"job_id.$": "$.job_id", "execution.$": "$$.Execution.Name", "step.$": "$.step", "waited": 0}},
			"ResultSelector": map[string]any{"job_id.$": "$.Output.job_id", "follow": false, "step.$": "$.Output.step"},
			"ResultPath":     "$",
			"Catch":          catch,
			"Next":           "Done?",
		}
		// Wherever the job's machine went on polling, it runs a round.
		for _, name := range []string{"Done?", "Submitted?"} {
			st, err := state(s, name)
			if err != nil {
				return nil, err
			}
			for _, c := range st["Choices"].([]any) {
				if rule := c.(map[string]any); rule["Next"] == "WaitToPoll" {
					rule["Next"] = "PollRound"
				}
			}
			if st["Default"] == "WaitToPoll" {
				st["Default"] = "PollRound"
			}
		}
		return express, nil
	}
}

// ShortPolls undoes the long Polls video_job is built for
// (pollpolicy.LongPoll, windows of up to 10 minutes within a Poll function
// of 900 s): Poll's Task gets back the TimeoutSeconds of a Poll that asks
// for at most a short window (pollpolicy.Learning), as in the designs that
// wait between Polls, in the Standard workflow (a) or in Express rounds
// (b). Design (c) is the file as it is.
func ShortPolls(def map[string]any) error {
	s, err := statesOf(def)
	if err != nil {
		return err
	}
	poll, err := state(s, "Poll")
	if err != nil {
		return err
	}
	poll["TimeoutSeconds"] = 250
	return nil
}

// Both applies edits in turn.
func Both(edits ...func(map[string]any) error) func(map[string]any) (map[string]any, error) {
	return func(def map[string]any) (map[string]any, error) {
		for _, e := range edits {
			if err := e(def); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	return c
}

// edit applies d to the definition text.
func (d Design) edit(text string) (string, *asl.Machine, error) {
	if d.Edit == nil {
		return text, nil, nil
	}
	var def map[string]any
	if err := json.Unmarshal([]byte(text), &def); err != nil {
		return "", nil, err
	}
	express, err := d.Edit(def)
	if err != nil {
		return "", nil, fmt.Errorf("design: %w", err)
	}
	b, err := json.Marshal(def)
	if err != nil {
		return "", nil, err
	}
	var round *asl.Machine
	if express != nil {
		eb, err := json.Marshal(express)
		if err != nil {
			return "", nil, err
		}
		if round, err = asl.Parse(eb); err != nil {
			return "", nil, fmt.Errorf("design: the Express round: %w", err)
		}
	}
	return string(b), round, nil
}

// round is d's Express round with the template's substitutions, or nil.
func (d Design) round(template string) (*asl.Machine, error) {
	if d.Edit == nil {
		return nil, nil
	}
	t, err := samtemplate.Load(template)
	if err != nil {
		return nil, err
	}
	sm, ok := t.StateMachines[machineID]
	if !ok {
		return nil, fmt.Errorf("%s has no %s", template, machineID)
	}
	def, err := os.ReadFile(sm.Definition)
	if err != nil {
		return nil, err
	}
	text := string(def)
	for k, sub := range sm.Substitutions {
		text = strings.ReplaceAll(text, "${"+k+"}", sub.Value())
	}
	_, round, err := d.edit(text)
	return round, err
}

// runRound runs one Express round for a PollRound Task and bills it as
// Express is billed: a request, and its duration rounded up to 100 ms at
// 64 MB (https://aws.amazon.com/step-functions/pricing/); its states cost
// no transitions. Its functions are billed as any invocation.
func (r *run) runRound(ctx context.Context, input json.RawMessage) (json.RawMessage, error) {
	var req struct {
		StateMachineArn string
		Input           json.RawMessage
	}
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, err
	}
	r.rounds++
	name := fmt.Sprintf("round-%07d", r.rounds)
	began := r.clk.Now()
	opts := asl.Options{Clock: r.clk, Invoker: roundInvoker{r}, Rand: r.rand.Float64}
	exe := asl.Execution{ID: localarn.Execution("PollRoundStateMachine", name), Name: name, Input: req.Input, StartTime: began}
	res, err := r.round.Execute(ctx, exe, nil, opts)
	took := r.clk.Now().Sub(began)
	r.usage.ExpressRequests++
	r.usage.ExpressGBSeconds += math.Ceil(took.Seconds()*10) / 10 * expressMemoryMiB / 1024
	if took > expressMaxDuration {
		r.errs = append(r.errs, fmt.Errorf("express round %s ran %s, over Express's 5 minutes", name, took))
	}
	if err != nil {
		var se *asl.Error
		if errors.As(err, &se) {
			return nil, &asl.Error{Name: "States.TaskFailed", Cause: se.Name + ": " + se.Cause}
		}
		return nil, err
	}
	return json.Marshal(map[string]any{"Output": res.Output, "Status": "SUCCEEDED"})
}

// roundInvoker runs an Express round's Tasks: billed functions, no
// transitions.
type roundInvoker struct{ r *run }

func (i roundInvoker) Invoke(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error) {
	return i.r.Invoke(ctx, resource, input)
}

// Designs are the shapes of the poll loop make bench compares, each with
// the policy it runs: (a) today's Standard wait-poll loop, (b) the poll
// loop in an Express workflow run in rounds, (c) longer waits inside the
// Poll function, each on the machine as it stood before issue 17 (Uncut)
// and as it is.
func Designs() []NamedDesign {
	// (a) is the adaptive schedule that waited between Polls; (b) polls as
	// it does but with tail waits of at most 5 s (Express bills the
	// waits' seconds, not their turns) and asks every 1.5 s in its
	// windows; (c) is pollpolicy.LongPoll, what video_job runs.
	std := Policy{Name: "adaptive, waits between Polls", New: pollpolicy.Learning}
	express := Policy{Name: "adaptive, Express rounds", New: func() pollpolicy.Policy {
		p := pollpolicy.Learning()
		p.Adaptive.Every, p.Adaptive.MaxTail = 1500*time.Millisecond, 5*time.Second
		return p
	}}
	long := Policy{Name: "adaptive, long Polls", New: pollpolicy.LongPoll}
	expressUncut := func(def map[string]any) (map[string]any, error) {
		if err := Uncut(def); err != nil {
			return nil, err
		}
		if err := ShortPolls(def); err != nil {
			return nil, err
		}
		return ExpressRounds(150)(def)
	}
	expressCut := func(def map[string]any) (map[string]any, error) {
		if err := ShortPolls(def); err != nil {
			return nil, err
		}
		return ExpressRounds(150)(def)
	}
	return []NamedDesign{
		{Name: "(a) Standard wait-poll loop (before)", Policy: std, Design: BeforeIssue17()},
		{Name: "(a) Standard loop, fixed states cut", Policy: std, Design: Design{Edit: Both(ShortPolls)}},
		{Name: "(b) Express poll rounds", Policy: express, Design: Design{Edit: expressUncut}},
		{Name: "(b) Express poll rounds, fixed states cut", Policy: express, Design: Design{Edit: expressCut}},
		{Name: "(c) waits inside Poll", Policy: long, Design: Design{Edit: Both(Uncut)}},
		{Name: "(c) waits inside Poll, fixed states cut", Policy: long},
	}
}

// NamedDesign is one row of the design table.
type NamedDesign struct {
	Name   string
	Policy Policy
	Design Design
}
