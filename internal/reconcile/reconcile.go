// Package reconcile ends or resumes jobs that their state machine no longer
// drives. Step handlers end a job at its deadline and the machine's Catch-all
// records failures, but an execution can still vanish (stopped by hand,
// never started after a crash, a bug): the reconciler runs on a schedule and
// makes sure every job ends anyway, and that every end is announced: the
// stores list an ended job among the open ones until its end is marked
// announced, so an end whose execution failed to announce it (its Finish
// failed on every retry) gets an execution that only announces it.
//
// Each pass also keeps the slot counters (the caps of job.Limits) right.
// The stores take a slot and give it back in the same atomic write as the
// job's admission and its end, so the counters should always equal the
// jobs holding a slot; a pass recounts those jobs anyway (Slots) and
// writes the recount over counters that differ, with a warning that shows
// both. A slot lost to a drift would otherwise stay lost for good, and a
// tenant whose counter reads its cap would never run again. The recount
// is made safe against admissions and ends running at the same time by
// the store (see its RepairSlots): a repair that meets one backs off and
// the next pass repairs.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/metrics"
)

// Store is the part of a job store the reconciler uses.
type Store interface {
	OpenJobs(ctx context.Context) ([]string, error)
	Get(ctx context.Context, id string) (job.Job, error)
	Update(ctx context.Context, id string, c job.Change) (job.Job, error)
	Slots
}

// Slots repairs the slot counters of a job store.
type Slots interface {
	// RepairSlots recounts the jobs holding a slot and writes the recount
	// over counters that differ. It returns the counts as they were and as
	// they are now, equal when nothing was wrong. An error wrapping
	// job.ErrConflict means a slot moved during the recount and nothing
	// was written.
	RepairSlots(ctx context.Context) (before, after job.InFlight, err error)
}

// Executions runs video_job executions by name.
type Executions interface {
	// Running reports whether the named execution exists and is running.
	Running(ctx context.Context, name string) (bool, error)
	// Start starts an execution of jobID under name.
	Start(ctx context.Context, name, jobID string) error
}

// Reconciler checks open jobs.
type Reconciler struct {
	Store      Store
	Executions Executions
	Clock      clock.Clock
	// Grace is how long past its deadline a job may stay open before the
	// reconciler ends it; the steps normally end it within a poll interval.
	Grace time.Duration
	// MinAge is how long a job's record must have stood still before an
	// execution that is not running counts as lost, and the job is resumed
	// under a new execution name. A job no step has touched yet whose
	// execution is not running is started under its own name at once
	// instead: its start failed or was cut off (the API answered 503), and
	// a start racing another of the same name is the same execution.
	MinAge time.Duration
	// Admission, if set, admits waiting jobs at the start of each pass, in
	// case a slot's release found no one to admit into it.
	Admission admission.Admitter
	// Log gets a line for each act and failure, and a summary of each
	// pass at DEBUG: a pass that finds nothing to do is silent at INFO.
	Log *slog.Logger // required
	// Metrics records each act and the ends the reconciler writes; nil
	// records nothing.
	Metrics *metrics.Recorder
}

// Report counts what one pass did.
type Report struct {
	Open     int `json:"open"`
	TimedOut int `json:"timed_out"`
	Resumed  int `json:"resumed"`
	Started  int `json:"started"` // jobs whose execution had never started
	// Announced counts ended jobs whose end no execution announced, given
	// one that announces it.
	Announced int `json:"announced"`
	Failed    int `json:"failed"` // jobs the pass could not handle; retried next pass
	// Repaired is whether the slot counters differed from the jobs holding
	// a slot, and were set right.
	Repaired bool `json:"repaired"`
}

// Run makes one pass over every open job. It returns an error only when it
// could not list them; problems with single jobs are counted and logged.
func (r *Reconciler) Run(ctx context.Context) (Report, error) {
	// First, so that slots a drift kept are free for the admission below.
	repaired := r.repairSlots(ctx)
	if r.Admission != nil {
		if _, err := r.Admission.Admit(ctx); err != nil {
			r.Log.ErrorContext(ctx, "admit waiting jobs", "err", err)
		}
	}
	ids, err := r.Store.OpenJobs(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("reconcile: %w", err)
	}
	rep := Report{Open: len(ids), Repaired: repaired}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		switch outcome, err := r.one(ctx, id); {
		case err != nil:
			rep.Failed++ // one logged it
		case outcome == timedOut:
			rep.TimedOut++
			r.Metrics.ReconcilerAction(metrics.ActionTimedOut)
		case outcome == resumed:
			rep.Resumed++
			r.Metrics.ReconcilerAction(metrics.ActionResumed)
		case outcome == started:
			rep.Started++
			r.Metrics.ReconcilerAction(metrics.ActionStarted)
		case outcome == announced:
			rep.Announced++
		}
	}
	r.Log.DebugContext(ctx, "reconciled", "open", rep.Open, "timed_out", rep.TimedOut, "resumed", rep.Resumed, "started", rep.Started,
		"announced", rep.Announced,
		"failed", rep.Failed, "repaired", rep.Repaired)
	return rep, ctx.Err()
}

// repairSlots has the store recount the jobs holding a slot and reports
// whether the counters were wrong. A repair that fails is logged and left
// to the next pass: the rest of the pass does not depend on it.
func (r *Reconciler) repairSlots(ctx context.Context) bool {
	before, after, err := r.Store.RepairSlots(ctx)
	switch {
	case errors.Is(err, job.ErrConflict):
		r.Log.DebugContext(ctx, "slot counters changed during the recount; the next pass checks them again", "err", err)
		return false
	case err != nil:
		r.Log.ErrorContext(ctx, "repair slot counters", "err", err)
		return false
	case sameCounts(before, after):
		return false
	}
	r.Metrics.ReconcilerAction(metrics.ActionSlotsRepaired)
	r.Log.WarnContext(ctx, "repaired slot counters that differed from the jobs holding a slot",
		"before_total", before.Total, "before_by_tenant", before.ByTenant,
		"after_total", after.Total, "after_by_tenant", after.ByTenant)
	return true
}

// sameCounts reports whether two counts agree; a tenant left out counts
// zero.
func sameCounts(a, b job.InFlight) bool {
	if a.Total != b.Total {
		return false
	}
	for _, m := range []struct{ x, y map[string]int }{{a.ByTenant, b.ByTenant}, {b.ByTenant, a.ByTenant}} {
		for tenant, n := range m.x {
			if m.y[tenant] != n {
				return false
			}
		}
	}
	return true
}

type outcome int

const (
	untouched outcome = iota
	timedOut
	resumed
	started
	announced
)

func (r *Reconciler) one(ctx context.Context, id string) (_ outcome, err error) {
	ctx = logs.With(ctx, slog.String(logs.JobID, id))
	defer func() {
		if err != nil {
			// With the job's tenant and execution once it was read.
			r.Log.ErrorContext(ctx, "reconcile job", "err", err)
		}
	}()
	j, err := r.Store.Get(ctx, id)
	if err != nil {
		return untouched, err
	}
	ctx = logs.Job(ctx, j.ID, j.Tenant, j.ExecutionName())
	now := r.Clock.Now()
	if j.Status.Terminal() {
		return r.announce(ctx, j, now)
	}
	if now.After(j.Deadline.Add(r.Grace)) {
		ended, err := r.Store.Update(ctx, id, job.Fail(now, job.ErrNameTimedOut, "the job did not finish by its deadline"))
		if errors.Is(err, job.ErrConflict) {
			return untouched, nil // it ended meanwhile
		}
		if err != nil {
			return untouched, err
		}
		r.Metrics.JobEnded(ended, 0)
		r.Log.InfoContext(ctx, "ended overdue job")
		// A running execution finds the job ended at its next step and
		// announces it (event, webhook, its caller's result). With none, an
		// execution is started to do just that.
		running, err := r.Executions.Running(ctx, j.ExecutionName())
		if err == nil && !running {
			err = r.Executions.Start(ctx, j.AnnounceName(), id)
		}
		if err != nil {
			r.Log.WarnContext(ctx, "could not have the overdue job's end announced", "err", err)
		}
		return timedOut, nil
	}
	// A waiting job has no execution until admitted. A record that changed
	// lately and that a step has touched belongs to an execution that runs,
	// or ended a moment ago.
	if j.Waiting {
		return untouched, nil
	}
	young := now.Sub(j.UpdatedAt) < r.MinAge
	if young && !untried(j) {
		return untouched, nil
	}
	running, err := r.Executions.Running(ctx, j.ExecutionName())
	if err != nil || running {
		return untouched, err
	}
	if untried(j) {
		// No step ran and nothing runs: the start that should have run it
		// failed, or is still on its way (a slow API call), and then this
		// start is that same execution. Starting it under its own name,
		// whatever the record's age, never gives the job a second
		// execution that the first would then be refused by.
		err := r.Executions.Start(ctx, j.ExecutionName(), id)
		if err == nil {
			r.Log.WarnContext(ctx, "started job whose execution had not started")
			return started, nil
		}
		if young {
			return untouched, err
		}
		// Its own execution ended without a step (its name is taken):
		// resume it under a new one.
		r.Log.WarnContext(ctx, "job's own execution ended untried; resuming it", "err", err)
	}
	// The steps are safe to run again on any record: a new execution under
	// a new name picks the job up where its record stands (and never submits
	// twice: a claimed submit without an outcome ends the job instead).
	j, err = r.Store.Update(ctx, id, job.Change{At: now, CountResume: true})
	if errors.Is(err, job.ErrConflict) {
		return untouched, nil
	}
	if err != nil {
		return untouched, err
	}
	if err := r.Executions.Start(ctx, j.ExecutionName(), id); err != nil {
		return untouched, err
	}
	r.Log.WarnContext(logs.Job(ctx, j.ID, j.Tenant, j.ExecutionName()), "resumed job whose execution was gone")
	return resumed, nil
}

// announce has the end of job j announced when no execution of it does: an
// ended job stays listed until its end is marked announced, and its own
// execution may have failed to announce it (Finish failed on every retry).
// An end that changed lately may be announced at this moment; an execution
// that runs, the job's own or its announcer, announces it.
func (r *Reconciler) announce(ctx context.Context, j job.Job, now time.Time) (outcome, error) {
	if j.AnnouncedAt != nil || now.Sub(j.UpdatedAt) < r.MinAge {
		return untouched, nil // the index lags behind the record, or the end is recent
	}
	for _, name := range []string{j.ExecutionName(), j.AnnounceName()} {
		if running, err := r.Executions.Running(ctx, name); err != nil || running {
			return untouched, err
		}
	}
	// Under the one announce name: a start racing another pass's is the
	// same execution. One that ran and closed without announcing is an
	// error here at every pass, until the record expires: the end was
	// never announced, and an operator must see that.
	if err := r.Executions.Start(ctx, j.AnnounceName(), j.ID); err != nil {
		return untouched, fmt.Errorf("have the unannounced end announced: %w", err)
	}
	r.Log.WarnContext(ctx, "started an execution to announce an end no execution announced")
	return announced, nil
}

// untried reports whether no step has run for j yet: it is queued and was
// never submitted nor resumed.
func untried(j job.Job) bool {
	return j.Status == job.Queued && j.SubmitStarted == nil && j.UpstreamID == "" && j.Polls == 0 && j.Resumes == 0
}
