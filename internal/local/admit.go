package local

import (
	"context"
	"sync"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/job"
)

// oneAdmission runs the runtime's admissions one at a time: one pass of
// the Dispatcher at a time, taken a round at a time, serves every call.
//
// Every submit, registration and end admits. In AWS they run in separate
// Lambdas; here they share one process and one job store, and when a burst
// of submits finds slots free, each would walk the same list of waiting
// jobs in lockstep with the others, racing for each job in turn: one write
// wins, the rest are refused, and the burst's work grows with its size
// times the free slots. One pass at a time does that walk once. What a
// pass admits, and in what order, is the Dispatcher's as before.
//
// A call waits for one round, the next to begin: a round reads the
// waiting jobs afresh and is given the fresh jobs of the calls that wait
// for it, so it admits the caller's job if anything can. The call does not
// wait for the rest of the pass, which goes on while its rounds admit: in
// a burst of submits that find slots free, each round admits the jobs
// recorded since the last, so the pass lasts as long as the burst, and a
// call that waited for the pass to end (and the next pass, its own) waited
// for every admission of the burst (issue 17's paced load test: the first
// 50 submits all answered together, after 0.3 s).
type oneAdmission struct {
	passes passer

	mu       sync.Mutex
	running  bool   // a round runs, or the pass goes on to its next
	next     *round // the calls waiting for the next round; nil if none
	admitted int    // how many all rounds have admitted: what a call's wait saw
}

// passer begins admission passes (admission.Dispatcher, through
// dispatcherPasses).
type passer interface {
	Enabled() bool
	Pass() roundPass
}

// roundPass is one pass taken a round at a time (admission.Pass).
type roundPass interface {
	Round(ctx context.Context, fresh ...job.Job) (int, error)
	End()
}

// dispatcherPasses is a Dispatcher as a passer.
type dispatcherPasses struct{ *admission.Dispatcher }

func (d dispatcherPasses) Pass() roundPass { return d.Dispatcher.Pass() }

// round is one round, made for the calls that wait for it.
type round struct {
	// ctx is its first caller's, without its end: the round runs on for
	// the others (its values: logging attributes).
	ctx context.Context
	// fresh are the callers' fresh jobs; all says a caller passed none,
	// so the round must read the whole queue (see Admit).
	fresh []job.Job
	all   bool

	done     chan struct{} // closed once admitted and err are set
	admitted int           // oneAdmission.admitted once it was done
	err      error
}

var _ admission.Admitter = (*oneAdmission)(nil)

// Enabled reports whether caps apply.
func (o *oneAdmission) Enabled() bool { return o.passes.Enabled() }

// Admit admits as the Dispatcher does, and says how many jobs were
// admitted while the call waited, its round's included. A call that finds
// no round running runs one at once, on its own goroutine, and the pass
// goes on, if it must, on another; one that comes during a round waits
// for the next, shared with the calls that came meanwhile. Its ctx ending
// stops its wait, not the round.
func (o *oneAdmission) Admit(ctx context.Context, fresh ...job.Job) (int, error) {
	o.mu.Lock()
	mark := o.admitted
	r := o.next
	if r == nil {
		r = &round{ctx: context.WithoutCancel(ctx), done: make(chan struct{})}
		o.next = r
	}
	r.fresh = append(r.fresh, fresh...)
	r.all = r.all || len(fresh) == 0
	if o.running {
		o.mu.Unlock()
		select {
		case <-r.done:
			return r.admitted - mark, r.err
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	o.running = true
	o.next = nil
	o.mu.Unlock()
	var p passState
	o.run(&p, r)
	if o.goOn(&p) {
		go o.drain(&p)
	}
	return r.admitted - mark, r.err
}

// passState is the pass under way and its last round.
type passState struct {
	pass roundPass // nil until a round begins one, and once it has ended
	last *round    // the last round, while the pass goes on after it
}

// run runs r as the pass's next round, beginning a pass if none is under
// way, and ends the pass when r admits none (Dispatcher.Admit's rule) or
// fails.
func (o *oneAdmission) run(p *passState, r *round) {
	if p.pass == nil {
		p.pass = o.passes.Pass()
	}
	// A caller that passed no fresh jobs asks for the whole queue, which
	// holds the others' fresh jobs too (the store indexes a waiting job in
	// the write that records it); with fresh jobs only, the Dispatcher
	// reads the queue only if one may fit.
	var n int
	var err error
	if r.all {
		n, err = p.pass.Round(r.ctx)
	} else {
		n, err = p.pass.Round(r.ctx, r.fresh...)
	}
	p.last = r
	switch {
	case err != nil:
		p.pass, p.last = nil, nil
	case n == 0:
		p.pass.End()
		p.pass, p.last = nil, nil
	}
	o.mu.Lock()
	o.admitted += n
	r.admitted, r.err = o.admitted, err
	o.mu.Unlock()
	close(r.done)
}

// goOn reports whether another round must run: calls wait for one, or
// the pass goes on. If not, the runtime is idle again.
func (o *oneAdmission) goOn(p *passState) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.next == nil && p.last == nil {
		o.running = false
		return false
	}
	return true
}

// drain runs rounds until no call waits and the pass has ended: a round
// for the calls that came meanwhile, or, with none, the pass's next round
// for the last one's callers, as Dispatcher.Admit would run it.
func (o *oneAdmission) drain(p *passState) {
	for {
		o.mu.Lock()
		r := o.next
		o.next = nil
		o.mu.Unlock()
		if r == nil {
			r = &round{ctx: p.last.ctx, fresh: p.last.fresh, all: p.last.all, done: make(chan struct{})}
		}
		o.run(p, r)
		if !o.goOn(p) {
			return
		}
	}
}
