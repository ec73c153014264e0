package states

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/vidgen/vidgen/internal/asl"
)

// TestExecutionHistoryEvents: a finished execution records how many events
// its history would hold in Step Functions, also across a restart that
// resumes it.
func TestExecutionHistoryEvents(t *testing.T) {
	worker, tokens := workerTokens()
	te := newTestEngine(t, map[string]string{"Echo": echoDef, "Fail": failDef, "Cb": callbackDef}, map[string]any{"Worker": worker})
	te.Close()
	te.opts.Tasks = asl.NewTasks([]byte("history test key"))
	te.open(t)
	// ExecutionStarted, PassStateEntered, PassStateExited, ExecutionSucceeded.
	if exe := te.run(t, "Echo", "e", `{}`); exe.HistoryEvents != 4 {
		t.Errorf("Echo: %d events, want 4", exe.HistoryEvents)
	}
	// ExecutionStarted, FailStateEntered, ExecutionFailed.
	if exe := te.run(t, "Fail", "f", `{}`); exe.HistoryEvents != 3 {
		t.Errorf("Fail: %d events, want 3", exe.HistoryEvents)
	}
	ctx := context.Background()
	if err := te.Start(ctx, "Cb", "c", json.RawMessage(`{"job":"j"}`)); err != nil {
		t.Fatal(err)
	}
	<-tokens
	te.Close()
	te.opts.Tasks = asl.NewTasks([]byte("history test key"))
	te.open(t)
	if _, err := te.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := te.SendTaskSuccess(ctx, <-tokens, json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	// The resumed run counts from its checkpoint: ExecutionStarted, then
	// Entered, Scheduled, Started, Submitted, Succeeded, Exited once (the
	// interrupted attempt is not counted again) and ExecutionSucceeded.
	if exe := te.wait(t, "Cb", "c"); exe.Status != Succeeded || exe.HistoryEvents != 8 {
		t.Errorf("Cb: %s with %d events, want SUCCEEDED with 8", exe.Status, exe.HistoryEvents)
	}
}
