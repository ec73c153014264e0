package states

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/vidgen/vidgen/internal/asl"
)

// callbackDef hands a task token to the Worker function and waits for it.
const callbackDef = `{"StartAt":"Wait for worker","States":{"Wait for worker":{"Type":"Task",
	"Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
	"Parameters":{"FunctionName":"arn:aws:lambda:local:000000000000:function:Worker",
		"Payload":{"token.$":"$$.Task.Token","job.$":"$.job"}},
	"ResultPath":"$.result","End":true}}}`

// workerTokens returns a Worker function that passes on each token it is
// given, as a worker queueing the job would.
func workerTokens() (func(context.Context, struct{ Token, Job string }) (map[string]bool, error), chan string) {
	tokens := make(chan string, 4)
	return func(_ context.Context, in struct{ Token, Job string }) (map[string]bool, error) {
		tokens <- in.Token
		return map[string]bool{"queued": true}, nil
	}, tokens
}

// TestEngineCallbacks runs a callback task on the engine: SendTaskSuccess
// and SendTaskFailure end it with AWS's semantics, and tokens of closed
// tasks answer as AWS does.
func TestEngineCallbacks(t *testing.T) {
	ctx := context.Background()
	worker, tokens := workerTokens()
	te := newTestEngine(t, map[string]string{"Cb": callbackDef}, map[string]any{"Worker": worker})
	if err := te.SendTaskHeartbeat(ctx, "t"); !errors.Is(err, errNoTasks) {
		t.Fatalf("SendTaskHeartbeat without Tasks = %v", err)
	}
	te.Close()
	te.opts.Tasks = asl.NewTasks(nil)
	te.open(t)
	tests := []struct {
		name   string
		send   func(token string) error
		status string
		want   string // output of a SUCCEEDED execution
		errVal string // error name of a FAILED one
	}{
		{name: "success", send: func(tok string) error { return te.SendTaskSuccess(ctx, tok, json.RawMessage(`{"url":"v.mp4"}`)) },
			status: Succeeded, want: `{"job":"j","result":{"url":"v.mp4"}}`},
		{name: "failure", send: func(tok string) error { return te.SendTaskFailure(ctx, tok, "GenerationFailed", "nsfw") },
			status: Failed, errVal: "GenerationFailed"},
		{name: "heartbeat then success", send: func(tok string) error {
			if err := te.SendTaskHeartbeat(ctx, tok); err != nil {
				return err
			}
			return te.SendTaskSuccess(ctx, tok, json.RawMessage(`1`))
		}, status: Succeeded, want: `{"job":"j","result":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := te.Start(ctx, "Cb", tt.name, json.RawMessage(`{"job":"j"}`)); err != nil {
				t.Fatal(err)
			}
			token := <-tokens
			if err := tt.send(token); err != nil {
				t.Fatal(err)
			}
			exe := te.wait(t, "Cb", tt.name)
			if exe.Status != tt.status || tt.want != "" && string(exe.Output) != tt.want ||
				tt.errVal != "" && (exe.Error == nil || exe.Error.Name != tt.errVal) {
				t.Fatalf("execution %s, output %s, error %v", exe.Status, exe.Output, exe.Error)
			}
			if err := te.SendTaskSuccess(ctx, token, json.RawMessage(`{}`)); !errors.Is(err, asl.ErrTaskTimedOut) {
				t.Fatalf("SendTaskSuccess on a closed task = %v, want TaskTimedOut", err)
			}
		})
	}
	if err := te.SendTaskHeartbeat(ctx, "forged"); !errors.Is(err, asl.ErrInvalidToken) {
		t.Fatalf("SendTaskHeartbeat(forged) = %v, want InvalidToken", err)
	}
}

// TestCallbackAcrossRestart stops the engine while a task waits for its
// token: on restart the state is entered again under a new token, and the
// old one answers TaskTimedOut, as a closed task's does, because the key
// of the tokens outlives the process.
func TestCallbackAcrossRestart(t *testing.T) {
	ctx := context.Background()
	worker, tokens := workerTokens()
	te := newTestEngine(t, map[string]string{"Cb": callbackDef}, map[string]any{"Worker": worker})
	key := []byte("a key kept in the data dir......")
	te.opts.Tasks = asl.NewTasks(key)
	te.Close()
	te.open(t)
	if err := te.Start(ctx, "Cb", "r", json.RawMessage(`{"job":"j"}`)); err != nil {
		t.Fatal(err)
	}
	old := <-tokens
	if err := te.Close(); err != nil {
		t.Fatal(err)
	}
	te.opts.Tasks = asl.NewTasks(key) // a new process
	te.open(t)
	if n, err := te.Resume(); err != nil || n != 1 {
		t.Fatalf("Resume = %d, %v", n, err)
	}
	token := <-tokens
	if token == old {
		t.Fatal("the resumed task kept its token")
	}
	if err := te.SendTaskSuccess(ctx, old, json.RawMessage(`{}`)); !errors.Is(err, asl.ErrTaskTimedOut) {
		t.Fatalf("the old token answers %v, want TaskTimedOut", err)
	}
	if err := te.SendTaskSuccess(ctx, token, json.RawMessage(`"done"`)); err != nil {
		t.Fatal(err)
	}
	if exe := te.wait(t, "Cb", "r"); exe.Status != Succeeded || string(exe.Output) != `{"job":"j","result":"done"}` {
		t.Fatalf("execution %s, output %s, error %v", exe.Status, exe.Output, exe.Error)
	}
}
