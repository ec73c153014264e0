package states

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"testing"

	"github.com/vidgen/vidgen/internal/local/lambdas/lambdastest"
	bolt "go.etcd.io/bbolt"
)

// TestStartNameReuse holds Engine.Start to StartExecution's rules for the
// names of standard machines: starting a name again succeeds, without a new
// execution, only while it runs and with the same input.
func TestStartNameReuse(t *testing.T) {
	tests := []struct {
		name    string
		machine string
		before  func(t *testing.T, te *testEngine) // leaves execution "x" as the case needs
		input   string
		wantErr bool
	}{
		{name: "a new name", machine: "Echo", input: `{"n":1}`},
		{name: "running, same input", machine: "Blocked", input: `{"n": 1}`,
			before: func(t *testing.T, te *testEngine) { te.mustStart(t, "Blocked", "x", `{"n":1}`) }},
		{name: "running, other input", machine: "Blocked", input: `{"n":2}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.mustStart(t, "Blocked", "x", `{"n":1}`) }},
		{name: "succeeded, same input", machine: "Echo", input: `{"n":1}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.run(t, "Echo", "x", `{"n":1}`) }},
		{name: "failed, same input", machine: "Fails", input: `{}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.run(t, "Fails", "x", `{}`) }},
		{name: "timed out, same input", machine: "Slow", input: `{}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.run(t, "Slow", "x", `{}`) }},
		{name: "aborted, same input", machine: "Blocked", input: `{"n":1}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) {
				te.mustStart(t, "Blocked", "x", `{"n":1}`)
				te.Stop("Blocked", "x", "by hand")
			}},
		{name: "closed, other input", machine: "Echo", input: `{"n":2}`, wantErr: true,
			before: func(t *testing.T, te *testEngine) { te.run(t, "Echo", "x", `{"n":1}`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lambdastest.NewBlocker()
			defer close(b.Release)
			te := newTestEngine(t, map[string]string{"Echo": echoDef, "Fails": failDef, "Slow": timeoutDef, "Blocked": blockDef},
				map[string]any{"Block": b.Handle})
			if tt.before != nil {
				tt.before(t, te)
			}
			prev, _ := te.Describe(tt.machine, "x")
			err := te.Start(context.Background(), tt.machine, "x", json.RawMessage(tt.input))
			if got := errors.Is(err, ErrExecutionExists); got != tt.wantErr || !got && err != nil {
				t.Fatalf("Start = %v, want ErrExecutionExists: %v", err, tt.wantErr)
			}
			if tt.before != nil {
				if now, _ := te.Describe(tt.machine, "x"); !now.StartTime.Equal(prev.StartTime) || string(now.Input) != string(prev.Input) {
					t.Errorf("the execution was replaced: %+v, was %+v", now, prev)
				}
			}
		})
	}
}

func (te *testEngine) mustStart(t *testing.T, machine, name, input string) {
	t.Helper()
	if err := te.Start(context.Background(), machine, name, json.RawMessage(input)); err != nil {
		t.Fatal(err)
	}
}

// Starting an execution again while it runs, with the same input, is
// answered from a read: no commit, which would wait for the writer and
// sync the file to disk to write nothing (the api starts again each job
// its admission has just started).
func TestStartRunningAgainWritesNothing(t *testing.T) {
	b := lambdastest.NewBlocker()
	defer close(b.Release)
	te := newTestEngine(t, map[string]string{"Blocked": blockDef}, map[string]any{"Block": b.Handle})
	te.mustStart(t, "Blocked", "x", `{"n":1}`)
	<-b.Entered // the execution waits in its Task, writing nothing meanwhile
	txID := func() int {
		var id int
		if err := te.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	before := txID()
	if err := te.Start(context.Background(), "Blocked", "x", json.RawMessage(`{"n": 1}`)); err != nil {
		t.Fatal(err)
	}
	if after := txID(); after != before {
		t.Errorf("the database went from transaction %d to %d; want no commit", before, after)
	}
}

// The read that answers a start of a running execution does not answer
// one under a derived name: that name finds only the child its parent's
// state entry started (a replay after a restart), so a running execution
// of it with the same input that is not that child leaves it taken.
func TestStartDerivedNameRunningIsTaken(t *testing.T) {
	b := lambdastest.NewBlocker()
	defer close(b.Release)
	te := newTestEngine(t, map[string]string{"Blocked": blockDef}, map[string]any{"Block": b.Handle})
	te.mustStart(t, "Blocked", "x", `{"n":1}`)
	<-b.Entered
	parent := &Parent{ExecutionARN: "arn:aws:states:local:000000000000:execution:Parent:p", Entry: 3, Run: "run"}
	if _, _, err := te.start("Blocked", "x", json.RawMessage(`{"n":1}`), parent, true); !errors.Is(err, errDerivedTaken) {
		t.Errorf("start under the derived name = %v, want errDerivedTaken", err)
	}
}

// A start commits its execution, which Describe then finds running, before
// it launches it. A Wait in between took the execution for one running in
// another process and returned it unfinished (a make test run failed so in
// TestEveryProvidersModelEndToEnd): Wait during a start waits for the run.
func TestWaitDuringStartWaitsForTheRun(t *testing.T) {
	te := newTestEngine(t, map[string]string{"M": `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`}, nil)
	tx, err := te.db.Begin(true) // holds the writer: the start stops in its commit
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- te.Start(context.Background(), "M", "x", json.RawMessage(`{}`)) }()
	for inProgress := false; !inProgress; runtime.Gosched() {
		te.mu.Lock()
		inProgress = te.starting[string(key("M", "x"))] != nil
		te.mu.Unlock()
	}
	cut, cancel := context.WithCancel(context.Background())
	cancel()
	if exe, err := te.Wait(cut, "M", "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait during a start: %+v, %v; want it waiting for the run (cut by its context)", exe, err)
	}
	waited := make(chan Execution, 1)
	go func() {
		exe, err := te.Wait(context.Background(), "M", "x")
		if err != nil {
			t.Error(err)
		}
		waited <- exe
	}()
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if exe := <-waited; exe.Status != Succeeded {
		t.Fatalf("Wait returned %s; want the ended execution", exe.Status)
	}
}
