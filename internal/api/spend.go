package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/job"
)

// ErrNameSpendCap is the error name of a submit refused (429) because the
// tenant's credits today reached its daily spend cap; a job that waited
// and met the cap ends with the same name (job.ErrNameSpendCap).
const ErrNameSpendCap = job.ErrNameSpendCap

// underSpendCap answers 429 SpendCapReached when tenant's credits today
// reached its daily spend cap (Handler.SpendCap), naming the cap, the
// credits spent and when the count resets; Retry-After is the seconds
// until then. ok is true when the job may be accepted.
func (h *Handler) underSpendCap(ctx context.Context, tenant string) (events.APIGatewayV2HTTPResponse, bool) {
	now := h.Clock.Now().UTC()
	err := h.SpendCap.Check(ctx, tenant, now)
	var reached *admission.CapReachedError
	switch {
	case err == nil:
		return events.APIGatewayV2HTTPResponse{}, true
	case !errors.As(err, &reached):
		h.Log.ErrorContext(ctx, "check spend cap", "err", err)
		return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not check your spend; try again"), false
	}
	// The message, resets_at and Retry-After all tell the client's time:
	// the reset as a wall-clock time and the wait in wall seconds, which
	// on a scaled clock are not the clock's own.
	answer := *reached
	answer.Resets = h.resetAt(reached.Resets)
	wait := answer.Resets.Sub(h.wall(now))
	resp := jsonResponse(http.StatusTooManyRequests, vidgen.ErrorResponse{Error: vidgen.ErrorDetail{
		Name: ErrNameSpendCap, Message: answer.Error(),
		SpendCap: &vidgen.SpendCapDetail{DailyCap: answer.Cap, CreditsUsed: answer.Spent, Day: answer.Day, ResetsAt: answer.Resets},
	}})
	// Whole seconds rounded up, so that a client waiting that long finds
	// the day over.
	resp.Headers["Retry-After"] = strconv.FormatInt(int64((max(wait, 0)+time.Second-1)/time.Second), 10)
	h.Log.InfoContext(ctx, "submit refused: spend cap reached", "cap", reached.Cap, "spent", reached.Spent)
	return resp, false
}

// wall is t as the wall-clock time clients read (Stamp), in UTC.
func (h *Handler) wall(t time.Time) time.Time {
	if h.Stamp != nil {
		t = h.Stamp(t)
	}
	return t.UTC()
}

// resetAt is the wall-clock time of reset, a day's end on the handler's
// clock, in whole seconds (admission.WallReset), as the steps also tell it.
func (h *Handler) resetAt(reset time.Time) time.Time { return admission.WallReset(reset, h.Stamp) }

// listFilter reads a listing's status and model filters and its usage
// day (usage_day, default today UTC), adding a field error for each bad
// one to ve.
func listFilter(q map[string]string, now time.Time, ve *job.ValidationError) (job.Filter, string) {
	f := job.Filter{Status: job.Status(q["status"]), Model: q["model"]}
	if f.Status != "" && !f.Status.Valid() {
		ve.Fields = append(ve.Fields, job.FieldError{Field: "status", Message: "must be queued, generating, completed or error"})
	}
	if f.Model != "" {
		// Every job's model passed the catalogue, which only grows, so a
		// model it lacks is a typo rather than an empty listing.
		if c, err := catalog.Builtin(); err == nil && !slices.Contains(c.IDs(), f.Model) {
			ve.Fields = append(ve.Fields, job.FieldError{Field: "model", Message: "is not a supported model (GET /v1/models lists them)"})
		}
	}
	day := job.Day(now)
	if v, ok := q["usage_day"]; ok {
		if _, err := job.ParseDay(v); err != nil {
			ve.Fields = append(ve.Fields, job.FieldError{Field: "usage_day", Message: "must be a UTC day as YYYY-MM-DD"})
		} else {
			day = v
		}
	}
	return f, day
}

// usage is tenant's spend on day for a list answer: one store read. A
// failed read leaves the answer without it rather than fail the listing.
func (h *Handler) usage(ctx context.Context, tenant, day string) *vidgen.Spend {
	sp, err := h.Store.Spend(ctx, tenant, day)
	if err != nil {
		h.Log.WarnContext(ctx, "read spend", "err", err)
		return nil
	}
	start, err := job.ParseDay(day)
	if err != nil {
		return nil
	}
	u := &vidgen.Spend{Day: sp.Day, CreditsUsed: sp.Credits, ByModel: sp.ByModel, ResetsAt: h.resetAt(job.NextDay(start))}
	if u.ByModel == nil {
		u.ByModel = map[string]float64{}
	}
	if h.SpendCap.Enabled() {
		c := h.SpendCap.Credits
		u.DailyCap = &c
	}
	return u
}
