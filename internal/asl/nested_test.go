package asl

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNestedResult(t *testing.T) {
	start := time.Date(2024, 5, 1, 12, 0, 0, 123_456_789, time.UTC)
	stop := start.Add(90 * time.Second).In(time.FixedZone("CEST", 2*3600))
	child := func(status string) NestedExecution {
		exe := NestedExecution{
			ExecutionArn:    "arn:aws:states:eu-west-1:1:execution:Child:c-1",
			StateMachineArn: "arn:aws:states:eu-west-1:1:stateMachine:Child",
			Name:            "c-1",
			Input:           json.RawMessage(`{ "job": "j<1>" }`),
			StartDate:       start,
			Status:          status,
			StopDate:        stop,
		}
		if status == "SUCCEEDED" {
			exe.Output = json.RawMessage(`{"n": 1}`)
		} else {
			exe.Error, exe.Cause = "Boom", "it broke"
		}
		return exe
	}
	const (
		common = `"ExecutionArn":"arn:aws:states:eu-west-1:1:execution:Child:c-1",`
		dates  = `"StartDate":"2024-05-01T12:00:00.123Z","StateMachineArn":"arn:aws:states:eu-west-1:1:stateMachine:Child",`
	)
	tests := []struct {
		name, resource string
		exe            NestedExecution
		want           string // exact JSON text
		wantCause      string // exact Cause of a States.TaskFailed
	}{
		{name: "startExecution", resource: "arn:aws:states:::states:startExecution", exe: child("RUNNING"),
			want: `{` + common + `"StartDate":"2024-05-01T12:00:00.123Z"}`},
		{name: ".sync", resource: "arn:aws:states:::states:startExecution.sync", exe: child("SUCCEEDED"),
			want: `{` + common + `"Input":"{\"job\":\"j<1>\"}","InputDetails":{"Included":true},"Name":"c-1",` +
				`"Output":"{\"n\":1}","OutputDetails":{"Included":true},` + dates +
				`"Status":"SUCCEEDED","StopDate":"2024-05-01T12:01:30.123Z"}`},
		{name: ".sync:2", resource: "arn:aws:states:::states:startExecution.sync:2", exe: child("SUCCEEDED"),
			want: `{` + common + `"Input":{"job":"j<1>"},"InputDetails":{"Included":true},"Name":"c-1",` +
				`"Output":{"n":1},"OutputDetails":{"Included":true},` + dates +
				`"Status":"SUCCEEDED","StopDate":"2024-05-01T12:01:30.123Z"}`},
		{name: "other partition", resource: "arn:aws-cn:states:::states:startExecution.sync:2", exe: child("SUCCEEDED"),
			want: `{` + common + `"Input":{"job":"j<1>"},"InputDetails":{"Included":true},"Name":"c-1",` +
				`"Output":{"n":1},"OutputDetails":{"Included":true},` + dates +
				`"Status":"SUCCEEDED","StopDate":"2024-05-01T12:01:30.123Z"}`},
		{name: ".sync failed", resource: "arn:aws:states:::states:startExecution.sync", exe: child("FAILED"),
			wantCause: `{"Cause":"it broke","Error":"Boom",` + common + `"Input":"{\"job\":\"j<1>\"}","InputDetails":{"Included":true},` +
				`"Name":"c-1",` + dates + `"Status":"FAILED","StopDate":"2024-05-01T12:01:30.123Z"}`},
		{name: ".sync:2 timed out", resource: "arn:aws:states:::states:startExecution.sync:2", exe: child("TIMED_OUT"),
			wantCause: `{"Cause":"it broke","Error":"Boom",` + common + `"Input":{"job":"j<1>"},"InputDetails":{"Included":true},` +
				`"Name":"c-1",` + dates + `"Status":"TIMED_OUT","StopDate":"2024-05-01T12:01:30.123Z"}`},
		{name: ".sync:2 aborted", resource: "arn:aws:states:::states:startExecution.sync:2",
			exe: NestedExecution{ExecutionArn: "e", Status: "ABORTED", StartDate: start, StopDate: start},
			wantCause: `{"ExecutionArn":"e","Input":{},"InputDetails":{"Included":true},"Name":"",` +
				`"StartDate":"2024-05-01T12:00:00.123Z","StateMachineArn":"","Status":"ABORTED","StopDate":"2024-05-01T12:00:00.123Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NestedResult(tt.resource, tt.exe)
			if tt.wantCause != "" {
				var se *Error
				if !errors.As(err, &se) || se.Name != "States.TaskFailed" {
					t.Fatalf("error = %v, want States.TaskFailed", err)
				}
				if se.Cause != tt.wantCause {
					t.Fatalf("cause:\n%s\nwant:\n%s", se.Cause, tt.wantCause)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("result:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestNestedResultRefuses(t *testing.T) {
	ok := NestedExecution{ExecutionArn: "e", Status: "SUCCEEDED"}
	tests := []struct {
		name, resource string
		exe            NestedExecution
		want           string
	}{
		{"task token", "arn:aws:states:::states:startExecution.waitForTaskToken", ok, "is not a StartExecution resource"},
		{"lambda", "arn:aws:lambda:eu-west-1:1:function:f", ok, "is not a StartExecution resource"},
		{"other API", "arn:aws:states:::states:startSyncExecution", ok, "is not a StartExecution resource"},
		{"no partition", "arn::states:::states:startExecution", ok, "is not a StartExecution resource"},
		{"no ARN", "arn:aws:states:::states:startExecution.sync", NestedExecution{Status: "SUCCEEDED"}, "ExecutionArn is required"},
		{"still running", "arn:aws:states:::states:startExecution.sync", NestedExecution{ExecutionArn: "e", Status: "RUNNING"},
			`Status "RUNNING" is not that of a finished execution`},
		{"bad input", "arn:aws:states:::states:startExecution.sync:2",
			NestedExecution{ExecutionArn: "e", Status: "SUCCEEDED", Input: json.RawMessage(`{`)}, "Input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NestedResult(tt.resource, tt.exe)
			var se *Error
			if err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want a plain error containing %q", err, tt.want)
			}
		})
	}
}

func TestNestedExecutionTask(t *testing.T) {
	// How a runtime uses NestedResult: the Invoker runs the child for the
	// StartExecution resource and answers with what AWS would.
	def := `{"StartAt":"Child","States":{"Child":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
		"Parameters":{"StateMachineArn":"arn:aws:states:local:0:stateMachine:Child","Input":{"n.$":"$.n"},"Name.$":"$.name"},
		"ResultSelector":{"out.$":"$.Output","status.$":"$.Status"},
		"Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.err","Next":"Failed"}],"End":true},
		"Failed":{"Type":"Pass","End":true}}}`
	var params []string
	inv := invokerFunc(func(_ context.Context, resource string, in json.RawMessage) (json.RawMessage, error) {
		params = append(params, string(in))
		var p struct {
			StateMachineArn, Name string
			Input                 struct{ N int }
		}
		if err := json.Unmarshal(in, &p); err != nil {
			return nil, err
		}
		exe := NestedExecution{ExecutionArn: "arn:aws:states:local:0:execution:Child:" + p.Name, StateMachineArn: p.StateMachineArn,
			Name: p.Name, Input: json.RawMessage(`{"n":1}`), StartDate: t0, StopDate: t0, Status: "SUCCEEDED",
			Output: json.RawMessage(`{"doubled":2}`)}
		if p.Input.N < 0 {
			exe.Status, exe.Output, exe.Error, exe.Cause = "FAILED", nil, "Negative", "n < 0"
		}
		return NestedResult(resource, exe)
	})
	out, err := runDef(t, def, `{"n":1,"name":"c1"}`, Options{Invoker: inv})
	check(t, out, err, `{"out":{"doubled":2},"status":"SUCCEEDED"}`, "")
	if want := `{"Input":{"n":1},"Name":"c1","StateMachineArn":"arn:aws:states:local:0:stateMachine:Child"}`; params[0] != want {
		t.Errorf("Invoker got %s, want %s", params[0], want)
	}

	out, err = runDef(t, def, `{"n":-1,"name":"c2"}`, Options{Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	var caught struct{ Err struct{ Error, Cause string } }
	if err := json.Unmarshal([]byte(out), &caught); err != nil {
		t.Fatal(err)
	}
	var cause map[string]any
	if err := json.Unmarshal([]byte(caught.Err.Cause), &cause); err != nil {
		t.Fatalf("Cause %q is not JSON: %v", caught.Err.Cause, err)
	}
	if caught.Err.Error != "States.TaskFailed" || cause["Error"] != "Negative" || cause["Cause"] != "n < 0" || cause["Status"] != "FAILED" {
		t.Fatalf("caught %+v", caught)
	}
}
