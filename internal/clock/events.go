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
// time, not when ctx ends, except that a sleep longer than the time ctx's
// WithTimeout leaves wakes then and ends ctx.
func (e *Events) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d, cut := within(ctx, d)
	ch := e.schedule(max(d, 0))
	e.yield <- struct{}{}
	<-ch
	if cut != nil {
		return cut.end(ctx)
	}
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

// Interruptible prepares a sleep of d of simulated time, without limit when
// d is negative, that wake ends early: a process waiting for a callback
// sleeps until its deadline, and the process that calls back wakes it at
// that same instant. sleep must be called from a process; wake may be
// called before it (sleep then returns at once), more than once, and from
// any process. Like Sleep, sleep only checks ctx. A sleep without limit
// that is never woken parks its process for good: Run ends without it.
func (e *Events) Interruptible(d time.Duration) (sleep func(ctx context.Context) error, wake func()) {
	a := &alarm{ch: make(chan struct{})}
	sleep = func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.mu.Lock()
		if a.woken {
			e.mu.Unlock()
			return ctx.Err()
		}
		a.parked = true
		if d >= 0 {
			e.push(e.now.Add(d), a)
		}
		e.mu.Unlock()
		e.yield <- struct{}{}
		<-a.ch
		return ctx.Err()
	}
	wake = func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if a.woken {
			return
		}
		a.woken = true
		if a.parked {
			// The wake-up at the deadline stays queued; Run skips it once
			// this one has fired.
			e.push(e.now, a)
		}
	}
	return sleep, wake
}

// push queues a wake-up of an interruptible sleep; e.mu must be held.
func (e *Events) push(at time.Time, a *alarm) {
	e.seq++
	heap.Push(&e.queue, wakeup{at: at, seq: e.seq, ch: a.ch, alarm: a})
}

// An alarm is one interruptible sleep, which may have two wake-ups queued
// (its deadline and a wake); only the first to come due resumes it.
type alarm struct {
	ch     chan struct{}
	parked bool // its process sleeps
	woken  bool // wake was called
	fired  bool // a wake-up resumed it
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
		if w.alarm != nil {
			if w.alarm.fired {
				e.mu.Unlock()
				continue // resumed already by its other wake-up
			}
			w.alarm.fired = true
		}
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
	at    time.Time
	seq   uint64
	ch    chan struct{}
	alarm *alarm // set for an interruptible sleep
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
