package states

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/groupcommit"
	"github.com/vidgen/vidgen/internal/local/localarn"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/uuid"
	bolt "go.etcd.io/bbolt"
)

const executionsBucket = "executions"

// Execution statuses, as Step Functions names them.
const (
	Running   = "RUNNING"
	Succeeded = "SUCCEEDED"
	Failed    = "FAILED"
	Aborted   = "ABORTED"
)

// ErrExecutionExists is Step Functions' ExecutionAlreadyExists: the name is
// taken by an execution that has closed, or that runs with another input.
var ErrExecutionExists = errors.New("execution already exists")

// Execution is the persisted state of one state machine run. Its position
// is saved before every state, so after a crash it resumes where it was.
type Execution struct {
	Machine    string          `json:"machine"`
	Name       string          `json:"name"`
	Input      json.RawMessage `json:"input"`
	StartTime  time.Time       `json:"start_time"`
	Status     string          `json:"status"`
	Checkpoint *asl.Checkpoint `json:"checkpoint,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      *asl.Error      `json:"error,omitempty"`
	StopTime   *time.Time      `json:"stop_time,omitempty"`
	// Entries counts the states it has entered, and Parent is the state
	// entry of the execution that started it with a startExecution Task:
	// together they let a parent resumed after a restart find its child.
	Entries int     `json:"entries,omitempty"`
	Parent  *Parent `json:"parent,omitempty"`
	// HistoryEvents is how many events its history would hold in Step
	// Functions once it has ended (asl.MaxHistoryEvents is the quota).
	HistoryEvents int `json:"history_events,omitempty"`
}

// Engine runs state machines and persists their executions.
type Engine struct {
	db *bolt.DB
	// writes groups concurrent executions' saves into shared commits (one
	// disk sync for all); its functions may run more than once.
	writes   *groupcommit.Committer
	machines map[string]*asl.Machine
	opts     asl.Options
	clock    clock.Clock
	log      *slog.Logger

	ctx    context.Context // ends when the engine closes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]*run // executions running in this process
	// starting holds the starts in progress by execution key: a start
	// commits the execution, which Describe then finds running, before it
	// launches it, and Wait and Stop in between must wait for the launch
	// rather than take the execution for one that runs elsewhere.
	starting map[string]*starts
}

// starts counts the starts in progress of one execution name; done closes
// when the last has launched its execution or given up.
type starts struct {
	n    int
	done chan struct{}
}

// run is an execution in progress.
type run struct {
	done   chan struct{} // closed when it ends
	cancel context.CancelCauseFunc
}

// errStopped is the cause of an execution stopped through Stop.
var errStopped = errors.New("execution stopped")

// NewEngine opens the execution database at path.
func NewEngine(path string, machines map[string]*asl.Machine, opts asl.Options, log *slog.Logger) (*Engine, error) {
	// Mapped at 1 GiB from the start and without statistics, as the job
	// store is (boltstore.Open says why).
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, InitialMmapSize: 1 << 30, NoStatistics: true})
	if err != nil {
		return nil, fmt.Errorf("open executions %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte(executionsBucket))
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("init executions: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{db: db, writes: groupcommit.New(db), machines: machines, opts: opts, clock: opts.Clock, log: log,
		ctx: ctx, cancel: cancel, running: map[string]*run{}, starting: map[string]*starts{}}, nil
}

func key(machine, name string) []byte { return []byte(machine + "/" + name) }

// Start starts an execution of machine named name, with the rules of Step
// Functions' StartExecution on a standard machine: starting a name again
// succeeds, without a second execution, only while it runs and only with
// the same input; otherwise it fails with ErrExecutionExists.
func (e *Engine) Start(_ context.Context, machine, name string, input json.RawMessage) error {
	_, _, err := e.start(machine, name, input, nil, false)
	return err
}

// Resume continues every execution left running by an earlier process.
func (e *Engine) Resume() (int, error) {
	var left []Execution
	err := e.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(executionsBucket)).ForEach(func(_, v []byte) error {
			var exe Execution
			if err := json.Unmarshal(v, &exe); err != nil {
				return err
			}
			if exe.Status == Running {
				left = append(left, exe)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("read executions: %w", err)
	}
	// Every run is registered before any starts: a resumed parent waiting
	// for a child (startExecution.sync) must find the child running, or
	// Wait would answer at once with the child still RUNNING on disk.
	ctxs := make([]context.Context, len(left))
	for i, exe := range left {
		ctxs[i] = e.register(exe)
	}
	for i, exe := range left {
		e.goRun(ctxs[i], exe)
	}
	return len(left), nil
}

func (e *Engine) launch(exe Execution) { e.goRun(e.register(exe), exe) }

// register records exe as running in this process and returns its context.
func (e *Engine) register(exe Execution) context.Context {
	ctx, cancel := context.WithCancelCause(e.ctx)
	e.mu.Lock()
	e.running[string(key(exe.Machine, exe.Name))] = &run{done: make(chan struct{}), cancel: cancel}
	e.mu.Unlock()
	e.wg.Add(1)
	return ctx
}

// goRun runs a registered execution.
func (e *Engine) goRun(ctx context.Context, exe Execution) {
	go func() {
		defer e.wg.Done()
		e.run(ctx, exe)
		k := string(key(exe.Machine, exe.Name))
		e.mu.Lock()
		r := e.running[k]
		delete(e.running, k)
		e.mu.Unlock()
		r.cancel(nil)
		close(r.done)
	}()
}

func (e *Engine) run(ctx context.Context, exe Execution) {
	m := e.machines[exe.Machine]
	if m == nil {
		e.log.Error("execution of unknown state machine left running", "machine", exe.Machine, logs.Execution, exe.Name)
		return
	}
	opts := e.opts
	// Its Tasks may start children, which record the state entry that
	// started them. Resuming enters the saved state again: that is the same
	// entry, not a new one.
	parent := &parentRun{arn: localarn.Execution(exe.Machine, exe.Name), run: uuid.New()}
	parent.entry.Store(int64(exe.Entries))
	reentry := exe.Checkpoint != nil
	ctx = context.WithValue(ctx, parentKey{}, parent)
	opts.Checkpoint = func(ctx context.Context, c asl.Checkpoint) error {
		if !reentry {
			exe.Entries++
			parent.entry.Store(int64(exe.Entries))
		}
		reentry = false
		exe.Checkpoint = &c
		return e.save(exe)
	}
	ae := asl.Execution{
		ID:   localarn.Execution(exe.Machine, exe.Name),
		Name: exe.Name, Input: exe.Input, StartTime: exe.StartTime,
	}
	if exe.Checkpoint != nil {
		e.log.Info("resuming execution", "machine", exe.Machine, logs.Execution, exe.Name, "state", exe.Checkpoint.State)
	}
	res, err := m.Execute(ctx, ae, exe.Checkpoint, opts)
	if e.ctx.Err() != nil {
		return // shutting down: the execution stays running and resumes on restart
	}
	now := e.clock.Now().UTC()
	exe.StopTime = &now
	exe.HistoryEvents = res.HistoryEvents
	var se *asl.Error
	switch {
	case errors.Is(context.Cause(ctx), errStopped):
		exe.Status, exe.Error = Aborted, &asl.Error{Name: "States.Aborted", Cause: context.Cause(ctx).Error()}
		exe.HistoryEvents++ // ExecutionAborted
	case err == nil:
		exe.Status, exe.Output = Succeeded, res.Output
	case errors.As(err, &se):
		exe.Status, exe.Error = Failed, se
	default:
		exe.Status, exe.Error = Failed, &asl.Error{Name: "States.Runtime", Cause: err.Error()}
	}
	if err := e.save(exe); err != nil {
		e.log.Error("save finished execution", "machine", exe.Machine, logs.Execution, exe.Name, "err", err)
	}
	e.log.Info("execution ended", "machine", exe.Machine, logs.Execution, exe.Name, "status", exe.Status)
}

// Stop aborts a running execution, as Step Functions' StopExecution does.
// Stopping one that is not running is harmless.
func (e *Engine) Stop(machine, name, cause string) {
	r, err := e.runOf(context.Background(), string(key(machine, name)))
	if r == nil || err != nil {
		return
	}
	r.cancel(fmt.Errorf("%w: %s", errStopped, cause))
	<-r.done
}

func (e *Engine) save(exe Execution) error {
	return e.writes.Update(func(tx *bolt.Tx) error { return put(tx.Bucket([]byte(executionsBucket)), exe) })
}

func put(b *bolt.Bucket, exe Execution) error {
	data, err := json.Marshal(exe)
	if err != nil {
		return err
	}
	return b.Put(key(exe.Machine, exe.Name), data)
}

// Describe returns an execution's persisted state.
func (e *Engine) Describe(machine, name string) (Execution, error) {
	var exe Execution
	err := e.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte(executionsBucket)).Get(key(machine, name))
		if v == nil {
			return fmt.Errorf("execution %s: %w", name, os.ErrNotExist)
		}
		return json.Unmarshal(v, &exe)
	})
	return exe, err
}

// List returns the executions of machine, oldest first, without their
// inputs, outputs and checkpoints (Describe has those).
func (e *Engine) List(machine string) ([]Execution, error) {
	var out []Execution
	prefix := key(machine, "")
	err := e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(executionsBucket)).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var exe Execution
			if err := json.Unmarshal(v, &exe); err != nil {
				return err
			}
			exe.Input, exe.Output, exe.Checkpoint = nil, nil, nil
			out = append(out, exe)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime.Before(out[j].StartTime) })
	return out, err
}

// Wait blocks until the named execution is no longer running in this
// process (or ctx ends) and returns its state.
func (e *Engine) Wait(ctx context.Context, machine, name string) (Execution, error) {
	r, err := e.runOf(ctx, string(key(machine, name)))
	if err != nil {
		return Execution{}, err
	}
	if r != nil {
		select {
		case <-r.done:
		case <-ctx.Done():
			return Execution{}, ctx.Err()
		}
	}
	return e.Describe(machine, name)
}

// runOf is the run of the execution with key k in this process, once the
// starts of it in progress have launched it; nil when it does not run here.
func (e *Engine) runOf(ctx context.Context, k string) (*run, error) {
	e.mu.Lock()
	r, s := e.running[k], e.starting[k]
	e.mu.Unlock()
	if r != nil || s == nil {
		return r, nil
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running[k], nil
}

// beginStart records a start of the execution with key k in progress; the
// function it returns ends it, after the launch.
func (e *Engine) beginStart(k string) (end func()) {
	e.mu.Lock()
	s := e.starting[k]
	if s == nil {
		s = &starts{done: make(chan struct{})}
		e.starting[k] = s
	}
	s.n++
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if s.n--; s.n == 0 {
			delete(e.starting, k)
			close(s.done)
		}
	}
}

// Close stops every execution where it stands (they resume on the next
// start) and closes the database.
func (e *Engine) Close() error {
	e.cancel()
	e.wg.Wait()
	return e.db.Close()
}

// Runs reports whether the engine runs the state machine.
func (e *Engine) Runs(machine string) bool { return e.machines[machine] != nil }

// Machines lists the logical ids of the state machines the engine runs.
func (e *Engine) Machines() []string {
	ids := make([]string, 0, len(e.machines))
	for id := range e.machines {
		ids = append(ids, id)
	}
	return ids
}

// StartCreated is Start that also reports whether this call created the
// execution: false when one of that name already ran with that input.
func (e *Engine) StartCreated(machine, name string, input json.RawMessage) (bool, error) {
	_, created, err := e.start(machine, name, input, nil, false)
	return created, err
}
