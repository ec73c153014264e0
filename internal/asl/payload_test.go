package asl

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestPayloadQuota checks the places AWS holds to 256 KiB: the execution
// input, a state's input (also after Parameters) and output, a task's
// input and result, whatever the integration, and the output that
// SendTaskSuccess gives a callback task.
func TestPayloadQuota(t *testing.T) {
	str := func(n int) string { return `"` + strings.Repeat("x", n) + `"` }
	const lambda = `"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"}`
	tests := []struct {
		name, def, input string
		result           json.RawMessage // what the Invoker answers; nil: its input
		wantErr          string
		wantCause        string
	}{
		{name: "execution input", def: `{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}`,
			input: str(maxPayload), wantErr: "States.DataLimitExceeded", wantCause: "The input of state 'S' has a size of 262146 bytes"},
		{name: "input after Parameters, though OutputPath trims it",
			def:   single(`"Type":"Pass","Parameters":{"a.$":"$.s","b.$":"$.s"},"OutputPath":"$.a"`),
			input: `{"s":` + str(140_000) + `}`, wantErr: "States.DataLimitExceeded", wantCause: "input after Parameters of state 'S'"},
		{name: "state output", def: `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":` + str(maxPayload) + `,"Next":"S"},"S":{"Type":"Succeed"}}}`,
			input: `{}`, wantErr: "States.DataLimitExceeded", wantCause: "The input of state 'S'"},
		{name: "task input", def: single(`"Type":"Task","Resource":"r","Parameters":{"a.$":"$.s","b.$":"$.s"}`),
			input: `{"s":` + str(140_000) + `}`, wantErr: "States.DataLimitExceeded", wantCause: "The input of task 'S'"},
		{name: "task result", def: single(`"Type":"Task","Resource":"r","ResultPath":null`), input: `{}`,
			result: json.RawMessage(str(maxPayload)), wantErr: "States.DataLimitExceeded", wantCause: "returned a result with a size of 262146 bytes"},
		{name: "lambda:invoke result with its metadata", def: single(lambda + `,"ResultPath":null`),
			input: str(maxPayload - 500), wantErr: "States.DataLimitExceeded", wantCause: "returned a result"},
		{name: "lambda:invoke result within", def: single(lambda + `,"ResultPath":null`), input: str(200_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := invokerFunc(func(_ context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
				if tt.result != nil {
					return tt.result, nil
				}
				return in, nil
			})
			_, err := runDef(t, tt.def, tt.input, Options{Invoker: inv})
			if errName(err) != tt.wantErr || tt.wantErr == "" && err != nil {
				t.Fatalf("error = %.300v, want %q", err, tt.wantErr)
			}
			if tt.wantCause != "" && !strings.Contains(err.Error(), tt.wantCause) {
				t.Fatalf("error = %.300v, want a cause with %q", err, tt.wantCause)
			}
		})
	}
}

// TestCallbackOutputQuota: SendTaskSuccess refuses an output over 256 KiB,
// so the task keeps waiting, and takes one at the limit.
func TestCallbackOutputQuota(t *testing.T) {
	tasks := NewTasks(nil)
	big := json.RawMessage(`"` + strings.Repeat("x", maxPayload-1) + `"`)
	fits := json.RawMessage(`"` + strings.Repeat("x", maxPayload-2) + `"`)
	inv := invokerFunc(func(ctx context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
		var p struct{ Token string }
		json.Unmarshal(in, &p)
		if err := tasks.SendTaskSuccess(ctx, p.Token, big); err == nil {
			t.Error("SendTaskSuccess took an output over 256 KiB")
		}
		return nil, tasks.SendTaskSuccess(ctx, p.Token, fits)
	})
	out, err := runDef(t, single(`"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"f","Payload":{"token.$":"$$.Task.Token"}},"ResultPath":null`), `{}`, Options{Invoker: inv, Tasks: tasks})
	check(t, out, err, `{}`, "")
}
