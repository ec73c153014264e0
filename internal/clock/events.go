package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Events is a discrete-event clock for simulations: time moves only from
// one wake-up to the next, never with the wall clock. Processes started
// with Go run one at a time; a process runs until it calls Sleep or
// returns, and then the clock jumps to the earliest wake-up and resumes
// that process. Wake-ups at the same instant run in the order they were
// scheduled, so a simulation whose processes do nothing random runs the
// same way every time, however fast the machine is.
//
// A process must not wait on anything but Sleep for another process: only
// one runs at a time, so that would never return.
type Events struct {
	mu    sync.Mutex
	now   time.Time
	seq   uint64
	queue wakeups
	yield chan struct{} // the running process gives control back
}

// NewEvents returns a discrete-event clock set to start.
func NewEvents(start time.Time) *Events {
	return &Events{now: start, yield: make(chan struct{})}
}

// Now returns the simulated time.
func (e *Events) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

// Go schedules f to start as a process at the current simulated time, after
// the wake-ups already due then. It may be called from a process.
func (e *Events) Go(f func()) {
	ch := e.schedule(0)
	go func() {
		<-ch
		defer func() { e.yield <- struct{}{} }()
		f()
	}()
}

// Sleep parks the calling process for d of simulated time. It must be
// called from a process. ctx is only checked: a parked process wakes at its
// time, not when ctx ends.
func (e *Events) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ch := e.schedule(max(d, 0))
	e.yield <- struct{}{}
	<-ch
	return ctx.Err()
}

func (e *Events) schedule(d time.Duration) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch := make(chan struct{})
	e.seq++
	heap.Push(&e.queue, wakeup{at: e.now.Add(d), seq: e.seq, ch: ch})
	return ch
}

// Run runs the processes until none is left or ctx ends, and returns the
// simulated time then. Call it from outside the processes, once.
func (e *Events) Run(ctx context.Context) time.Time {
	for ctx.Err() == nil {
		e.mu.Lock()
		if e.queue.Len() == 0 {
			e.mu.Unlock()
			break
		}
		w := heap.Pop(&e.queue).(wakeup)
		e.now = w.at
		e.mu.Unlock()
		close(w.ch)
		<-e.yield // the process slept again or returned
	}
	return e.Now()
}

// Pending reports how many wake-ups are scheduled.
func (e *Events) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.queue.Len()
}

type wakeup struct {
	at  time.Time
	seq uint64
	ch  chan struct{}
}

// wakeups is a min-heap by time, then by scheduling order.
type wakeups []wakeup

func (w wakeups) Len() int { return len(w) }
func (w wakeups) Less(i, j int) bool {
	if !w[i].at.Equal(w[j].at) {
		return w[i].at.Before(w[j].at)
	}
	return w[i].seq < w[j].seq
}
func (w wakeups) Swap(i, j int) { w[i], w[j] = w[j], w[i] }
func (w *wakeups) Push(x any)   { *w = append(*w, x.(wakeup)) }
func (w *wakeups) Pop() any {
	old := *w
	x := old[len(old)-1]
	*w = old[:len(old)-1]
	return x
}
