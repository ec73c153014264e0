// Package localarn forms the ARNs of the local runtime's account (region
// "local", account 000000000000), so state machine resources and execution
// ids look like the deployed ones. The logical id of a template resource
// stands for its deployed, stage-dependent name.
package localarn

import "strings"

// Prefixes of the local ARNs; a logical id follows each.
const (
	FunctionPrefix     = "arn:aws:lambda:local:000000000000:function:"
	StateMachinePrefix = "arn:aws:states:local:000000000000:stateMachine:"
	executionPrefix    = "arn:aws:states:local:000000000000:execution:"
	schedulePrefix     = "arn:aws:scheduler:local:000000000000:schedule/default/"
)

// Function is the local ARN of a function's logical id.
func Function(logicalID string) string { return FunctionPrefix + logicalID }

// StateMachine is the local ARN of a state machine's logical id.
func StateMachine(logicalID string) string { return StateMachinePrefix + logicalID }

// Execution is the local ARN of an execution, $$.Execution.Id in it.
func Execution(machine, name string) string { return executionPrefix + machine + ":" + name }

// Schedule is the local ARN of a schedule in the default group.
func Schedule(logicalID string) string { return schedulePrefix + logicalID }

// FunctionID returns the logical id a local function ARN names.
func FunctionID(arn string) (string, bool) { return strings.CutPrefix(arn, FunctionPrefix) }

// StateMachineID returns the logical id a local state machine ARN names.
func StateMachineID(arn string) (string, bool) { return strings.CutPrefix(arn, StateMachinePrefix) }
