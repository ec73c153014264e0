package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// NestedExecution is what a caller knows of a child execution started by a
// Task state whose Resource is one of the StartExecution integrations:
//
//	arn:aws:states:::states:startExecution        starts the child and goes on
//	arn:aws:states:::states:startExecution.sync   waits; Input and Output as JSON text
//	arn:aws:states:::states:startExecution.sync:2 waits; Input and Output as JSON values
//
// The interpreter runs these like any Task: the Invoker receives the
// resource and the effective Parameters ({"StateMachineArn", "Input",
// "Name"}), starts the child, waits for it unless the resource is the plain
// one, and passes what it learnt to NestedResult to answer as AWS does.
type NestedExecution struct {
	ExecutionArn    string
	StateMachineArn string
	Name            string
	Input           json.RawMessage // the child's input; empty means {}
	StartDate       time.Time

	// The rest describe the finished child, for .sync and .sync:2.
	Status   string          // SUCCEEDED, FAILED, TIMED_OUT or ABORTED
	Output   json.RawMessage // when Status is SUCCEEDED
	Error    string          // when it is not
	Cause    string
	StopDate time.Time
}

// NestedResult returns the task result AWS Step Functions gives for a child
// execution started through resource, or the task failure it reports.
//
// For startExecution the result is the StartExecution response,
//
//	{"ExecutionArn": "…", "StartDate": "2024-05-01T12:00:00.000Z"}
//
// (AWS adds the SdkHttpMetadata and SdkResponseMetadata of its HTTP call,
// which a local run has no counterpart for and leaves out).
//
// For .sync and .sync:2 it waits for the child, and a SUCCEEDED child gives
// the DescribeExecution response with capitalised keys:
//
//	{"ExecutionArn": "…", "Input": …, "InputDetails": {"Included": true},
//	 "Name": "…", "Output": …, "OutputDetails": {"Included": true},
//	 "StartDate": "…", "StateMachineArn": "…", "Status": "SUCCEEDED",
//	 "StopDate": "…"}
//
// where .sync gives Input and Output as strings of JSON text and .sync:2 as
// the JSON values themselves. Dates are rendered as AWS renders them in
// these results, UTC with milliseconds. Any other Status fails the task
// with a *Error named States.TaskFailed whose Cause is that same object,
// as JSON text, without Output but with the child's "Error" and "Cause".
//
// NestedResult returns a plain error when resource is not one of the three
// or exe lacks what the resource needs.
func NestedResult(resource string, exe NestedExecution) (json.RawMessage, error) {
	pattern, ok := startExecutionPattern(resource)
	if !ok {
		return nil, fmt.Errorf("asl: nested result: %q is not a StartExecution resource (plain, .sync or .sync:2)", resource)
	}
	if exe.ExecutionArn == "" {
		return nil, fmt.Errorf("asl: nested result: ExecutionArn is required")
	}
	if pattern == "" {
		return encode(struct {
			ExecutionArn string `json:"ExecutionArn"`
			StartDate    string `json:"StartDate"`
		}{exe.ExecutionArn, formatTime(exe.StartDate)})
	}

	input, err := compactOr(exe.Input, "{}")
	if err != nil {
		return nil, fmt.Errorf("asl: nested result: Input: %w", err)
	}
	d := describeOutput{
		ExecutionArn:    exe.ExecutionArn,
		InputDetails:    details{Included: true},
		Name:            exe.Name,
		StartDate:       formatTime(exe.StartDate),
		StateMachineArn: exe.StateMachineArn,
		Status:          exe.Status,
		StopDate:        formatTime(exe.StopDate),
	}
	// .sync:2 differs from .sync only in giving the JSON values, not text.
	asText := pattern == ".sync"
	d.Input = jsonField(input, asText)
	switch exe.Status {
	case "SUCCEEDED":
		output, err := compactOr(exe.Output, "null")
		if err != nil {
			return nil, fmt.Errorf("asl: nested result: Output: %w", err)
		}
		d.Output = jsonField(output, asText)
		d.OutputDetails = &details{Included: true}
		return encode(d)
	case "FAILED", "TIMED_OUT", "ABORTED":
		d.Error, d.Cause = exe.Error, exe.Cause
		cause, err := encode(d)
		if err != nil {
			return nil, fmt.Errorf("asl: nested result: %w", err)
		}
		return nil, &Error{Name: errTaskFailed, Cause: string(cause)}
	}
	return nil, fmt.Errorf("asl: nested result: Status %q is not that of a finished execution", exe.Status)
}

// describeOutput is DescribeExecution as the .sync integrations return it;
// the fields are in the alphabetical order AWS renders them in.
type describeOutput struct {
	Cause           string   `json:"Cause,omitempty"`
	Error           string   `json:"Error,omitempty"`
	ExecutionArn    string   `json:"ExecutionArn"`
	Input           any      `json:"Input"`
	InputDetails    details  `json:"InputDetails"`
	Name            string   `json:"Name"`
	Output          any      `json:"Output,omitempty"`
	OutputDetails   *details `json:"OutputDetails,omitempty"`
	StartDate       string   `json:"StartDate"`
	StateMachineArn string   `json:"StateMachineArn"`
	Status          string   `json:"Status"`
	StopDate        string   `json:"StopDate"`
}

type details struct {
	Included bool `json:"Included"`
}

// startExecutionPattern returns "", ".sync" or ".sync:2" for the
// StartExecution integrations, in any partition.
func startExecutionPattern(resource string) (string, bool) {
	partition, rest, ok := strings.Cut(strings.TrimPrefix(resource, "arn:"), ":states:::states:startExecution")
	if !ok || !strings.HasPrefix(resource, "arn:") || partition == "" || strings.Contains(partition, ":") {
		return "", false
	}
	switch rest {
	case "", ".sync", ".sync:2":
		return rest, true
	}
	return "", false
}

// jsonField renders a JSON text as a result field: as a string, or as the
// value itself.
func jsonField(b json.RawMessage, asText bool) any {
	if asText {
		return string(b)
	}
	return b
}

// compactOr validates and compacts a JSON text, standing in def for an empty
// one.
func compactOr(b json.RawMessage, def string) (json.RawMessage, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return json.RawMessage(def), nil
	}
	if _, err := decode(b); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
