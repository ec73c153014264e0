package states

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/vidgen/vidgen/internal/asl"
	bolt "go.etcd.io/bbolt"
)

// Parent identifies the state entry of a parent execution that started a
// child through a startExecution Task.
type Parent struct {
	ExecutionARN string `json:"execution_arn"`
	// Entry counts the parent's state entries up to the Task's, from 1.
	Entry int `json:"entry"`
	// Run names the run (process) of the parent that started the child.
	Run string `json:"run"`
}

// parentRun is the identity of a running execution as a parent; Engine.run
// puts it in the context of its Tasks.
type parentRun struct {
	arn   string
	run   string
	entry atomic.Int64 // the current state entry; Map iterations read it
}

type parentKey struct{}

// parentOf is the running execution whose Task ctx belongs to, or nil.
func parentOf(ctx context.Context) *Parent {
	p, ok := ctx.Value(parentKey{}).(*parentRun)
	if !ok {
		return nil
	}
	return &Parent{ExecutionARN: p.arn, Entry: int(p.entry.Load()), Run: p.run}
}

// start starts an execution named name unless one exists, with Step
// Functions' rules for names of standard machines: a name is never reused,
// so starting it again succeeds, without a new execution, only while the
// execution runs and only with the same input; once the execution has
// closed, whatever its status, or with another input, the start fails with
// ErrExecutionExists. It returns the execution and whether this call
// created it.
//
// parent, set for a startExecution Task, adds one case that Step Functions
// never meets: the local runtime resumes an execution after a restart at
// the state it was in, so a parent may start its child again from the very
// state entry that started it before, and must find that child, even if it
// has closed meanwhile, rather than fail. A Retry of the Task in the same
// run is a new start, as in AWS.
func (e *Engine) start(machine, name string, input json.RawMessage, parent *Parent) (Execution, bool, error) {
	if _, ok := e.machines[machine]; !ok {
		return Execution{}, false, fmt.Errorf("start %s: no state machine %q", name, machine)
	}
	input, err := asl.CompactInput(input)
	if err != nil {
		return Execution{}, false, fmt.Errorf("start %s: input: %w", name, err)
	}
	fresh := Execution{Machine: machine, Name: name, Input: input, StartTime: e.clock.Now().UTC(), Status: Running, Parent: parent}
	var (
		exe     Execution
		created bool
		refused error
	)
	// The function may run more than once (groupcommit): it sets its
	// results afresh, and hands a refusal back without failing the group.
	err = e.writes.Update(func(tx *bolt.Tx) error {
		exe, created, refused = fresh, false, nil
		b := tx.Bucket([]byte(executionsBucket))
		if old := b.Get(key(machine, name)); old != nil {
			var prev Execution
			if err := json.Unmarshal(old, &prev); err != nil {
				refused = err
				return nil
			}
			sameInput := bytes.Equal(prev.Input, input)
			switch {
			case sameInput && prev.Status == Running, sameInput && replay(prev.Parent, parent):
				exe = prev
			case prev.Status != Running:
				refused = fmt.Errorf("start %s: %w: it has closed (%s)", name, ErrExecutionExists, prev.Status)
			default:
				refused = fmt.Errorf("start %s: %w: it is running with a different input", name, ErrExecutionExists)
			}
			return nil
		}
		created = true
		return put(b, exe)
	})
	if err = cmp.Or(err, refused); err != nil {
		return Execution{}, false, err
	}
	if created {
		e.launch(exe)
	}
	return exe, created, nil
}

// replay reports whether parent, resumed after a restart, starts again from
// the state entry that started the child it had started.
func replay(started, parent *Parent) bool {
	return started != nil && parent != nil && started.ExecutionARN == parent.ExecutionARN &&
		started.Entry == parent.Entry && started.Run != parent.Run
}
