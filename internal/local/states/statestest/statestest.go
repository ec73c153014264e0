// Package statestest gives tests of the packages around the local Step
// Functions engine a real engine on a manual clock, running definitions
// they give inline with handler functions as Lambda functions.
package statestest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/asl/asltest"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/s3dir"
	"github.com/vidgen/vidgen/internal/local/states"
)

// Start is the manual clock's time when an engine is made.
var Start = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// Definitions the tests share.
const (
	// Echo answers with its input and its own name.
	Echo = `{"StartAt":"Echo","States":{"Echo":{"Type":"Pass",
		"Parameters":{"got.$":"$","name.$":"$$.Execution.Name"},"End":true}}}`
	// Block runs the Block function, which tests hold up (see lambdastest.Blocker).
	Block = `{"StartAt":"Block","States":{"Block":{"Type":"Task",
		"Resource":"arn:aws:lambda:local:000000000000:function:Block","End":true}}}`
)

// Engine is a states.Engine on a manual clock.
type Engine struct {
	*states.Engine
	Clock *clock.Manual
}

// New parses the definitions (logical id → ASL) and opens an engine on them
// with handlers as its functions; it closes when the test ends.
func New(t testing.TB, defs map[string]string, handlers map[string]any) *Engine {
	t.Helper()
	machines := asltest.Machines(t, defs)
	clk := clock.NewManual(Start)
	svc := &states.Services{Functions: lambdas.NewFunctions(handlers)}
	opts := asl.Options{Clock: clk, Invoker: svc, ReadItems: s3dir.ReadItemsFrom(t.TempDir())}
	e, err := states.NewEngine(filepath.Join(t.TempDir(), "executions.db"), machines, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	svc.Engine = e
	t.Cleanup(func() { e.Close() })
	return &Engine{Engine: e, Clock: clk}
}

// MustStart starts an execution or fails the test.
func (e *Engine) MustStart(t testing.TB, machine, name, input string) {
	t.Helper()
	if err := e.Start(context.Background(), machine, name, json.RawMessage(input)); err != nil {
		t.Fatal(err)
	}
}

// Ended waits up to a minute for an execution to end.
func (e *Engine) Ended(t testing.TB, machine, name string) states.Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exe, err := e.Wait(ctx, machine, name)
	if err != nil {
		t.Fatal(err)
	}
	return exe
}
