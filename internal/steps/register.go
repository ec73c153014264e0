package steps

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
)

// DefaultTenant owns the jobs of direct starts that name no tenant.
const DefaultTenant = "workflow"

// Registry is the part of a job store Register uses.
type Registry interface {
	Create(ctx context.Context, j job.Job) error
	CreateClaimed(ctx context.Context, j job.Job, c job.Claim, now time.Time) (job.Claim, error)
	Get(ctx context.Context, id string) (job.Job, error)
}

// Registrar records the jobs of executions started directly, by another
// workflow or a batch, rather than through the API: their input is the
// request itself.
type Registrar struct {
	Store    Registry
	Blobs    blob.Putter // takes data-URI images too large for a record
	Clock    clock.Clock
	Deadline time.Duration // when positive, how long every job may take, once admitted, before it ends as TimedOut; zero: its model's (catalog.JobDeadline)
	// QueueTimeout bounds a job's wait for a slot (job.Timeouts); zero is
	// job.DefaultQueueTimeout.
	QueueTimeout time.Duration
	// CheckCallback validates callback_url; nil refuses the field.
	CheckCallback func(string) error
	// Admission, when enabled, makes the job wait for a slot: this
	// execution's Submit then waits until the job is admitted.
	Admission admission.Admitter
	Log       *slog.Logger // required
	// Submitter, when set, submits the job Register registered or resumed
	// in the same invocation (see submit): video_job's Register state is
	// also its first Submit. Nil only registers, as executions started
	// before issue 17 expect (their definition runs Submit after it).
	Submitter *Handlers
}

// RegisterInput is what the state machine hands Register: its own input, as
// the caller gave it, and its execution name, which becomes the job id.
type RegisterInput struct {
	Request   json.RawMessage `json:"request"`
	Execution string          `json:"execution"`
	// Resume is set by the Resume state of executions started before
	// issue 17, for an input that names a job: Register then records
	// nothing and only checks that this execution runs that job (see
	// resume.go). Register now tells such an input by itself: any request
	// with a job_id field is one (resumes).
	Resume bool `json:"resume,omitempty"`
}

// Registration starts the job loop. Follow is set when the idempotency key
// named a job that already exists: the execution then waits for that job
// to end instead of submitting a second one. Step is the first Submit's
// Output when Register submitted (Registrar.Submitter).
type Registration struct {
	JobID  string `json:"job_id"`
	Follow bool   `json:"follow"`
	Step   Output `json:"step"`
}

// IdempotencyKeyReusedError is a direct start whose idempotency key was
// used with a different request within job.IdempotencyTTL. Its type name is
// the error name a caller's Catch sees.
type IdempotencyKeyReusedError struct{ Key string }

func (e *IdempotencyKeyReusedError) Error() string {
	return fmt.Sprintf("idempotency key %q was used with a different request in the last %s; use a new key", e.Key, job.IdempotencyTTL)
}

// Register validates the request and records its job under the execution's
// name. A bad request fails with *job.ValidationError (error name
// ValidationError) naming every bad field, and records nothing. Running it
// again for the same execution is harmless.
//
// A request with a job_id field (or Resume set) records nothing: the input
// must be vidgen's own start of a recorded job, exactly {"job_id"}, run by
// this execution (see resume.go).
//
// With a Submitter it then submits the job, unless the execution follows
// another job or the job waits for a slot (see submit).
func (r *Registrar) Register(ctx context.Context, in RegisterInput) (Registration, error) {
	reg, err := r.register(ctx, in)
	if err != nil || r.Submitter == nil || reg.Follow || reg.Step.Waiting {
		return reg, err
	}
	return r.submit(ctx, in.Execution, reg)
}

func (r *Registrar) register(ctx context.Context, in RegisterInput) (out Registration, err error) {
	if in.Execution == "" {
		return Registration{}, errors.New("input has no execution name")
	}
	if in.Resume || namesJob(in.Request) {
		return r.resume(ctx, in.Request, in.Execution)
	}
	if msg := job.CheckID(in.Execution); msg != "" {
		return Registration{}, &job.ValidationError{Fields: []job.FieldError{{Field: "execution name", Message: msg}}}
	}
	sub, err := job.ParseSubmission(in.Request, job.ParseOptions{CheckCallback: r.CheckCallback, Direct: true})
	if err != nil {
		return Registration{}, err
	}
	now := r.Clock.Now().UTC()
	j := job.Job{
		ID: in.Execution, Tenant: sub.Tenant, Status: job.Queued, Request: sub.Request,
		CreatedAt: now, UpdatedAt: now,
		CallbackURL: sub.CallbackURL, Batch: sub.Batch,
		Waiting: r.Admission != nil && r.Admission.Enabled(),
	}
	job.Timeouts{Generation: catalog.JobDeadline(j.Request.Model, r.Deadline), Queue: r.QueueTimeout}.Schedule(&j, now)
	if j.Tenant == "" {
		j.Tenant = DefaultTenant
	}
	ctx = logs.Job(ctx, j.ID, j.Tenant, in.Execution)
	if r.Blobs != nil {
		if offloads(sub.Request) {
			if taken, err := r.otherTenant(ctx, j); err != nil || taken {
				return Registration{}, cmp.Or(err, errNameTaken())
			}
		}
		if j.Request, err = blob.Offload(ctx, r.Blobs, j.ID, sub.Request); err != nil {
			return Registration{}, &job.TransientError{Err: fmt.Errorf("offload images: %w", err)}
		}
	}
	reg := Registration{JobID: j.ID, Step: Output{JobID: j.ID, Status: job.Queued}}
	defer func() {
		if j.Waiting && r.admit(ctx, j) && err == nil && out.JobID == j.ID && !out.Follow {
			// This admission admitted nothing, but another, for a job
			// registered beside this one, may have admitted it: only if
			// the record still waits does the machine park at once
			// instead of running Submit to learn the same.
			now, gerr := r.Store.Get(ctx, j.ID)
			out.Step.Waiting = gerr == nil && now.Waiting
		}
	}()
	// A job already under the execution's name is this execution's own,
	// recorded by an attempt whose answer was lost, unless the name is
	// another job's id (a job waiting for a slot has no execution yet to
	// hold its name): that job is refused, not driven.
	exists := func() (Registration, error) {
		foreign, err := r.foreign(ctx, j)
		if err != nil || foreign {
			j.Waiting = false // nothing of this execution's to admit
			return Registration{}, cmp.Or(err, errNameTaken())
		}
		return reg, nil
	}
	if sub.IdempotencyKey == "" {
		if err := r.Store.Create(ctx, j); errors.Is(err, job.ErrExists) {
			return exists()
		} else if err != nil {
			return Registration{}, &job.TransientError{Err: err}
		}
		r.Log.InfoContext(ctx, "job registered")
		return reg, nil
	}
	claim := job.Claim{Tenant: j.Tenant, Key: sub.IdempotencyKey, RequestHash: sub.Hash(), JobID: j.ID,
		ExpiresAt: now.Add(job.IdempotencyTTL).Truncate(time.Second)}
	won, err := r.Store.CreateClaimed(ctx, j, claim, now)
	switch {
	case errors.Is(err, job.ErrExists):
		return exists()
	case err != nil:
		return Registration{}, &job.TransientError{Err: err}
	case won.JobID == j.ID:
		r.Log.InfoContext(ctx, "job registered")
		return reg, nil
	case won.RequestHash != claim.RequestHash:
		return Registration{}, &IdempotencyKeyReusedError{Key: sub.IdempotencyKey}
	}
	r.Log.InfoContext(logs.Job(ctx, won.JobID, j.Tenant, in.Execution), "idempotency key names an existing job; following it")
	return Registration{JobID: won.JobID, Follow: true, Step: Output{JobID: won.JobID, Status: job.Queued}}, nil
}

// submit runs the job's first Submit in the invocation that registered or
// resumed it, which saves video_job a Task state per job (issue 17): the
// Submit's at-most-once intent logic is the same, and so is every retry of
// the Register state safe, since Register finds the job an earlier attempt
// recorded and Submit the intent it recorded. A TransientError (the store,
// the upstream key) fails the state, which retries it and then tries again
// later (RegisterLater), as long as the job's deadline lets Submit try. Any
// other failure of Submit happens to a recorded job, so submit records it
// as the machine's RecordFailure would (Handlers.Fail) and reports the
// ended job: the machine announces it (Finish).
func (r *Registrar) submit(ctx context.Context, execution string, reg Registration) (Registration, error) {
	out, err := r.Submitter.Submit(ctx, Input{JobID: reg.JobID, Execution: execution})
	if err != nil {
		if _, ok := errors.AsType[*job.TransientError](err); ok {
			return Registration{}, err
		}
		var ferr error
		out, ferr = r.Submitter.Fail(ctx, FailInput{JobID: reg.JobID, Execution: execution, Error: job.ReportedName(err), Cause: err.Error()})
		if ferr != nil {
			if _, ok := errors.AsType[*job.TransientError](ferr); ok {
				return Registration{}, ferr
			}
			return Registration{}, err // no job to record it on
		}
	}
	reg.Step = out
	return reg, nil
}

// admit admits waiting jobs, this one perhaps, and reports whether it
// admitted none; a failure only delays them: Submit waits for the slot,
// and others admit it when a job ends.
func (r *Registrar) admit(ctx context.Context, j job.Job) (none bool) {
	n, err := r.Admission.Admit(ctx, j)
	if err != nil {
		r.Log.ErrorContext(ctx, "admit waiting jobs", "err", err)
	}
	return err == nil && n == 0
}
