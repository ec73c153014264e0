package local

import (
	"context"
	"sync"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/job"
)

// oneAdmission runs the runtime's admissions one pass at a time: calls that
// come while a pass runs share the next pass, which admits for all of them
// at once.
//
// Every submit, registration and end admits. In AWS they run in separate
// Lambdas; here they share one process and one job store, and when a burst
// of submits finds slots free, each would walk the same list of waiting
// jobs in lockstep with the others, racing for each job in turn: one write
// wins, the rest are refused, and the burst's work grows with its size
// times the free slots. One pass at a time does that walk once. What a
// pass admits, and in what order, is the Dispatcher's as before.
type oneAdmission struct {
	inner admission.Admitter

	mu      sync.Mutex
	running bool  // a pass runs
	next    *pass // the calls waiting for the pass after it; nil if none
}

// pass is one call of the inner Admitter made for its callers.
type pass struct {
	ctx context.Context
	// fresh are the callers' fresh jobs; all says a caller passed none,
	// so the pass must read the whole queue (see Admit).
	fresh []job.Job
	all   bool

	done chan struct{} // closed once n and err are set
	n    int
	err  error
}

var _ admission.Admitter = (*oneAdmission)(nil)

// Enabled reports whether caps apply.
func (o *oneAdmission) Enabled() bool { return o.inner.Enabled() }

// Admit admits as the inner Admitter does. A call that finds no pass
// running makes its own, at once; one that comes during a pass waits for
// the next, shared with the calls that came meanwhile, and gets that
// pass's count. Its ctx ending stops its wait, not the pass.
func (o *oneAdmission) Admit(ctx context.Context, fresh ...job.Job) (int, error) {
	o.mu.Lock()
	if !o.running {
		o.running = true
		o.mu.Unlock()
		n, err := o.inner.Admit(ctx, fresh...)
		o.handOn()
		return n, err
	}
	p := o.next
	if p == nil {
		// The pass runs on after this caller may have gone: its values
		// (logging attributes) without its end.
		p = &pass{ctx: context.WithoutCancel(ctx), done: make(chan struct{})}
		o.next = p
	}
	p.fresh = append(p.fresh, fresh...)
	p.all = p.all || len(fresh) == 0
	o.mu.Unlock()
	select {
	case <-p.done:
		return p.n, p.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// handOn ends the pass that ran: the calls that came meanwhile get theirs
// on a goroutine of its own, so that no caller waits for others' passes.
func (o *oneAdmission) handOn() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.next == nil {
		o.running = false
		return
	}
	go o.drain()
}

// drain runs the waiting passes until none is left.
func (o *oneAdmission) drain() {
	for {
		o.mu.Lock()
		p := o.next
		if p == nil {
			o.running = false
			o.mu.Unlock()
			return
		}
		o.next = nil
		o.mu.Unlock()
		// A caller that passed no fresh jobs asks for the whole queue,
		// which holds the others' fresh jobs too (the store indexes a
		// waiting job in the write that records it); with fresh jobs
		// only, the Dispatcher reads the queue only if one may fit.
		if p.all {
			p.n, p.err = o.inner.Admit(p.ctx)
		} else {
			p.n, p.err = o.inner.Admit(p.ctx, p.fresh...)
		}
		close(p.done)
	}
}
