// Package admission keeps bursts from overrunning the upstream: with caps
// on generations in flight (job.Limits), a new job waits, recorded but not
// submitted and without an execution, until a slot frees. The store counts
// slots and gives a job's back in the same write that ends it, on every
// path; the Dispatcher then admits waiting jobs in fair order and starts
// their executions.
package admission

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/metrics"
)

// Store is the part of a job store admission uses.
type Store interface {
	Waiting(ctx context.Context, n int) ([]job.Job, error)
	InFlight(ctx context.Context) (job.InFlight, error)
	Admit(ctx context.Context, id string, limits job.Limits, at time.Time) (job.Job, error)
}

// Starter starts a job's execution. One that runs already is success (a
// job started directly runs in its own execution, which waits for the
// slot); one that has closed is an error, since it runs nothing (the
// reconciler resumes the job).
type Starter interface {
	Start(ctx context.Context, execution, jobID string) error
}

// Tasks resumes an execution parked on a task token (Step Functions'
// SendTaskSuccess); a token whose task has closed is success.
type Tasks interface {
	SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error
}

// Dispatcher admits waiting jobs.
type Dispatcher struct {
	Store   Store
	Starter Starter
	// Tasks resumes the parked execution of an admitted job that has one
	// (a job started directly or by a batch); nil starts executions only.
	Tasks  Tasks
	Limits job.Limits
	Clock  clock.Clock
	Log    *slog.Logger // required
	// Metrics records, after each Admit, the slots held and the jobs
	// left waiting; nil records nothing.
	Metrics *metrics.Recorder
	// Together, above 1, lets a round admit up to that many jobs at once:
	// the jobs are chosen as one at a time would choose them, if each
	// admission succeeded, and then admitted and started concurrently,
	// so that a store that commits concurrent writes together (the local
	// runtime's bbolt, internal/groupcommit) commits a burst's admissions
	// in a few writes rather than one each. Which jobs are admitted, and
	// the fair order they are chosen in, stay the same; the order their
	// executions start in does not. 0 or 1 admits one job at a time, in
	// order (Lambda, costsim).
	Together int
}

// Admitter admits waiting jobs in fair order and starts their executions.
// It is the one admission interface (issue 15: one name per idea): the API,
// the registrar, the notifier and the reconciler take it, *Dispatcher is
// what they are given, and their tests pass fakes.
type Admitter interface {
	// Enabled reports whether caps apply, so that a new job must wait.
	Enabled() bool
	// Admit fills free slots, fresh jobs first, and says how many it
	// admitted.
	Admit(ctx context.Context, fresh ...job.Job) (int, error)
}

var _ Admitter = (*Dispatcher)(nil)

// Enabled reports whether any cap applies, so that new jobs must wait to
// be admitted.
func (d *Dispatcher) Enabled() bool { return d != nil && d.Limits.Enabled() }

// batch is how many waiting jobs one round looks at: the fair choice is
// among the oldest this many, so a tenant whose jobs came after them waits
// its turn behind them.
const batch = 1000

// Admit admits waiting jobs while slots are free, fairest first: the next
// slot goes to the tenant with the fewest jobs in flight, and within a
// tenant to its oldest job. It starts each admitted job's execution and
// returns how many it admitted. Admitting is safe to run anywhere at any
// time, concurrently too: the store's conditional write decides. Without
// caps it admits every waiting job, so that lifting the caps drains the
// queue.
//
// fresh are jobs the caller has just recorded waiting: DynamoDB's index of
// waiting jobs lags the table, so they may not be listed yet.
func (d *Dispatcher) Admit(ctx context.Context, fresh ...job.Job) (int, error) {
	admitted := 0
	p := d.Pass()
	for {
		n, err := p.Round(ctx, fresh...)
		admitted += n
		if err != nil || n == 0 {
			if err == nil {
				p.End()
			}
			return admitted, err
		}
	}
}

// Pass is one Admit taken a round at a time, for a caller that answers
// others between its rounds (the local runtime runs one pass at a time
// for all its admissions, and a submit needs only a round that began
// after its job was recorded, not the whole pass). Admit is Pass, then
// Round until a round admits none or fails, then End if none failed.
type Pass struct {
	d    *Dispatcher
	seen levels
}

// Pass begins a pass.
func (d *Dispatcher) Pass() *Pass { return &Pass{d: d, seen: levels{waiting: -1}} }

// Round admits what it can from one read of the waiting jobs, fresh
// first (see Admit), starts the admitted jobs' executions, and says how
// many it admitted.
func (p *Pass) Round(ctx context.Context, fresh ...job.Job) (int, error) {
	return p.d.round(ctx, fresh, &p.seen)
}

// End records, in the Dispatcher's Metrics, the slots held and the jobs
// left waiting as the pass's rounds saw them.
func (p *Pass) End() { p.d.Metrics.AdmissionRound(p.seen.inFlight, p.seen.waiting) }

// levels are what the rounds of an Admit saw: the slots held once the
// last was done, and the jobs the last that read the queue left waiting
// (-1 when none read it). Waiting counts at most the jobs a round reads
// (batch, or ten times that).
type levels struct{ inFlight, waiting int }

// round admits what it can from one batch of waiting jobs.
func (d *Dispatcher) round(ctx context.Context, fresh []job.Job, seen *levels) (int, error) {
	flight, err := d.Store.InFlight(ctx)
	if err != nil {
		return 0, err
	}
	seen.inFlight = flight.Total
	if d.Limits.Global > 0 && flight.Total >= d.Limits.Global {
		return 0, nil // every slot taken: the queue need not be read
	}
	if flight.ByTenant == nil {
		flight.ByTenant = map[string]int{}
	}
	if len(fresh) > 0 && !slices.ContainsFunc(fresh, func(j job.Job) bool { return flight.Admits(d.Limits, j.Tenant) }) {
		// The caller (a submit, a Register) admits for its fresh jobs,
		// whose tenants are all at their caps: nothing of theirs fits, and
		// a slot free for another tenant was offered to its waiting jobs
		// when it freed. Reading the queue here would make each job of a
		// burst read it whole, work that grows with the burst's square.
		return 0, nil
	}
	waiting, err := d.Store.Waiting(ctx, batch)
	if err != nil {
		return 0, err
	}
	if len(waiting) == batch && !anyAdmits(waiting, flight, d.Limits) {
		// The oldest batch all belongs to tenants at their caps while slots
		// are free: look further, so that another tenant is not starved.
		if waiting, err = d.Store.Waiting(ctx, 10*batch); err != nil {
			return 0, err
		}
	}
	waiting = withFresh(waiting, fresh)
	seen.waiting = len(waiting)
	if len(waiting) == 0 {
		return 0, nil
	}
	queues := map[string][]job.Job{} // per tenant, oldest first
	for _, j := range waiting {
		queues[j.Tenant] = append(queues[j.Tenant], j)
	}
	if d.Together > 1 {
		return d.together(ctx, queues, flight, seen)
	}
	admitted := 0
	for len(queues) > 0 {
		tenant, ok := fairest(queues, flight, d.Limits)
		if !ok {
			break // every tenant with waiting jobs is at its cap, or all are
		}
		j := queues[tenant][0]
		queues[tenant] = queues[tenant][1:]
		if len(queues[tenant]) == 0 {
			delete(queues, tenant)
		}
		adm, err := d.Store.Admit(ctx, j.ID, d.Limits, d.Clock.Now().UTC())
		switch {
		case errors.Is(err, job.ErrConflict) || errors.Is(err, job.ErrNotFound):
			seen.waiting--
			continue // admitted elsewhere meanwhile, or ended
		case errors.Is(err, job.ErrFull):
			// Another dispatcher took the slot: count again and go on.
			if flight, err = d.Store.InFlight(ctx); err != nil {
				return admitted, err
			}
			seen.inFlight = flight.Total
			if flight.ByTenant == nil {
				flight.ByTenant = map[string]int{}
			}
			continue
		case err != nil:
			return admitted, fmt.Errorf("admit job %s: %w", j.ID, err)
		}
		admitted++
		flight.Total++
		flight.ByTenant[tenant]++
		seen.inFlight, seen.waiting = flight.Total, seen.waiting-1
		jctx := logs.Job(ctx, adm.ID, adm.Tenant, adm.ExecutionName())
		d.launch(jctx, adm)
		d.Log.InfoContext(jctx, "job admitted", "in_flight", flight.Total)
	}
	return admitted, nil
}

// together admits from queues as round does, up to d.Together jobs at a
// time: it chooses them as round would if each admission succeeded, then
// admits and starts them concurrently, and counts what came of it as round
// does (a job admitted elsewhere or ended is skipped; a slot another
// dispatcher took makes it count again).
func (d *Dispatcher) together(ctx context.Context, queues map[string][]job.Job, flight job.InFlight, seen *levels) (int, error) {
	admitted := 0
	for len(queues) > 0 {
		planned := job.InFlight{Total: flight.Total, ByTenant: maps.Clone(flight.ByTenant)}
		var chosen []job.Job
		for len(chosen) < d.Together {
			tenant, ok := fairest(queues, planned, d.Limits)
			if !ok {
				break
			}
			chosen = append(chosen, queues[tenant][0])
			queues[tenant] = queues[tenant][1:]
			if len(queues[tenant]) == 0 {
				delete(queues, tenant)
			}
			planned.Total++
			planned.ByTenant[tenant]++
		}
		if len(chosen) == 0 {
			break // every tenant with waiting jobs is at its cap, or all are
		}
		at := d.Clock.Now().UTC()
		admissions := make([]job.Job, len(chosen))
		errs := make([]error, len(chosen))
		var wg sync.WaitGroup
		for i, j := range chosen {
			wg.Go(func() {
				adm, err := d.Store.Admit(ctx, j.ID, d.Limits, at)
				if admissions[i], errs[i] = adm, err; err == nil {
					d.launch(logs.Job(ctx, adm.ID, adm.Tenant, adm.ExecutionName()), adm)
				}
			})
		}
		wg.Wait()
		var failed error
		full := false
		for i, err := range errs {
			j, adm := chosen[i], admissions[i]
			switch {
			case errors.Is(err, job.ErrConflict) || errors.Is(err, job.ErrNotFound):
				seen.waiting--
				continue // admitted elsewhere meanwhile, or ended
			case errors.Is(err, job.ErrFull):
				full = true // another dispatcher took the slot
				continue
			case err != nil:
				failed = cmp.Or(failed, fmt.Errorf("admit job %s: %w", j.ID, err))
				continue
			}
			admitted++
			flight.Total++
			flight.ByTenant[adm.Tenant]++
			seen.inFlight, seen.waiting = flight.Total, seen.waiting-1
			d.Log.InfoContext(logs.Job(ctx, adm.ID, adm.Tenant, adm.ExecutionName()), "job admitted", "in_flight", flight.Total)
		}
		if failed != nil {
			return admitted, failed
		}
		if full {
			f, err := d.Store.InFlight(ctx)
			if err != nil {
				return admitted, err
			}
			flight, seen.inFlight = f, f.Total
			if flight.ByTenant == nil {
				flight.ByTenant = map[string]int{}
			}
		}
	}
	return admitted, nil
}

// launch sets an admitted job going: its parked execution is resumed with
// the token it left; any other job gets its execution started (one that
// runs is success: a job started directly that had not parked yet finds
// itself admitted at its next Submit).
func (d *Dispatcher) launch(ctx context.Context, j job.Job) {
	if j.ParkToken != "" && d.Tasks != nil {
		if err := d.Tasks.SendTaskSuccess(ctx, j.ParkToken, json.RawMessage(`{}`)); err != nil {
			// The parked task's heartbeat timeout runs Submit again, which
			// finds the job admitted.
			d.Log.ErrorContext(ctx, "resume parked job", "err", err)
		}
		return
	}
	if err := d.Starter.Start(ctx, j.ExecutionName(), j.ID); err != nil {
		// The reconciler resumes an admitted job without an execution.
		d.Log.ErrorContext(ctx, "start admitted job", "err", err)
	}
}

// anyAdmits reports whether any of the jobs' tenants is under its cap.
func anyAdmits(jobs []job.Job, flight job.InFlight, limits job.Limits) bool {
	for _, j := range jobs {
		if flight.Admits(limits, j.Tenant) {
			return true
		}
	}
	return false
}

// withFresh adds the fresh jobs the list lacks, keeping it oldest first.
func withFresh(waiting, fresh []job.Job) []job.Job {
	for _, f := range fresh {
		if f.Waiting && !slices.ContainsFunc(waiting, func(j job.Job) bool { return j.ID == f.ID }) {
			waiting = append(waiting, f)
		}
	}
	slices.SortStableFunc(waiting, func(a, b job.Job) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return waiting
}

// fairest is the tenant whose waiting job goes next: the one with fewest in
// flight that is under its cap, then the one whose oldest job is oldest.
func fairest(queues map[string][]job.Job, flight job.InFlight, limits job.Limits) (string, bool) {
	var candidates []string
	for tenant := range queues {
		if flight.Admits(limits, tenant) {
			candidates = append(candidates, tenant)
		}
	}
	if len(candidates) == 0 {
		return "", false
	}
	slices.SortFunc(candidates, func(a, b string) int {
		return cmp.Or(cmp.Compare(flight.ByTenant[a], flight.ByTenant[b]),
			queues[a][0].CreatedAt.Compare(queues[b][0].CreatedAt), cmp.Compare(a, b))
	})
	return candidates[0], true
}
