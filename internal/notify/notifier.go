package notify

import (
	"cmp"
	"context"
	"encoding/json"
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

// Getter reads job records.
type Getter interface {
	Get(ctx context.Context, id string) (job.Job, error)
}

// Announcements guard the announcement of an ended job (job.ClaimAnnouncement):
// the job stores implement them.
type Announcements interface {
	ClaimAnnouncement(ctx context.Context, id string, at time.Time, lease time.Duration) (job.Job, error)
	MarkAnnounced(ctx context.Context, id string, at time.Time) (job.Job, error)
}

// Webhooks makes one signed webhook delivery attempt (Sender).
type Webhooks interface {
	DeliverEvent(ctx context.Context, secrets Secrets, endpoint string, e Event) error
}

// Notifier runs the steps that tell the world that a job ended: the Finish step announces it
// on the event bus and hands the final record to the execution's caller;
// the webhook state machine's Deliver step posts it to the job's
// callback_url.
type Notifier struct {
	Store     Getter
	Publisher Publisher // EventBridge in AWS, a JSON-lines file locally
	// Announcements claims and marks each announcement on the job's record,
	// so that Finish publishes once per job; nil means Store, which every
	// job store is. Deliver does not use it.
	Announcements Announcements
	// Clock dates the claims; nil means the system clock.
	Clock    clock.Clock
	Webhooks Webhooks
	Secrets  Secrets // each tenant's webhook signing secret
	// Admission admits waiting jobs into the slot the ended job gave back.
	Admission admission.Admitter
	Log       *slog.Logger // required
	// Metrics counts webhook delivery attempts; nil counts nothing.
	Metrics *metrics.Recorder
	// Stamp turns a recorded time into the wall-clock time receivers read
	// (the local runtime's scaled clock keeps virtual times in records); nil
	// sends the recorded times, as in AWS, where they are wall times.
	Stamp func(time.Time) time.Time
}

// logCtx is ctx whose log lines name j and the execution running the
// step: the one its input names, or else the job's own.
func logCtx(ctx context.Context, j job.Job, execution string) context.Context {
	return logs.Job(ctx, j.ID, j.Tenant, cmp.Or(execution, j.ExecutionName()))
}

// FinishInput names the ended job. Follow is set on an execution that only
// followed a job another execution drives: that one announces it, and the
// follower makes sure it did (see Finish).
type FinishInput struct {
	JobID     string `json:"job_id"`
	Follow    bool   `json:"follow"`
	Execution string `json:"execution,omitempty"` // the execution running the step, for the log lines
}

// Result is what a video_job execution ends with: the job's public record
// as its output, or, for a failed job, an error name and cause for the
// execution's Fail state, which a caller's Catch matches on.
type Result struct {
	Job Detail `json:"job"`
	// Callback is set when a webhook is due: the job has a callback_url and
	// this execution announced it.
	Callback bool `json:"callback"`
	// Error is the job's error name (TimedOut, Cancelled, GenerationFailed…)
	// and Cause the record as JSON text, for a failed job; both "" else.
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// Finish reads the ended job, announces it once and returns the
// execution's result.
//
// The event goes out only after the terminal record is written (only an
// ended job gets here) and only by the one Finish that claims the
// announcement on the record (see job.ClaimAnnouncement): a retry of a
// Finish whose answer was lost, or the Finish of a second execution of the
// same job, finds the record marked and publishes nothing. PutEvents has no
// idempotency key, so one window stays open: a Finish that dies after
// publishing and before marking is followed, once its claim's lease
// expired, by one that publishes again. Consumers drop such a repeat by
// detail.id, the job id.
//
// A follower's Finish announces too, by the same claim, if the record says
// nobody has yet: the execution the follower follows announces the end in
// the Poll that records it, but a Poll cut off in between (Lambda's
// timeout, a crash) leaves that to its retry, which may come after the
// follower read the ended record, or never if that execution is gone (the
// reconciler looks at open jobs only). So no execution of a job ends
// before the job's end went out: a follower that finds the announcement
// claimed waits for it (AnnouncementBusyError), one that finds it marked
// publishes nothing.
//
// The webhook is due (Result.Callback) on every Finish of a job with a
// callback_url, whoever published, a follower's included: the state
// machine starts the webhook execution under the job's id, so Step
// Functions itself makes a second start of it a no-op.
func (n *Notifier) Finish(ctx context.Context, in FinishInput) (Result, error) {
	j, err := n.load(ctx, in.JobID)
	if err != nil {
		return Result{}, err
	}
	ctx = logCtx(ctx, j, in.Execution)
	e, err := n.event(j)
	if err != nil {
		// Only a terminal job reaches Finish; anything else is a bug in the
		// state machine, which its Catch records.
		return Result{}, err
	}
	if err := n.announce(ctx, j, e); err != nil {
		return Result{}, err
	}
	if n.Admission != nil && !in.Follow {
		// A failure only delays the waiting jobs: the next end or the
		// reconciler admits them.
		if _, err := n.Admission.Admit(ctx); err != nil {
			n.Log.ErrorContext(ctx, "admit waiting jobs", "err", err)
		}
	}
	res := Result{Job: e.Detail, Callback: j.CallbackURL != ""}
	if j.Status == job.Failed {
		cause, err := json.Marshal(e.Detail)
		if err != nil {
			return Result{}, fmt.Errorf("encode job %s: %w", j.ID, err)
		}
		res.Error, res.Cause = job.ErrNameGenerationFailed, string(cause)
		if j.Error != nil && j.Error.Name != "" {
			res.Error = j.Error.Name
		}
	}
	return res, nil
}

// announce publishes e, the event of the ended job j, unless the record
// says it went out already; see Finish.
func (n *Notifier) announce(ctx context.Context, j job.Job, e Event) error {
	if j.AnnouncedAt != nil {
		return nil // a retried step, or another execution of the job
	}
	marks := n.Announcements
	if marks == nil {
		var ok bool
		if marks, ok = n.Store.(Announcements); !ok {
			return errors.New("notifier has no announcement store")
		}
	}
	if _, err := marks.ClaimAnnouncement(ctx, j.ID, n.now(), job.AnnounceLease); err != nil {
		if !errors.Is(err, job.ErrConflict) {
			return &job.TransientError{Err: err}
		}
		// Marked meanwhile, or someone holds the claim: go by the record.
		cur, gerr := n.load(ctx, j.ID)
		switch {
		case gerr != nil:
			return gerr
		case cur.AnnouncedAt != nil:
			return nil
		}
		// The holder is publishing now, or died doing so: the state
		// machine retries this step, which publishes once the claim's
		// lease has expired unless the holder marked it meanwhile.
		return &AnnouncementBusyError{Err: fmt.Errorf("job %s is being announced by another step: %w", j.ID, err)}
	}
	if err := n.Publisher.Publish(ctx, e); err != nil {
		// The claim stays: a retry publishes once its lease expired.
		return &job.TransientError{Err: err}
	}
	n.Log.InfoContext(ctx, "job announced", "status", j.Status)
	// The event went out: the mark must not be lost to a caller giving up,
	// or the next claimant would publish again. If it fails even so, the
	// step still succeeds: failing it would have its retry publish again
	// once the lease expired, where now only a second execution of the job
	// could.
	mctx := context.WithoutCancel(ctx)
	var err error
	for range 3 {
		if _, err = marks.MarkAnnounced(mctx, j.ID, n.now()); err == nil {
			return nil
		}
	}
	n.Log.ErrorContext(ctx, "could not mark the job announced; a later Finish may announce it again", "err", err)
	return nil
}

func (n *Notifier) now() time.Time {
	if n.Clock == nil {
		return time.Now()
	}
	return n.Clock.Now()
}

// AnnouncementBusyError is a Finish that found the job's announcement
// claimed by another step whose lease has not expired. Unlike a
// TransientError it cannot succeed before the lease runs out, so the state
// machine retries it on a retrier of its own, spaced so that its attempts
// outlast job.AnnounceLease whatever the jitter: short random backoffs
// would spend every attempt while a dead claimant's lease still held.
type AnnouncementBusyError struct{ Err error }

func (e *AnnouncementBusyError) Error() string { return "announcement busy: " + e.Err.Error() }
func (e *AnnouncementBusyError) Unwrap() error { return e.Err }

// WebhookRetryableError is a delivery that may succeed later (the receiver
// answered 5xx, 408 or 429, or could not be reached). The webhook state
// machine retries it with backoff for hours; its type name is the error
// name the Retry matches.
type WebhookRetryableError struct{ Err error }

func (e *WebhookRetryableError) Error() string {
	return "webhook not delivered, will retry: " + e.Err.Error()
}
func (e *WebhookRetryableError) Unwrap() error { return e.Err }

// WebhookRefusedError is a delivery that will not succeed however often it
// is tried: the receiver answered another status (410 Gone: it wants no
// more), or the destination is not allowed.
type WebhookRefusedError struct{ Err error }

func (e *WebhookRefusedError) Error() string { return "webhook refused: " + e.Err.Error() }
func (e *WebhookRefusedError) Unwrap() error { return e.Err }

// DeliverInput names the job whose webhook is due.
type DeliverInput struct {
	JobID string `json:"job_id"`
	// Execution is the webhook execution's name, for the log lines.
	Execution string `json:"execution,omitempty"`
}

// Delivery reports a delivered webhook.
type Delivery struct {
	JobID     string `json:"job_id"`
	MessageID string `json:"webhook_id"`
}

// Deliver makes one attempt to post the ended job to its callback_url,
// signed with the tenant's secret. Every attempt carries the same
// webhook-id, so a receiver drops repeats.
func (n *Notifier) Deliver(ctx context.Context, in DeliverInput) (Delivery, error) {
	j, err := n.load(ctx, in.JobID)
	if err != nil {
		return Delivery{}, err
	}
	ctx = logCtx(ctx, j, in.Execution)
	if j.CallbackURL == "" {
		return Delivery{}, &WebhookRefusedError{Err: fmt.Errorf("job %s has no callback_url", j.ID)}
	}
	e, err := n.event(j)
	if err != nil {
		return Delivery{}, err
	}
	msgID, _, err := e.Webhook()
	if err != nil {
		return Delivery{}, err
	}
	err = n.Webhooks.DeliverEvent(ctx, n.Secrets, j.CallbackURL, e)
	n.Metrics.WebhookDelivery(err == nil)
	var de *DeliveryError
	switch {
	case err == nil:
		n.Log.InfoContext(ctx, "webhook delivered")
		return Delivery{JobID: j.ID, MessageID: msgID}, nil
	case errors.As(err, &de) && de.Retryable:
		n.Log.WarnContext(ctx, "webhook not delivered, will retry", "err", err)
		return Delivery{}, &WebhookRetryableError{Err: err}
	case errors.As(err, &de):
		n.Log.ErrorContext(ctx, "webhook refused", "err", err)
		return Delivery{}, &WebhookRefusedError{Err: err}
	}
	// The tenant's secret could not be read, or the like: vidgen's own
	// trouble, retried like any transient failure.
	return Delivery{}, &job.TransientError{Err: err}
}

// event is the announcement of the ended job j, dated as receivers read
// time (Stamp).
func (n *Notifier) event(j job.Job) (Event, error) {
	e, err := NewEvent(j)
	if err != nil || n.Stamp == nil {
		return e, err
	}
	e.Detail.CreatedAt, e.Detail.UpdatedAt = n.Stamp(e.Detail.CreatedAt).UTC(), n.Stamp(e.Detail.UpdatedAt).UTC()
	e.Time = e.Detail.UpdatedAt
	return e, nil
}

func (n *Notifier) load(ctx context.Context, id string) (job.Job, error) {
	return job.Load(ctx, n.Store.Get, id)
}
