package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
)

// Getter reads job records.
type Getter interface {
	Get(ctx context.Context, id string) (job.Job, error)
}

// Webhooks makes one signed webhook delivery attempt (notify.Sender).
type Webhooks interface {
	DeliverEvent(ctx context.Context, secrets notify.Secrets, endpoint string, e notify.Event) error
}

// Notifier tells the world that a job ended: the Finish step announces it
// on the event bus and hands the final record to the execution's caller;
// the webhook state machine's Deliver step posts it to the job's
// callback_url.
type Notifier struct {
	Store     Getter
	Publisher notify.Publisher // EventBridge in AWS, a JSON-lines file locally
	Webhooks  Webhooks
	Secrets   notify.Secrets // each tenant's webhook signing secret
	// Admission admits waiting jobs into the slot the ended job gave back.
	Admission Admission
	Log       *slog.Logger
}

// FinishInput names the ended job. Follow is set on an execution that only
// followed a job another execution drives: that one announces it.
type FinishInput struct {
	JobID  string `json:"job_id"`
	Follow bool   `json:"follow"`
}

// Result is what a video_job execution ends with: the job's public record
// as its output, or, for a failed job, an error name and cause for the
// execution's Fail state, which a caller's Catch matches on.
type Result struct {
	Job notify.Detail `json:"job"`
	// Callback is set when a webhook is due: the job has a callback_url and
	// this execution announced it.
	Callback bool `json:"callback"`
	// Error is the job's error name (TimedOut, Cancelled, GenerationFailed…)
	// and Cause the record as JSON text, for a failed job; both "" else.
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// Finish reads the ended job, announces it once (unless following) and
// returns the execution's result. Announcing twice is possible when the
// step is retried after publishing; consumers use detail.id to deduplicate.
func (n *Notifier) Finish(ctx context.Context, in FinishInput) (Result, error) {
	j, err := n.load(ctx, in.JobID)
	if err != nil {
		return Result{}, err
	}
	e, err := notify.NewEvent(j)
	if err != nil {
		// Only a terminal job reaches Finish; anything else is a bug in the
		// state machine, which its Catch records.
		return Result{}, err
	}
	if !in.Follow {
		if err := n.Publisher.Publish(ctx, e); err != nil {
			return Result{}, &TransientError{Err: err}
		}
		n.log().Info("job announced", "job", j.ID, "status", j.Status)
		if n.Admission != nil {
			// A failure only delays the waiting jobs: the next end or the
			// reconciler admits them.
			if _, err := n.Admission.Admit(ctx); err != nil {
				n.log().Error("admit waiting jobs", "err", err)
			}
		}
	}
	res := Result{Job: e.Detail, Callback: !in.Follow && j.CallbackURL != ""}
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
	if j.CallbackURL == "" {
		return Delivery{}, &WebhookRefusedError{Err: fmt.Errorf("job %s has no callback_url", j.ID)}
	}
	e, err := notify.NewEvent(j)
	if err != nil {
		return Delivery{}, err
	}
	msgID, _, err := e.Webhook()
	if err != nil {
		return Delivery{}, err
	}
	err = n.Webhooks.DeliverEvent(ctx, n.Secrets, j.CallbackURL, e)
	var de *notify.DeliveryError
	switch {
	case err == nil:
		n.log().Info("webhook delivered", "job", j.ID)
		return Delivery{JobID: j.ID, MessageID: msgID}, nil
	case errors.As(err, &de) && de.Retryable:
		n.log().Warn("webhook not delivered, will retry", "job", j.ID, "err", err)
		return Delivery{}, &WebhookRetryableError{Err: err}
	case errors.As(err, &de):
		n.log().Error("webhook refused", "job", j.ID, "err", err)
		return Delivery{}, &WebhookRefusedError{Err: err}
	}
	// The tenant's secret could not be read, or the like: vidgen's own
	// trouble, retried like any transient failure.
	return Delivery{}, &TransientError{Err: err}
}

func (n *Notifier) load(ctx context.Context, id string) (job.Job, error) {
	if id == "" {
		return job.Job{}, errors.New("input has no job_id")
	}
	j, err := n.Store.Get(ctx, id)
	if err != nil && !errors.Is(err, job.ErrNotFound) {
		return job.Job{}, &TransientError{Err: err}
	}
	return j, err
}

func (n *Notifier) log() *slog.Logger {
	if n.Log == nil {
		return slog.Default()
	}
	return n.Log
}
