package states

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/asl/asltest"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/lambdas/lambdastest"
	"github.com/vidgen/vidgen/internal/local/localarn"
	"github.com/vidgen/vidgen/internal/local/s3dir"
)

// testStart is the manual clock's time in these tests.
var testStart = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// testEngine is an Engine on a manual clock whose Invoker is Services.
type testEngine struct {
	*Engine
	svc   *Services
	clock *clock.Manual
	path  string
	items string // the data dir ReadItems reads
	defs  map[string]*asl.Machine
	opts  asl.Options
}

// newTestEngine parses the definitions (logical id → ASL) and opens an
// engine on them with handlers as its functions.
func newTestEngine(t *testing.T, defs map[string]string, handlers map[string]any) *testEngine {
	t.Helper()
	machines := asltest.Machines(t, defs)
	te := &testEngine{clock: clock.NewManual(testStart), path: filepath.Join(t.TempDir(), "executions.db"), items: t.TempDir(), defs: machines}
	te.svc = &Services{Functions: lambdas.NewFunctions(handlers)}
	te.opts = asl.Options{Clock: te.clock, Invoker: te.svc, ReadItems: s3dir.ReadItemsFrom(te.items)}
	te.open(t)
	t.Cleanup(func() { te.Close() })
	return te
}

// open (re)opens the engine on the same database, as a restart does.
func (te *testEngine) open(t *testing.T) {
	t.Helper()
	e, err := NewEngine(te.path, te.defs, te.opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	te.Engine, te.svc.Engine = e, e
}

// run starts an execution and waits for it to end.
func (te *testEngine) run(t *testing.T, machine, name, input string) Execution {
	t.Helper()
	if err := te.Start(context.Background(), machine, name, json.RawMessage(input)); err != nil {
		t.Fatal(err)
	}
	return te.wait(t, machine, name)
}

// crashAt saves exe as a crash leaves it, running at state with input
// and entered once, closes the engine, opens it again, resumes the one
// execution and returns it once it has ended.
func (te *testEngine) crashAt(t *testing.T, exe Execution, state string, input json.RawMessage) Execution {
	t.Helper()
	exe.Status, exe.Output, exe.Error, exe.StopTime = Running, nil, nil, nil
	exe.Checkpoint.State = state
	exe.Checkpoint.Input = input
	exe.Entries = 1
	if err := te.save(exe); err != nil {
		t.Fatal(err)
	}
	if err := te.Close(); err != nil {
		t.Fatal(err)
	}
	te.open(t)
	if n, err := te.Resume(); err != nil || n != 1 {
		t.Fatalf("Resume = %d, %v", n, err)
	}
	return te.wait(t, exe.Machine, exe.Name)
}

func (te *testEngine) wait(t *testing.T, machine, name string) Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exe, err := te.Wait(ctx, machine, name)
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

const (
	// echo answers with its input and its own name.
	echoDef = `{"StartAt":"Echo","States":{"Echo":{"Type":"Pass",
		"Parameters":{"got.$":"$","name.$":"$$.Execution.Name"},"End":true}}}`
	failDef    = `{"StartAt":"Boom","States":{"Boom":{"Type":"Fail","Error":"Boom","Cause":"it broke"}}}`
	timeoutDef = `{"TimeoutSeconds":1,"StartAt":"Long","States":{"Long":{"Type":"Wait","Seconds":5,"End":true}}}`
	// blockDef runs the Block function, which tests hold up.
	blockDef = `{"StartAt":"Block","States":{"Block":{"Type":"Task",
		"Resource":"arn:aws:lambda:local:000000000000:function:Block","End":true}}}`
)

// parentDef runs one Task with the resource and parameters.
func parentDef(resource, params string) string {
	return `{"StartAt":"Child","States":{"Child":{"Type":"Task","Resource":"` + resource +
		`","Parameters":` + params + `,"End":true}}}`
}

// newParentOfBlocked opens an engine on two machines: Parent, which runs
// one Task of resource with params, and child, which runs the Block
// function of the Blocker it returns.
func newParentOfBlocked(t *testing.T, resource, child, params string) (*testEngine, *lambdastest.Blocker) {
	t.Helper()
	b := lambdastest.NewBlocker()
	te := newTestEngine(t, map[string]string{"Parent": parentDef(resource, params), child: blockDef},
		map[string]any{"Block": b.Handle})
	return te, b
}

func arnParam(machine string) string {
	return `"StateMachineArn":"` + localarn.StateMachine(machine) + `"`
}

// uuidName is the form of the name of a child its Task does not name: a
// random (version 4) UUID as Step Functions gives, or one derived from the
// parent's state entry and the child's input (version 5, startUnnamed).
var uuidName = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[45][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestStartExecutionIntegration(t *testing.T) {
	const (
		childARN = `"ExecutionArn":"arn:aws:states:local:000000000000:execution:Echo:c-1"`
		dates    = `"StartDate":"2026-11-25T10:00:00.000Z","StateMachineArn":"arn:aws:states:local:000000000000:stateMachine:Echo",`
	)
	tests := []struct {
		name     string
		def      string // the Parent machine
		input    string // the Parent's input
		pre      func(t *testing.T, te *testEngine)
		want     string // exact output of a parent that succeeds
		wantErr  string // error name of a parent that fails
		cause    string // a part of its cause
		check    func(t *testing.T, te *testEngine, exe Execution)
		children map[string]string // name → status of Echo children afterwards
	}{
		{name: ".sync:2 gives JSON values", input: `{"n":1}`,
			def:  parentDef(StartExecutionSync2, `{`+arnParam("Echo")+`,"Input":{"n.$":"$.n"},"Name":"c-1"}`),
			want: `{` + childARN + `,"Input":{"n":1},"InputDetails":{"Included":true},"Name":"c-1","Output":{"got":{"n":1},"name":"c-1"},"OutputDetails":{"Included":true},` + dates + `"Status":"SUCCEEDED","StopDate":"2026-11-25T10:00:00.000Z"}`},
		{name: ".sync gives JSON text; Input may be a string of JSON", input: `{}`,
			def:  parentDef(StartExecutionSync, `{`+arnParam("Echo")+`,"Input":"{\"n\": 2}","Name":"c-1"}`),
			want: `{` + childARN + `,"Input":"{\"n\":2}","InputDetails":{"Included":true},"Name":"c-1","Output":"{\"got\":{\"n\":2},\"name\":\"c-1\"}","OutputDetails":{"Included":true},` + dates + `"Status":"SUCCEEDED","StopDate":"2026-11-25T10:00:00.000Z"}`},
		{name: "no Input is {}", input: `{}`,
			def:  parentDef(StartExecutionSync2, `{`+arnParam("Echo")+`,"Name":"c-1"}`),
			want: `{` + childARN + `,"Input":{},"InputDetails":{"Included":true},"Name":"c-1","Output":{"got":{},"name":"c-1"},"OutputDetails":{"Included":true},` + dates + `"Status":"SUCCEEDED","StopDate":"2026-11-25T10:00:00.000Z"}`},
		{name: "plain resource answers at once", input: `{}`,
			def:      parentDef(StartExecution, `{`+arnParam("Echo")+`,"Input":{"n":3},"Name":"c-1"}`),
			want:     `{` + childARN + `,"StartDate":"2026-11-25T10:00:00.000Z"}`,
			children: map[string]string{"c-1": Succeeded}},
		{name: "the same name and input once the child has closed", input: `{}`,
			pre:     func(t *testing.T, te *testEngine) { te.run(t, "Echo", "c-1", `{"n":4}`) },
			def:     parentDef(StartExecutionSync2, `{`+arnParam("Echo")+`,"Input":{"n":4},"Name":"c-1"}`),
			wantErr: "StepFunctions.ExecutionAlreadyExistsException", cause: "execution:Echo:c-1"},
		{name: "the same name and input once the child has failed", input: `{}`,
			pre:     func(t *testing.T, te *testEngine) { te.run(t, "Fails", "c-1", `{}`) },
			def:     parentDef(StartExecution, `{`+arnParam("Fails")+`,"Name":"c-1"}`),
			wantErr: "StepFunctions.ExecutionAlreadyExistsException", cause: "execution:Fails:c-1"},
		{name: "the same name with another input", input: `{}`,
			pre:     func(t *testing.T, te *testEngine) { te.run(t, "Echo", "c-1", `{"n":0}`) },
			def:     parentDef(StartExecutionSync2, `{`+arnParam("Echo")+`,"Input":{"n":5},"Name":"c-1"}`),
			wantErr: "StepFunctions.ExecutionAlreadyExistsException", cause: "execution:Echo:c-1"},
		{name: "failed child", input: `{}`,
			def:     parentDef(StartExecutionSync2, `{`+arnParam("Fails")+`,"Input":{"n":6},"Name":"c-1"}`),
			wantErr: "States.TaskFailed",
			check: func(t *testing.T, te *testEngine, exe Execution) {
				var cause map[string]any
				if err := json.Unmarshal([]byte(exe.Error.Cause), &cause); err != nil {
					t.Fatalf("cause is not JSON: %v", err)
				}
				if cause["Status"] != "FAILED" || cause["Error"] != "Boom" || cause["Cause"] != "it broke" ||
					cause["ExecutionArn"] != localarn.Execution("Fails", "c-1") {
					t.Errorf("cause = %v", cause)
				}
			}},
		{name: "timed-out child", input: `{}`,
			def:     parentDef(StartExecutionSync, `{`+arnParam("Slow")+`,"Name":"c-1"}`),
			wantErr: "States.TaskFailed", cause: `"Status":"TIMED_OUT"`},
		{name: "unknown state machine", input: `{}`,
			def:     parentDef(StartExecutionSync2, `{`+arnParam("Nope")+`}`),
			wantErr: "StepFunctions.StateMachineDoesNotExistException", cause: "stateMachine:Nope"},
		{name: "a deployed ARN is not a local one", input: `{}`,
			def:     parentDef(StartExecutionSync2, `{"StateMachineArn":"arn:aws:states:eu-west-1:123456789012:stateMachine:Echo"}`),
			wantErr: "StepFunctions.StateMachineDoesNotExistException"},
		{name: "not an ARN", input: `{}`,
			def:     parentDef(StartExecution, `{"StateMachineArn":"Echo"}`),
			wantErr: "StepFunctions.InvalidArnException"},
		{name: "Input string that is not JSON", input: `{}`,
			def:     parentDef(StartExecution, `{`+arnParam("Echo")+`,"Input":"n=1"}`),
			wantErr: "StepFunctions.InvalidExecutionInputException"},
		{name: "invalid name", input: `{}`,
			def:     parentDef(StartExecution, `{`+arnParam("Echo")+`,"Name":"a b"}`),
			wantErr: "StepFunctions.InvalidNameException"},
		{name: "no Name gives a UUID", input: `{}`,
			def: parentDef(StartExecutionSync2, `{`+arnParam("Echo")+`,"Input":{}}`),
			check: func(t *testing.T, te *testEngine, exe Execution) {
				var out struct{ Name string }
				json.Unmarshal(exe.Output, &out)
				if !uuidName.MatchString(out.Name) {
					t.Errorf("child name %q is not a UUID", out.Name)
				}
			}},
		{name: "Lambda resources go to the functions", input: `{"x":1}`,
			def:  `{"StartAt":"F","States":{"F":{"Type":"Task","Resource":"` + localarn.Function("Double") + `","End":true}}}`,
			want: `{"doubled":{"x":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEngine(t, map[string]string{"Parent": tt.def, "Echo": echoDef, "Fails": failDef, "Slow": timeoutDef},
				map[string]any{"Double": func(in json.RawMessage) (any, error) { return map[string]any{"doubled": in}, nil }})
			if tt.pre != nil {
				tt.pre(t, te)
			}
			exe := te.run(t, "Parent", "p-1", tt.input)
			switch {
			case tt.wantErr != "":
				if exe.Status != Failed || exe.Error == nil || exe.Error.Name != tt.wantErr || !strings.Contains(exe.Error.Cause, tt.cause) {
					t.Fatalf("parent = %s %+v, want %s with cause containing %q", exe.Status, exe.Error, tt.wantErr, tt.cause)
				}
			case exe.Status != Succeeded:
				t.Fatalf("parent = %s %+v", exe.Status, exe.Error)
			case tt.want != "" && string(exe.Output) != tt.want:
				t.Fatalf("parent output\n got %s\nwant %s", exe.Output, tt.want)
			}
			if tt.check != nil {
				tt.check(t, te, exe)
			}
			for name, status := range tt.children {
				if got := te.wait(t, "Echo", name); got.Status != status {
					t.Errorf("child %s = %s, want %s", name, got.Status, status)
				}
			}
		})
	}
}

// The plain resource does not wait: the parent ends while the child still
// runs.
func TestStartExecutionDoesNotWait(t *testing.T) {
	te, b := newParentOfBlocked(t, StartExecution, "Blocked", `{`+arnParam("Blocked")+`,"Input":{"n":1},"Name":"c-1"}`)
	if exe := te.run(t, "Parent", "p-1", `{}`); exe.Status != Succeeded {
		t.Fatalf("parent = %s %+v", exe.Status, exe.Error)
	}
	<-b.Entered
	if exe, _ := te.Describe("Blocked", "c-1"); exe.Status != Running {
		t.Fatalf("child = %s, want RUNNING while blocked", exe.Status)
	}
	close(b.Release)
	if exe := te.wait(t, "Blocked", "c-1"); exe.Status != Succeeded || string(exe.Output) != `{"n":1}` {
		t.Fatalf("child = %s %s", exe.Status, exe.Output)
	}
}

// Stopping a parent that waits on a .sync child stops the child, as in AWS.
func TestStoppedParentStopsSyncChild(t *testing.T) {
	te, b := newParentOfBlocked(t, StartExecutionSync2, "Blocked", `{`+arnParam("Blocked")+`,"Name":"c-1"}`)
	if err := te.Start(context.Background(), "Parent", "p-1", nil); err != nil {
		t.Fatal(err)
	}
	<-b.Entered
	te.Stop("Parent", "p-1", "by hand")
	if exe := te.wait(t, "Parent", "p-1"); exe.Status != Aborted {
		t.Fatalf("parent = %s", exe.Status)
	}
	if exe := te.wait(t, "Blocked", "c-1"); exe.Status != Aborted || !strings.Contains(exe.Error.Cause, "parent") {
		t.Fatalf("child = %s %+v", exe.Status, exe.Error)
	}
}

// A parent and its .sync child interrupted by a shutdown both resume on
// restart, and the parent gets the one child's result. The child's machine
// sorts after the parent's, so the parent resumes first.
func TestSyncChildSurvivesRestart(t *testing.T) {
	te, b := newParentOfBlocked(t, StartExecutionSync2, "ZChild", `{`+arnParam("ZChild")+`,"Input":{"n":1},"Name":"c-1"}`)
	if err := te.Start(context.Background(), "Parent", "p-1", nil); err != nil {
		t.Fatal(err)
	}
	<-b.Entered
	if err := te.Close(); err != nil {
		t.Fatal(err)
	}
	close(b.Release) // after the restart the child's task returns at once
	te.open(t)
	if n, err := te.Resume(); err != nil || n != 2 {
		t.Fatalf("Resume = %d, %v; want both executions", n, err)
	}
	exe := te.wait(t, "Parent", "p-1")
	var out struct {
		Name   string
		Output json.RawMessage
		Status string
	}
	if err := json.Unmarshal(exe.Output, &out); exe.Status != Succeeded || err != nil || out.Name != "c-1" || string(out.Output) != `{"n":1}` {
		t.Fatalf("parent = %s %s %+v", exe.Status, exe.Output, exe.Error)
	}
	if got := len(b.Entered); got != 1 {
		t.Errorf("the child's task ran %d more times after the restart, want 1", got)
	}
}

// A parent and its .sync child that the Task does not name, interrupted by
// a shutdown, both resume on restart, and the parent finds the one child
// it started rather than start another (Step Functions never runs the
// Task again; the local runtime re-enters it). So do the children of a
// Map's iterations, one per item, and a parent resumed after its unnamed
// child ended gets that child's result. A Retry of the Task in the same
// run starts a new child, as in AWS.
func TestUnnamedChildSurvivesRestart(t *testing.T) {
	t.Run("running", func(t *testing.T) {
		te, b := newParentOfBlocked(t, StartExecutionSync2, "ZChild", `{`+arnParam("ZChild")+`,"Input":{"n":1}}`)
		if err := te.Start(context.Background(), "Parent", "p-1", nil); err != nil {
			t.Fatal(err)
		}
		<-b.Entered
		if err := te.Close(); err != nil {
			t.Fatal(err)
		}
		close(b.Release)
		te.open(t)
		if n, err := te.Resume(); err != nil || n != 2 {
			t.Fatalf("Resume = %d, %v; want both executions", n, err)
		}
		exe := te.wait(t, "Parent", "p-1")
		var out struct{ Name, Status string }
		if err := json.Unmarshal(exe.Output, &out); exe.Status != Succeeded || err != nil || out.Status != Succeeded {
			t.Fatalf("parent = %s %s %+v", exe.Status, exe.Output, exe.Error)
		}
		children, err := te.List("ZChild")
		if err != nil || len(children) != 1 || children[0].Name != out.Name {
			t.Fatalf("children %+v, %v; want the one the parent got, %s", children, err, out.Name)
		}
		if got := len(b.Entered); got != 1 {
			t.Errorf("a child's task ran %d more times after the restart, want 1 (the child resumed)", got)
		}
	})
	t.Run("map items, ended", func(t *testing.T) {
		parent := `{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items",
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"Run","States":{"Run":{
				"Type":"Task","Resource":"` + StartExecutionSync2 + `",
				"Parameters":{` + arnParam("Echo") + `,"Input":{"n.$":"$.n"}},
				"OutputPath":"$.Output.got","End":true}}},"End":true}}}`
		te := newTestEngine(t, map[string]string{"Parent": parent, "Echo": echoDef}, nil)
		exe := te.run(t, "Parent", "p-1", `{"items":[{"n":1},{"n":2},{"n":1}]}`)
		first, err := te.List("Echo")
		if err != nil || len(first) != 3 {
			t.Fatalf("children %+v, %v; want one per item, the items alike included", first, err)
		}
		// What a crash leaves when the children have ended and the parent
		// has not yet moved on: the parent running at the Map state.
		exe = te.crashAt(t, exe, "Each", exe.Checkpoint.Input)
		if exe.Status != Succeeded || string(exe.Output) != `[{"n":1},{"n":2},{"n":1}]` {
			t.Fatalf("parent = %s %s %+v", exe.Status, exe.Output, exe.Error)
		}
		// Of the two alike items, one found its child again; the other's
		// child, named at random, could not be told from a new start.
		again, err := te.List("Echo")
		if err != nil || len(again) > 4 {
			t.Fatalf("children after the restart %+v, %v; want at most one more", again, err)
		}
	})
	t.Run("retry", func(t *testing.T) {
		parent := `{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"` + StartExecutionSync2 + `",
			"Parameters":{` + arnParam("Child") + `,"Input":{"n":1}},
			"Retry":[{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":1,"MaxAttempts":1}],"End":true}}}`
		te := newTestEngine(t, map[string]string{"Parent": parent, "Child": failDef}, nil)
		if exe := te.run(t, "Parent", "p-1", `{}`); exe.Status != Failed {
			t.Fatalf("parent = %s %+v", exe.Status, exe.Error)
		}
		if children, err := te.List("Child"); err != nil || len(children) != 2 {
			t.Fatalf("children %+v, %v; want two: the Retry starts a new one", children, err)
		}
	})
}

// A distributed Map reads its items from the data dir and runs a child per
// item with startExecution.sync:2, as the batch machine does.
func TestMapOfChildExecutions(t *testing.T) {
	batch := `{"StartAt":"Each","States":{"Each":{"Type":"Map",
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSONL"},
			"Parameters":{"Bucket":"local","Key.$":"$.key"}},
		"ItemSelector":{"n.$":"$$.Map.Item.Value.n","name.$":"States.Format('{}-{}', $$.Execution.Name, $$.Map.Item.Index)"},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"Run","States":{"Run":{
			"Type":"Task","Resource":"` + StartExecutionSync2 + `",
			"Parameters":{` + arnParam("Echo") + `,"Input":{"n.$":"$.n"},"Name.$":"$.name"},
			"OutputPath":"$.Output.got","End":true}}},"End":true}}}`
	te := newTestEngine(t, map[string]string{"Batch": batch, "Echo": echoDef}, nil)
	dir := te.items
	if err := os.MkdirAll(filepath.Join(dir, "batches"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "batches", "b1.jsonl"), []byte("{\"n\":1}\n\n{\"n\":2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exe := te.run(t, "Batch", "b1", `{"key":"batches/b1.jsonl"}`)
	if exe.Status != Succeeded || string(exe.Output) != `[{"n":1},{"n":2}]` {
		t.Fatalf("batch = %s %s %+v", exe.Status, exe.Output, exe.Error)
	}
	for _, name := range []string{"b1-0", "b1-1"} {
		if c, err := te.Describe("Echo", name); err != nil || c.Status != Succeeded {
			t.Errorf("child %s: %+v %v", name, c, err)
		}
	}
}

func TestValidExecutionName(t *testing.T) {
	for name, ok := range map[string]bool{
		"job-1": true, "0b9a_x.y": true, strings.Repeat("a", 80): true, "é": true,
		"": false, strings.Repeat("a", 81): false, "a b": false, "a/b": false, "a:b": false, "a\x00": false, "a$": false,
	} {
		if err := ValidExecutionName(name); (err == nil) != ok {
			t.Errorf("ValidExecutionName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestServicesWithoutFunctions(t *testing.T) {
	s := &Services{}
	_, err := s.Invoke(context.Background(), localarn.Function("X"), json.RawMessage(`{}`))
	var se *asl.Error
	if !errors.As(err, &se) || se.Name != "States.Runtime" {
		t.Fatalf("err = %v", err)
	}
}

// A running child is the answer to starting its name again with its input,
// and runs once.
func TestStartExecutionOfARunningChild(t *testing.T) {
	b := lambdastest.NewBlocker()
	te := newTestEngine(t, map[string]string{"Blocked": blockDef}, map[string]any{"Block": b.Handle})
	if err := te.Start(context.Background(), "Blocked", "c-1", json.RawMessage(`{"n": 1}`)); err != nil {
		t.Fatal(err)
	}
	<-b.Entered
	for range 2 {
		out, err := te.svc.Invoke(context.Background(), StartExecution, json.RawMessage(`{`+arnParam("Blocked")+`,"Input":{"n":1},"Name":"c-1"}`))
		if err != nil || !strings.Contains(string(out), `"ExecutionArn":"`+localarn.Execution("Blocked", "c-1")+`"`) {
			t.Fatalf("start the running child again: %s, %v", out, err)
		}
	}
	close(b.Release)
	if exe := te.wait(t, "Blocked", "c-1"); exe.Status != Succeeded {
		t.Fatalf("child = %s %+v", exe.Status, exe.Error)
	}
	if n := len(b.Entered); n != 0 {
		t.Errorf("the child ran %d more times", n)
	}
}

// A parent starts a child name once. Only a parent resumed after a restart
// at the state entry that started the child gets that child back, however
// it ended; a later state, or a Retry of the same one, is refused as in AWS.
func TestChildNameReuse(t *testing.T) {
	sync := func(state, next string) string {
		end := `"End":true`
		if next != "" {
			end = `"Next":"` + next + `"`
		}
		return `"` + state + `":{"Type":"Task","Resource":"` + StartExecutionSync2 + `",
			"Parameters":{` + arnParam("Child") + `,"Input":{"n":1},"Name":"c-1"},"ResultPath":"$.` + state + `",` + end
	}
	tests := []struct {
		name    string
		child   string // the Child machine
		parent  string
		restart bool   // crash and restart the parent at its first state once it has ended
		wantErr string // the parent's error, or "" for success
		wantOut string // a part of the parent's output
	}{
		{name: "resumed at the state that started it", child: echoDef,
			parent: `{"StartAt":"Run","States":{` + sync("Run", "") + `}}}`, restart: true},
		{name: "resumed at the state that started a failed child", child: failDef,
			parent: `{"StartAt":"Run","States":{` + sync("Run", "") + `,
				"Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.failure","Next":"Caught"}]},"Caught":{"Type":"Pass","End":true}}}`,
			restart: true, wantOut: `\"Status\":\"FAILED\"`},
		{name: "a later state", child: echoDef,
			parent:  `{"StartAt":"Run","States":{` + sync("Run", "Again") + `},` + sync("Again", "") + `}}}`,
			wantErr: "StepFunctions.ExecutionAlreadyExistsException"},
		{name: "a Retry of the state", child: failDef,
			parent: `{"StartAt":"Run","States":{` + sync("Run", "") + `,
				"Retry":[{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":1,"MaxAttempts":1}]}}}`,
			wantErr: "StepFunctions.ExecutionAlreadyExistsException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEngine(t, map[string]string{"Parent": tt.parent, "Child": tt.child}, nil)
			exe := te.run(t, "Parent", "p-1", `{}`)
			first, err := te.Describe("Child", "c-1")
			if err != nil {
				t.Fatal(err)
			}
			if tt.restart {
				// What a crash leaves when the child has ended and the
				// parent has not yet moved on: the parent running at the
				// state that started the child.
				exe = te.crashAt(t, exe, "Run", json.RawMessage(`{}`))
			}
			switch {
			case tt.wantErr == "" && exe.Status != Succeeded:
				t.Fatalf("parent = %s %+v", exe.Status, exe.Error)
			case tt.wantErr != "" && (exe.Error == nil || exe.Error.Name != tt.wantErr):
				t.Fatalf("parent = %s %+v, want %s", exe.Status, exe.Error, tt.wantErr)
			case !strings.Contains(string(exe.Output), tt.wantOut):
				t.Fatalf("parent output %s, want it to contain %s", exe.Output, tt.wantOut)
			}
			if child, _ := te.Describe("Child", "c-1"); !child.StartTime.Equal(first.StartTime) || child.Status != first.Status {
				t.Errorf("the child changed: %+v, was %+v", child, first)
			}
		})
	}
}
