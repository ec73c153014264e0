package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestHistoryEvents(t *testing.T) {
	const lambda = `"Resource":"arn:aws:lambda:eu-west-1:1:function:f"`
	tests := []struct {
		name, def, input string
		invoke           func(n int) (json.RawMessage, error) // the nth call, from 1; nil: echo
		want             int
		wantErr          string
	}{
		// ExecutionStarted, PassStateEntered, PassStateExited, ExecutionSucceeded.
		{name: "Pass", def: single(`"Type":"Pass"`), want: 4},
		// + LambdaFunctionScheduled, Started, Succeeded.
		{name: "Task", def: single(`"Type":"Task",` + lambda), want: 7},
		// + a failed attempt: Scheduled, Started, Failed.
		{name: "retried Task", def: single(`"Type":"Task",` + lambda + `,"Retry":[{"ErrorEquals":["E"]}]`),
			invoke: failFirst, want: 10},
		// The Task exits through its Catch, then a Pass.
		{name: "caught Task", def: `{"StartAt":"T","States":{"T":{"Type":"Task",` + lambda + `,
			"Catch":[{"ErrorEquals":["E"],"Next":"H"}],"End":true},"H":{"Type":"Pass","End":true}}}`,
			invoke: failFirst, want: 9},
		// ExecutionStarted, FailStateEntered, ExecutionFailed.
		{name: "Fail", def: `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E"}}}`, want: 3, wantErr: "E"},
		// Entered, ExecutionTimedOut.
		{name: "execution timeout", def: `{"StartAt":"W","TimeoutSeconds":10,"States":{"W":{"Type":"Wait","Seconds":20,"End":true}}}`,
			want: 3, wantErr: "States.Timeout"},
		// + TaskSubmitted.
		{name: "startExecution.sync:2", def: single(`"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
			"Parameters":{"StateMachineArn":"arn:aws:states:eu-west-1:1:stateMachine:c","Input":{}}`), want: 8},
		{name: "lambda:invoke", def: single(`"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"}`),
			want: 7},
		// Map: MapStateStarted, per item MapIterationStarted, Entered,
		// Exited, MapIterationSucceeded, then MapStateSucceeded.
		{name: "INLINE Map", def: inline(``, pass), input: `[1,2]`, want: 4 + 2 + 2*4},
		// MapStateStarted, MapRunStarted, MapRunSucceeded, MapStateSucceeded.
		{name: "DISTRIBUTED Map", def: distributed(``, pass), input: `[1,2,3]`, want: 4 + 4},
		{name: "a loop stops at the quota",
			def: `{"StartAt":"Spin","States":{"Spin":{"Type":"Pass","Next":"Again?"},
				"Again?":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"Spin"},
				"Done":{"Type":"Succeed"}}}`,
			want: MaxHistoryEvents, wantErr: "States.Runtime"},
		{name: "no Catch handles the quota",
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"Spin","States":{
				"Spin":{"Type":"Pass","Next":"Again?"},
				"Again?":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"Spin"},
				"Done":{"Type":"Succeed"}}},"Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},
				"H":{"Type":"Pass","End":true}}}`,
			input: `[{}]`, want: MaxHistoryEvents, wantErr: "States.Runtime"},
		// A child execution reaching its own quota is one failed item; the
		// parent's history holds only the Map Run's events.
		{name: "a child's quota is its own",
			def: distributed(`"ToleratedFailureCount":1,"ResultSelector":{"e.$":"$[0].Cause"},`, `"P":{"Type":"Pass","Next":"Again?"},
				"Again?":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"P"},
				"Done":{"Type":"Succeed"}`),
			input: `[{}]`, want: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			inv := invokerFunc(func(_ context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
				calls++
				if tt.invoke != nil {
					return tt.invoke(calls)
				}
				return in, nil
			})
			input := tt.input
			if input == "" {
				input = `{}`
			}
			m := mustParse(t, tt.def)
			exe := Execution{ID: "arn:aws:states:eu-west-1:1:execution:sm:run-1", Name: "run-1", Input: json.RawMessage(input), StartTime: t0}
			res, err := m.Execute(context.Background(), exe, nil, Options{Clock: newClock(), Invoker: inv})
			if errName(err) != tt.wantErr || tt.wantErr == "" && err != nil {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if tt.want == MaxHistoryEvents && !strings.Contains(err.Error(), "The execution reached the maximum number of history events (25000).") {
				t.Errorf("error %q, want AWS's cause", err)
			}
			if res.HistoryEvents != tt.want {
				t.Fatalf("history of %d events, want %d", res.HistoryEvents, tt.want)
			}
		})
	}
}

func failFirst(n int) (json.RawMessage, error) {
	if n == 1 {
		return nil, &Error{Name: "E"}
	}
	return json.RawMessage(`{}`), nil
}

// TestHistoryAcrossResume: a run resumed from a checkpoint goes on
// counting from the events the checkpoint recorded.
func TestHistoryAcrossResume(t *testing.T) {
	def := `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"r","Next":"B"},"B":{"Type":"Pass","Next":"C"},"C":{"Type":"Succeed"}}}`
	m := mustParse(t, def)
	var saved []Checkpoint
	opts := Options{Clock: newClock(), Invoker: echo, Checkpoint: func(_ context.Context, c Checkpoint) error {
		saved = append(saved, c)
		return nil
	}}
	whole, err := m.Execute(context.Background(), Execution{StartTime: t0}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{saved[0].HistoryEvents, saved[1].HistoryEvents, saved[2].HistoryEvents}; got[0] != 1 || got[1] != 6 || got[2] != 8 {
		t.Fatalf("checkpoints counted %v, want [1 6 8]", got)
	}
	opts.Checkpoint = nil
	resumed, err := m.Execute(context.Background(), Execution{StartTime: t0}, &saved[1], opts)
	if err != nil || resumed.HistoryEvents != whole.HistoryEvents || whole.HistoryEvents != 11 {
		t.Fatalf("resumed run counted %d (%v), the whole run %d; want 11 both", resumed.HistoryEvents, err, whole.HistoryEvents)
	}
}

// TestPollingLoopWorstCase shows how a test asserts that a polling loop's
// worst case fits the quota: a Wait, Task and Choice turn is 9 events, so
// within a two-hour TimeoutSeconds a 5-s turn fits and a 2-s one does not.
func TestPollingLoopWorstCase(t *testing.T) {
	def := func(wait int) string {
		return `{"StartAt":"Wait","TimeoutSeconds":7200,"States":{
			"Wait":{"Type":"Wait","Seconds":` + fmt.Sprint(wait) + `,"Next":"Poll"},
			"Poll":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:1:function:poll","Next":"Done?"},
			"Done?":{"Type":"Choice","Choices":[{"Variable":"$.done","IsPresent":true,"Next":"End"}],"Default":"Wait"},
			"End":{"Type":"Succeed"}}}`
	}
	tests := []struct {
		wait    int
		want    int
		wantErr string
	}{
		// The clock starts 250 ms into the execution: 1439 whole turns,
		// then a Wait the execution timeout cuts short.
		{wait: 5, want: 1 + 1439*9 + 1 + 1, wantErr: "States.Timeout"},
		{wait: 2, want: MaxHistoryEvents, wantErr: "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%ds", tt.wait), func(t *testing.T) {
			m := mustParse(t, def(tt.wait))
			res, err := m.Execute(context.Background(), Execution{StartTime: t0}, nil, Options{Clock: newClock(), Invoker: echo})
			if errName(err) != tt.wantErr || res.HistoryEvents != tt.want {
				t.Fatalf("%d events, error %v; want %d and %s", res.HistoryEvents, err, tt.want, tt.wantErr)
			}
		})
	}
}
