package states

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/uuid"
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
// run is a new start, as in AWS. With derived set, the name is one
// startUnnamed made, and only that replay finds an execution of that name:
// any other fails with errDerivedTaken.
func (e *Engine) start(machine, name string, input json.RawMessage, parent *Parent, derived bool) (Execution, bool, error) {
	if _, ok := e.machines[machine]; !ok {
		return Execution{}, false, fmt.Errorf("start %s: no state machine %q", name, machine)
	}
	input, err := asl.CompactInput(input)
	if err != nil {
		return Execution{}, false, fmt.Errorf("start %s: input: %w", name, err)
	}
	// A read first: a start of an execution that runs with the same input
	// (the api starts again the job its admission has just started) is
	// answered beside the writer, where the write below would wait for a
	// commit, synced to disk, that writes nothing. A derived name finds
	// only its replay, which the write decides.
	if prev, err := e.Describe(machine, name); err == nil && !derived && prev.Status == Running && bytes.Equal(prev.Input, input) {
		return prev, false, nil
	}
	defer e.beginStart(string(key(machine, name)))()
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
			case derived && !(sameInput && replay(prev.Parent, parent)):
				refused = errDerivedTaken
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

// errDerivedTaken is a name startUnnamed derived that an execution other
// than the child it looks for holds.
var errDerivedTaken = errors.New("derived child name taken")

// startUnnamed starts a child that its Task does not name. Step Functions
// names it with a random UUID, and never runs the Task again once it
// started the child. The local runtime does, in a parent resumed after a
// restart (see start), which must find the child it started: a random
// name would start a second child instead (a batch's Map resumed after a
// kill ran every item's video_job again, each following the job the
// first drives). So the name is derived from the parent's state entry and
// the child's machine and input, in the form of a name-based (version 5)
// UUID. Where the derived name is taken other than by that child (a Retry
// of the Task in the same run, two iterations of a Map with the same
// input), the child gets a random name, as in AWS. Without a parent the
// name is random.
func (e *Engine) startUnnamed(machine string, input json.RawMessage, parent *Parent) (Execution, error) {
	if parent != nil {
		compact, err := asl.CompactInput(input)
		if err != nil {
			return Execution{}, fmt.Errorf("start child: input: %w", err)
		}
		exe, _, err := e.start(machine, childName(parent, machine, compact), compact, parent, true)
		if !errors.Is(err, errDerivedTaken) {
			return exe, err
		}
	}
	exe, _, err := e.start(machine, uuid.New(), input, parent, false)
	return exe, err
}

// childName is the name startUnnamed derives for the child of machine
// with input that parent's state entry starts.
func childName(parent *Parent, machine string, input json.RawMessage) string {
	h := sha1.New() // RFC 9562's name-based UUIDs (version 5) are SHA-1's
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00", parent.ExecutionARN, parent.Entry, machine)
	h.Write(input)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u[:])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// replay reports whether parent, resumed after a restart, starts again from
// the state entry that started the child it had started.
func replay(started, parent *Parent) bool {
	return started != nil && parent != nil && started.ExecutionARN == parent.ExecutionARN &&
		started.Entry == parent.Entry && started.Run != parent.Run
}
