package states

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/local/localarn"
)

// The Step Functions service integrations that start a child execution.
const (
	StartExecution      = "arn:aws:states:::states:startExecution"
	StartExecutionSync  = StartExecution + ".sync"
	StartExecutionSync2 = StartExecution + ".sync:2"
)

// Services is the Invoker of the local runtime's state machines: it runs the
// Step Functions service integrations that start child executions on Engine
// itself and hands every other resource (Lambda function ARNs) to Functions.
// It holds no state of its own, so Map iterations may share it.
type Services struct {
	// Engine runs the child executions. It is set after NewEngine, which
	// takes Services in its options, and before any execution runs.
	Engine    *Engine
	Functions asl.Invoker
	// NewName names a child started without a Name; nil means a random
	// UUID, as Step Functions names it.
	NewName func() string
}

// startParams are the Parameters of a startExecution Task.
type startParams struct {
	StateMachineArn string          `json:"StateMachineArn"`
	Input           json.RawMessage `json:"Input"`
	Name            *string         `json:"Name"`
}

// Invoke implements asl.Invoker.
func (s *Services) Invoke(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error) {
	switch resource {
	case StartExecution, StartExecutionSync, StartExecutionSync2:
		return s.startExecution(ctx, resource, input)
	}
	if s.Functions == nil {
		return nil, &asl.Error{Name: "States.Runtime", Cause: "the local runtime cannot run resource " + resource}
	}
	return s.Functions.Invoke(ctx, resource, input)
}

func (s *Services) startExecution(ctx context.Context, resource string, params json.RawMessage) (json.RawMessage, error) {
	var p startParams
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, &asl.Error{Name: "States.Runtime", Cause: fmt.Sprintf("the Parameters of %s must be an object with StateMachineArn, Input and Name: %v", resource, err)}
	}
	machine, err := s.machine(p.StateMachineArn)
	if err != nil {
		return nil, err
	}
	input, err := executionInput(p.Input)
	if err != nil {
		return nil, err
	}
	var (
		name string
		exe  Execution
	)
	switch {
	case p.Name != nil:
		name = *p.Name
	case s.NewName != nil:
		name = s.NewName()
	}
	if err := ValidExecutionName(name); name != "" && err != nil {
		return nil, &asl.Error{Name: "StepFunctions.InvalidNameException", Cause: err.Error()}
	}
	// A name is never reused: starting it again with the same input is the
	// running child, and fails once that has closed, as in AWS; a parent
	// resumed after a restart finds the child it started (Engine.start),
	// named or not (Engine.startUnnamed).
	if name == "" {
		exe, err = s.Engine.startUnnamed(machine, input, parentOf(ctx))
		name = exe.Name
	} else {
		exe, _, err = s.Engine.start(machine, name, input, parentOf(ctx), false)
	}
	if errors.Is(err, ErrExecutionExists) {
		return nil, &asl.Error{Name: "StepFunctions.ExecutionAlreadyExistsException",
			Cause: fmt.Sprintf("Execution Already Exists: '%s'", localarn.Execution(machine, name))}
	}
	if err != nil {
		return nil, fmt.Errorf("start child %s: %w", name, err)
	}
	if resource == StartExecution {
		return asl.NestedResult(resource, nested(exe))
	}
	exe, err = s.Engine.Wait(ctx, machine, name)
	if ctx.Err() != nil {
		// A stopped or timed-out parent stops its .sync child, as in AWS;
		// an engine shutting down leaves both to resume on restart.
		if s.Engine.ctx.Err() == nil {
			s.Engine.Stop(machine, name, "the parent's task ended: "+context.Cause(ctx).Error())
		}
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("wait for child %s: %w", name, err)
	}
	if exe.Status == Running {
		return nil, fmt.Errorf("child %s is RUNNING but not in this process", localarn.Execution(machine, name))
	}
	return asl.NestedResult(resource, nested(exe))
}

// machine maps a state machine ARN to the logical id of a machine the
// engine runs.
func (s *Services) machine(arn string) (string, error) {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":stateMachine:") {
		return "", &asl.Error{Name: "StepFunctions.InvalidArnException", Cause: fmt.Sprintf("Invalid Arn: '%s'", arn)}
	}
	id, ok := localarn.StateMachineID(arn)
	if !ok || s.Engine.machines[id] == nil {
		return "", &asl.Error{Name: "StepFunctions.StateMachineDoesNotExistException",
			Cause: fmt.Sprintf("State Machine Does Not Exist: '%s' (local state machine ARNs are %s<LogicalID>)", arn, localarn.StateMachinePrefix)}
	}
	return id, nil
}

// executionInput is the child's input from the Input parameter, which AWS
// takes either as a JSON value or as a string holding JSON text.
func executionInput(in json.RawMessage) (json.RawMessage, error) {
	if len(in) == 0 || string(in) == "null" {
		return json.RawMessage("{}"), nil
	}
	if in[0] == '"' {
		var text string
		if err := json.Unmarshal(in, &text); err != nil {
			return nil, fmt.Errorf("input string: %w", err)
		}
		if !json.Valid([]byte(text)) {
			return nil, &asl.Error{Name: "StepFunctions.InvalidExecutionInputException",
				Cause: fmt.Sprintf("Invalid State Machine Execution Input: the Input string is not JSON text: %.100q", text)}
		}
		in = json.RawMessage(text)
	}
	return asl.CompactInput(in)
}

// nested describes an execution as the StartExecution integrations see it.
func nested(exe Execution) asl.NestedExecution {
	n := asl.NestedExecution{
		ExecutionArn:    localarn.Execution(exe.Machine, exe.Name),
		StateMachineArn: localarn.StateMachine(exe.Machine),
		Name:            exe.Name,
		Input:           exe.Input,
		StartDate:       exe.StartTime,
		Status:          exe.Status,
		Output:          exe.Output,
	}
	if exe.StopTime != nil {
		n.StopDate = *exe.StopTime
	}
	if exe.Error != nil {
		n.Error, n.Cause = exe.Error.Name, exe.Error.Cause
		// Step Functions gives an execution that ran out of time its own
		// status, not FAILED.
		if exe.Status == Failed && exe.Error.Name == "States.Timeout" {
			n.Status = "TIMED_OUT"
		}
	}
	return n
}

// ValidExecutionName checks a name as StartExecution does: 1 to 80
// characters, none of them white space, a control character or one of
// < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /.
func ValidExecutionName(name string) error {
	if name == "" || len([]rune(name)) > 80 {
		return fmt.Errorf("invalid execution name %.100q: it must have 1 to 80 characters", name)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return fmt.Errorf("invalid execution name %q: %q is not allowed", name, r)
		}
	}
	return nil
}
