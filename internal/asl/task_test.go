package asl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// failing returns an Invoker that fails with the given error names in turn
// ("" for a plain Go error) and then returns {"ok":true}. It records the
// $$.State.RetryCount its input carries, if any.
func failing(names ...string) (Invoker, *[]string) {
	var mu sync.Mutex
	var seen []string
	n := 0
	inv := invokerFunc(func(_ context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		var v struct{ Retry json.Number }
		if json.Unmarshal(in, &v) == nil && v.Retry != "" {
			seen = append(seen, v.Retry.String())
		}
		n++
		switch {
		case n > len(names):
			return json.RawMessage(`{"ok":true}`), nil
		case names[n-1] == "":
			return nil, errors.New("plain failure")
		}
		return nil, fmt.Errorf("wrapped: %w", &Error{Name: names[n-1], Cause: "boom"})
	})
	return inv, &seen
}

func seconds(s ...float64) []time.Duration {
	d := make([]time.Duration, len(s))
	for i, v := range s {
		d[i] = time.Duration(v * float64(time.Second))
	}
	return d
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name, retry, catch string
		failures           []string
		rand               float64
		wantSleeps         []time.Duration
		want, wantErr      string
	}{
		{name: "defaults", retry: `{"ErrorEquals":["E"]}`, failures: []string{"E", "E", "E"},
			wantSleeps: seconds(1, 2, 4), want: `{"ok":true}`},
		{name: "exhausted", retry: `{"ErrorEquals":["E"]}`, failures: []string{"E", "E", "E", "E"},
			wantSleeps: seconds(1, 2, 4), wantErr: "E"},
		{name: "backoff 1.5", retry: `{"ErrorEquals":["E"],"IntervalSeconds":3,"MaxAttempts":4,"BackoffRate":1.5}`,
			failures: []string{"E", "E", "E", "E"}, wantSleeps: seconds(3, 4.5, 6.75, 10.125), want: `{"ok":true}`},
		{name: "MaxDelaySeconds", retry: `{"ErrorEquals":["E"],"IntervalSeconds":2,"MaxAttempts":5,"MaxDelaySeconds":5}`,
			failures: []string{"E", "E", "E", "E", "E"}, wantSleeps: seconds(2, 4, 5, 5, 5), want: `{"ok":true}`},
		{name: "jitter NONE", retry: `{"ErrorEquals":["E"],"JitterStrategy":"NONE"}`, failures: []string{"E", "E"},
			rand: 0.25, wantSleeps: seconds(1, 2), want: `{"ok":true}`},
		{name: "jitter FULL", retry: `{"ErrorEquals":["E"],"IntervalSeconds":4,"JitterStrategy":"FULL","MaxDelaySeconds":10}`,
			failures: []string{"E", "E", "E"}, rand: 0.25, wantSleeps: seconds(1, 2, 2.5), want: `{"ok":true}`},
		{name: "MaxAttempts 0", retry: `{"ErrorEquals":["E"],"MaxAttempts":0},{"ErrorEquals":["States.ALL"]}`,
			failures: []string{"E"}, wantErr: "E"},
		{name: "first matching retrier", retry: `{"ErrorEquals":["E"],"IntervalSeconds":1},{"ErrorEquals":["States.ALL"],"IntervalSeconds":7}`,
			failures: []string{"E", "Other", ""}, wantSleeps: seconds(1, 7, 14), want: `{"ok":true}`},
		{name: "unmatched error", retry: `{"ErrorEquals":["E"]}`, failures: []string{"F"}, wantErr: "F"},
		{name: "retriers count separately", // the example in the AWS documentation
			retry:      `{"ErrorEquals":["ErrorA","ErrorB"],"IntervalSeconds":1,"BackoffRate":2.0,"MaxAttempts":2},{"ErrorEquals":["ErrorC"],"IntervalSeconds":5}`,
			catch:      `{"ErrorEquals":["States.ALL"],"Next":"Z"}`,
			failures:   []string{"ErrorA", "ErrorB", "ErrorC", "ErrorB"},
			wantSleeps: seconds(1, 2, 5), want: `{"caught":{"Error":"ErrorB","Cause":"boom"}}`},
		{name: "TaskFailed matches plain errors", retry: `{"ErrorEquals":["States.TaskFailed"]}`, failures: []string{"", "X"},
			wantSleeps: seconds(1, 2), want: `{"ok":true}`},
		{name: "TaskFailed does not match Timeout", retry: `{"ErrorEquals":["States.TaskFailed"]}`,
			failures: []string{"States.Timeout"}, wantErr: "States.Timeout"},
		{name: "States.ALL matches Timeout", retry: `{"ErrorEquals":["States.ALL"]}`,
			failures: []string{"States.Timeout"}, wantSleeps: seconds(1), want: `{"ok":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"T","States":{
				"T":{"Type":"Task","Resource":"arn:task","Retry":[` + tt.retry + `],"Catch":[` + tt.catch + `],"End":true},
				"Z":{"Type":"Pass","Parameters":{"caught.$":"$"},"End":true}}}`
			if tt.catch == "" {
				def = single(`"Type":"Task","Resource":"arn:task","Retry":[` + tt.retry + `]`)
			}
			clock := newClock()
			inv, _ := failing(tt.failures...)
			out, err := runDef(t, def, `{}`, Options{Clock: clock, Invoker: inv, Rand: func() float64 { return tt.rand }})
			check(t, out, err, tt.want, tt.wantErr)
			if got := clock.Sleeps(); !reflect.DeepEqual(got, tt.wantSleeps) && len(got)+len(tt.wantSleeps) > 0 {
				t.Fatalf("sleeps = %v, want %v", got, tt.wantSleeps)
			}
		})
	}
}

func TestRetryCount(t *testing.T) {
	inv, seen := failing("E", "E")
	def := single(`"Type":"Task","Resource":"r","Parameters":{"Retry.$":"$$.State.RetryCount"},"Retry":[{"ErrorEquals":["E"]}]`)
	if _, err := runDef(t, def, `{}`, Options{Invoker: inv}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"0", "1", "2"}; !reflect.DeepEqual(*seen, want) {
		t.Fatalf("RetryCount seen = %v, want %v", *seen, want)
	}
}

func TestCatch(t *testing.T) {
	big := json.RawMessage(`"` + strings.Repeat("x", maxPayload) + `"`)
	tests := []struct {
		name, task, catch, input string
		invoke                   func(context.Context, *testClock) (json.RawMessage, error)
		want, wantErr            string
	}{
		{name: "ResultPath", catch: `{"ErrorEquals":["E"],"ResultPath":"$.err","Next":"H"}`,
			invoke: failWith("E", "boom"), want: `{"k":1,"err":{"Error":"E","Cause":"boom"}}`},
		{name: "default ResultPath", catch: `{"ErrorEquals":["E"],"Next":"H"}`,
			invoke: failWith("E", "boom"), want: `{"Error":"E","Cause":"boom"}`},
		{name: "ResultPath null", catch: `{"ErrorEquals":["E"],"ResultPath":null,"Next":"H"}`,
			invoke: failWith("E", "boom"), want: `{"k":1}`},
		{name: "order", catch: `{"ErrorEquals":["X"],"Next":"Other"},{"ErrorEquals":["E","Y"],"ResultPath":"$.e","Next":"H"},{"ErrorEquals":["States.ALL"],"Next":"Other"}`,
			invoke: failWith("E", "boom"), want: `{"k":1,"e":{"Error":"E","Cause":"boom"}}`},
		{name: "States.ALL catches a plain error", catch: `{"ErrorEquals":["States.ALL"],"Next":"H"}`,
			invoke: func(context.Context, *testClock) (json.RawMessage, error) { return nil, errors.New("kaput") },
			want:   `{"Error":"States.TaskFailed","Cause":"kaput"}`},
		{name: "uncaught", catch: `{"ErrorEquals":["X"],"Next":"H"}`, invoke: failWith("E", "boom"), wantErr: "E"},
		{name: "States.ALL does not catch States.Runtime", task: `"Parameters":{"x.$":"$.nope"},`,
			catch: `{"ErrorEquals":["States.ALL"],"Next":"H"}`, wantErr: "States.Runtime"},
		{name: "nothing catches States.Runtime", task: `"InputPath":"$.nope",`,
			catch: `{"ErrorEquals":["States.Runtime"],"Next":"H"}`, wantErr: "States.Runtime"},
		{name: "ResultSelector failure is States.Runtime", task: `"ResultSelector":{"x.$":"$.nope"},`,
			catch: `{"ErrorEquals":["States.ALL"],"Next":"H"}`, invoke: ok, wantErr: "States.Runtime"},
		{name: "Invoker reporting States.Runtime", catch: `{"ErrorEquals":["States.ALL"],"Next":"H"}`,
			invoke: failWith("States.Runtime", "bad"), wantErr: "States.Runtime"},
		{name: "States.ALL does not catch DataLimitExceeded", catch: `{"ErrorEquals":["States.ALL"],"Next":"H"}`,
			invoke: func(context.Context, *testClock) (json.RawMessage, error) { return big, nil }, wantErr: "States.DataLimitExceeded"},
		{name: "explicit DataLimitExceeded", catch: `{"ErrorEquals":["States.DataLimitExceeded"],"ResultPath":"$.e","Next":"H"}`,
			invoke: func(context.Context, *testClock) (json.RawMessage, error) { return big, nil },
			want:   `{"k":1,"e":{"Error":"States.DataLimitExceeded","Cause":"The state/task 'T' returned a result with a size of 262146 bytes, exceeding the maximum of 262144"}}`},
		{name: "ResultPath on a non-object", input: `"str"`, catch: `{"ErrorEquals":["E"],"ResultPath":"$.e","Next":"H"}`,
			invoke: failWith("E", "boom"), wantErr: "States.ResultPathMatchFailure"},
		{name: "state ResultPath failure is caught", input: `[1]`, task: `"ResultPath":"$.r",`,
			catch: `{"ErrorEquals":["States.ResultPathMatchFailure"],"Next":"H"}`, invoke: ok,
			want: `{"Error":"States.ResultPathMatchFailure","Cause":"Unable to apply ResultPath '$.r' to the input: it does not lead to an object"}`},
		{name: "task timeout", task: `"TimeoutSeconds":10,`, catch: `{"ErrorEquals":["States.Timeout"],"ResultPath":"$.e","Next":"H"}`,
			invoke: slow(11 * time.Second), want: `{"k":1,"e":{"Error":"States.Timeout","Cause":"Task 'T' timed out after 10s"}}`},
		{name: "TaskFailed does not catch a task timeout", task: `"TimeoutSeconds":10,`,
			catch: `{"ErrorEquals":["States.TaskFailed"],"Next":"H"}`, invoke: slow(10 * time.Second), wantErr: "States.Timeout"},
		{name: "within the task timeout", task: `"TimeoutSeconds":10,`, catch: `{"ErrorEquals":["States.ALL"],"Next":"H"}`,
			invoke: slow(9 * time.Second), want: `{"ok":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := "" // a state only the wrong catcher leads to
			if strings.Contains(tt.catch, `"Other"`) {
				other = `,"Other":{"Type":"Fail","Error":"WrongCatcher"}`
			}
			def := `{"StartAt":"T","States":{
				"T":{"Type":"Task","Resource":"arn:task",` + tt.task + `"Catch":[` + tt.catch + `],"End":true},
				"H":{"Type":"Pass","End":true}` + other + `}}`
			clock := newClock()
			called := false
			inv := invokerFunc(func(ctx context.Context, _ string, _ json.RawMessage) (json.RawMessage, error) {
				called = true
				if tt.invoke == nil {
					t.Error("Invoke called")
					return nil, nil
				}
				return tt.invoke(ctx, clock)
			})
			input := tt.input
			if input == "" {
				input = `{"k":1}`
			}
			out, err := runDef(t, def, input, Options{Clock: clock, Invoker: inv})
			check(t, out, err, tt.want, tt.wantErr)
			if tt.invoke != nil && !called {
				t.Error("Invoke not called")
			}
		})
	}
}

func failWith(name, cause string) func(context.Context, *testClock) (json.RawMessage, error) {
	return func(context.Context, *testClock) (json.RawMessage, error) {
		return nil, &Error{Name: name, Cause: cause}
	}
}

func ok(context.Context, *testClock) (json.RawMessage, error) {
	return json.RawMessage(`{"ok":true}`), nil
}

// slow makes an invocation take d of virtual time.
func slow(d time.Duration) func(context.Context, *testClock) (json.RawMessage, error) {
	return func(_ context.Context, c *testClock) (json.RawMessage, error) {
		c.Advance(d)
		return json.RawMessage(`{"ok":true}`), nil
	}
}

func TestTaskDataFlow(t *testing.T) {
	def := single(`"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:1:function:f",
		"InputPath":"$.job","Parameters":{"id.$":"$.id","n":4294967295,"exec.$":"$$.Execution.Name"},
		"ResultSelector":{"status.$":"$.Payload.status","code":200},
		"ResultPath":"$.result","OutputPath":"$.result"`)
	var gotResource, gotInput string
	inv := invokerFunc(func(_ context.Context, resource string, in json.RawMessage) (json.RawMessage, error) {
		gotResource, gotInput = resource, string(in)
		return json.RawMessage(`{"Payload":{"status":"ready","size":18446744073709551615}}`), nil
	})
	out, err := runDef(t, def, `{"job":{"id":"j-1"},"other":true}`, Options{Invoker: inv})
	check(t, out, err, `{"status":"ready","code":200}`, "")
	if gotResource != "arn:aws:lambda:eu-west-1:1:function:f" {
		t.Errorf("resource = %q", gotResource)
	}
	if !jsonEqual(t, gotInput, `{"id":"j-1","n":4294967295,"exec":"run-1"}`) {
		t.Errorf("input = %s", gotInput)
	}

	// Without ResultSelector and OutputPath the raw result lands at ResultPath.
	def = single(`"Type":"Task","Resource":"r","ResultPath":"$.r"`)
	inv = invokerFunc(func(context.Context, string, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"big":18446744073709551615}`), nil
	})
	out, err = runDef(t, def, `{"k":1}`, Options{Invoker: inv})
	check(t, out, err, `{"k":1,"r":{"big":18446744073709551615}}`, "")
	if !strings.Contains(out, "18446744073709551615") {
		t.Errorf("output %s lost the exact number", out)
	}
}

func TestTaskTimeoutDeadline(t *testing.T) {
	def := single(`"Type":"Task","Resource":"r","TimeoutSeconds":300`)
	inv := invokerFunc(func(ctx context.Context, _ string, _ json.RawMessage) (json.RawMessage, error) {
		deadline, ok := ctx.Deadline()
		if !ok || time.Until(deadline) > 300*time.Second || time.Until(deadline) < 290*time.Second {
			t.Errorf("Invoke deadline = %v, %v; want about 300s from now", deadline, ok)
		}
		return json.RawMessage(`{}`), nil
	})
	if _, err := runDef(t, def, `{}`, Options{Invoker: inv}); err != nil {
		t.Fatal(err)
	}
}

func TestMachineTimeout(t *testing.T) {
	tests := []struct {
		name, states string
		invoke       time.Duration
		wantElapsed  time.Duration // virtual time from the execution start
		wantErr      string
	}{
		{name: "within", states: `"W":{"Type":"Wait","Seconds":5,"End":true}`, wantElapsed: 5250 * time.Millisecond},
		{name: "long wait stops at the deadline", states: `"W":{"Type":"Wait","Seconds":20,"End":true}`,
			wantElapsed: 10 * time.Second, wantErr: "States.Timeout"},
		{name: "retries stop at the deadline",
			states:      `"W":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":4,"MaxAttempts":5}],"End":true}`,
			wantElapsed: 10 * time.Second, wantErr: "States.Timeout"},
		{name: "slow task is not caught",
			states:      `"W":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},"H":{"Type":"Succeed"}`,
			invoke:      12 * time.Second,
			wantElapsed: 12250 * time.Millisecond, wantErr: "States.Timeout"},
		{name: "task reaching the deadline",
			states:      `"W":{"Type":"Task","Resource":"r","Next":"H"},"H":{"Type":"Succeed"}`,
			invoke:      9750 * time.Millisecond,
			wantElapsed: 10 * time.Second, wantErr: "States.Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"W","TimeoutSeconds":10,"States":{` + tt.states + `}}`
			clock := newClock()
			inv := invokerFunc(func(context.Context, string, json.RawMessage) (json.RawMessage, error) {
				if tt.invoke == 0 {
					return nil, &Error{Name: "E"}
				}
				clock.Advance(tt.invoke)
				return json.RawMessage(`{}`), nil
			})
			_, err := runDef(t, def, `{}`, Options{Clock: clock, Invoker: inv})
			if errName(err) != tt.wantErr || tt.wantErr == "" && err != nil {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if got := clock.Now().Sub(t0); got != tt.wantElapsed {
				t.Fatalf("elapsed = %v, want %v", got, tt.wantElapsed)
			}
		})
	}
}

func TestCheckpointAndResume(t *testing.T) {
	const def = `{"StartAt":"A","TimeoutSeconds":3600,"States":{
		"A":{"Type":"Pass","Result":1,"ResultPath":"$.a","Next":"B"},
		"B":{"Type":"Task","Resource":"r","ResultPath":"$.b","Next":"C"},
		"C":{"Type":"Wait","Seconds":5,"Next":"D"},
		"D":{"Type":"Succeed"}}}`
	m := mustParse(t, def)
	calls := 0
	inv := invokerFunc(func(context.Context, string, json.RawMessage) (json.RawMessage, error) {
		calls++
		return json.RawMessage(`"done"`), nil
	})
	var cps []Checkpoint
	record := func(_ context.Context, c Checkpoint) error {
		cps = append(cps, c)
		return nil
	}
	exe := Execution{ID: "id", Name: "n", Input: json.RawMessage(`{"k":1}`), StartTime: t0}
	clock := newClock()
	out, err := m.Run(context.Background(), exe, Options{Clock: clock, Invoker: inv, Checkpoint: record})
	const want = `{"k":1,"a":1,"b":"done"}`
	check(t, string(out), err, want, "")

	start := t0.Add(250 * time.Millisecond)
	wantCps := []struct {
		state, input string
		entered      time.Time
	}{
		{"A", `{"k":1}`, start},
		{"B", `{"k":1,"a":1}`, start},
		{"C", want, start},
		{"D", want, start.Add(5 * time.Second)},
	}
	if len(cps) != len(wantCps) {
		t.Fatalf("checkpoints = %v", cps)
	}
	for i, w := range wantCps {
		if c := cps[i]; c.State != w.state || !jsonEqual(t, string(c.Input), w.input) || !c.Entered.Equal(w.entered) {
			t.Errorf("checkpoint %d = %s %s %v, want %s %s %v", i, c.State, c.Input, c.Entered, w.state, w.input, w.entered)
		}
	}

	// Resume after a crash in C: B is not run again.
	calls = 0
	from := cps[2]
	cps = nil
	out, err = m.Resume(context.Background(), exe, from, Options{Clock: newClock(), Invoker: inv, Checkpoint: record})
	check(t, string(out), err, want, "")
	if calls != 0 || len(cps) != 2 || cps[0].State != "C" || cps[1].State != "D" {
		t.Fatalf("after resume: %d calls, checkpoints %v", calls, cps)
	}

	// The execution timeout still counts from StartTime.
	late := newClock()
	late.Advance(2 * time.Hour)
	_, err = m.Resume(context.Background(), exe, from, Options{Clock: late, Invoker: inv})
	if errName(err) != "States.Timeout" {
		t.Fatalf("late resume error = %v, want States.Timeout", err)
	}

	if _, err := m.Resume(context.Background(), exe, Checkpoint{State: "Nope"}, Options{Invoker: inv}); err == nil {
		t.Fatal("Resume from an unknown state succeeded")
	}

	// A failing Checkpoint aborts the run before the state is entered.
	errDisk := errors.New("disk full")
	calls = 0
	_, err = m.Run(context.Background(), exe, Options{Clock: newClock(), Invoker: inv,
		Checkpoint: func(_ context.Context, c Checkpoint) error {
			if c.State == "B" {
				return errDisk
			}
			return nil
		}})
	if !errors.Is(err, errDisk) || calls != 0 {
		t.Fatalf("error = %v after %d calls, want %v before any call", err, calls, errDisk)
	}
}

// TestPollingLoop runs the shape the project's state machines use: a Task
// polls a job, a Choice checks whether it is done, and a Wait with
// SecondsPath paces the loop. The job's answers come as JSON Lines.
func TestPollingLoop(t *testing.T) {
	const def = `{"Comment":"poll until done","StartAt":"Check","TimeoutSeconds":600,"States":{
		"Check":{"Type":"Task","Resource":"arn:aws:lambda:eu-west-1:1:function:status",
			"Parameters":{"id.$":"$.id","attempt.$":"$$.State.RetryCount"},
			"ResultSelector":{"state.$":"$.state","retryAfter.$":"$.retryAfter","url.$":"$.url"},
			"ResultPath":"$.status","Retry":[{"ErrorEquals":["TransientError"],"IntervalSeconds":2}],"Next":"Done?"},
		"Done?":{"Type":"Choice","Choices":[
			{"Variable":"$.status.state","StringEquals":"done","Next":"Finish"},
			{"Variable":"$.status.state","StringEquals":"failed","Next":"Failed"}],"Default":"Pause"},
		"Pause":{"Type":"Wait","SecondsPath":"$.status.retryAfter","Next":"Check"},
		"Failed":{"Type":"Fail","Error":"JobFailed","CausePath":"$.status.url"},
		"Finish":{"Type":"Succeed","OutputPath":"$.status"}}}`
	const answers = `{"state":"running","retryAfter":5,"url":null}
{"error":"TransientError"}
{"state":"running","retryAfter":10,"url":null}
{"state":"done","retryAfter":0,"url":"s3://bucket/video.mp4"}
`
	sc := bufio.NewScanner(strings.NewReader(answers))
	var inputs []string
	inv := invokerFunc(func(_ context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
		inputs = append(inputs, string(in))
		if !sc.Scan() {
			t.Fatal("more calls than answers")
		}
		line := json.RawMessage(sc.Bytes())
		var e struct{ Error string }
		if json.Unmarshal(line, &e) == nil && e.Error != "" {
			return nil, &Error{Name: e.Error, Cause: "try again"}
		}
		return append(json.RawMessage(nil), line...), nil
	})
	clock := newClock()
	var states []string
	out, err := runDef(t, def, `{"id":"job-7"}`, Options{Clock: clock, Invoker: inv,
		Checkpoint: func(_ context.Context, c Checkpoint) error {
			states = append(states, c.State)
			return nil
		}})
	check(t, out, err, `{"state":"done","retryAfter":0,"url":"s3://bucket/video.mp4"}`, "")
	if want := seconds(5, 2, 10); !reflect.DeepEqual(clock.Sleeps(), want) {
		t.Errorf("sleeps = %v, want %v", clock.Sleeps(), want)
	}
	wantStates := []string{"Check", "Done?", "Pause", "Check", "Done?", "Pause", "Check", "Done?", "Finish"}
	if !reflect.DeepEqual(states, wantStates) {
		t.Errorf("states = %v, want %v", states, wantStates)
	}
	wantInputs := []string{`{"attempt":0,"id":"job-7"}`, `{"attempt":0,"id":"job-7"}`, `{"attempt":1,"id":"job-7"}`, `{"attempt":0,"id":"job-7"}`}
	if !reflect.DeepEqual(inputs, wantInputs) {
		t.Errorf("inputs = %v, want %v", inputs, wantInputs)
	}
}
