package steps

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/upstream"
)

// submitOutcome is what a failed submit says about whether the upstream
// accepted (and will charge for) the job.
type submitOutcome int

const (
	// unknown: the upstream may have accepted it. Never resubmitted.
	unknown submitOutcome = iota
	// notAccepted: the upstream surely did not take it. Safe to retry.
	notAccepted
	// rejected: the upstream refused it for good. Not retried.
	rejected
)

// classifySubmit decides, for a failed POST, whether the upstream could have
// accepted it. Only answers that prove it did not are retried:
//
//   - 429 Too Many Requests and 503 Service Unavailable: refused before work;
//   - the connection was never established (dial or DNS failure);
//   - 4xx other than 401/403/404/429: refused for good (bad input).
//
// The upstream refusing the key (401/403), or there being no key to send,
// is not classified here: keyFailure ends the job before.
//
// Everything else is unknown: 500/502/504, a timeout or reset after the
// request was sent, a 2xx whose body does not parse, a 404 on the POST.
func classifySubmit(err error) (submitOutcome, *upstream.Error) {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return unknown, &upstream.Error{Message: err.Error()}
	}
	switch {
	case ue.Kind == upstream.KindThrottled, ue.Kind == upstream.KindUnreachable,
		ue.Kind == upstream.KindUnavailable && ue.StatusCode == http.StatusServiceUnavailable:
		return notAccepted, ue
	case ue.Kind == upstream.KindRejected:
		return rejected, ue
	}
	return unknown, ue
}

// keyFailure tells whether err is one no retry can fix because of vidgen's
// key: the upstream refused it (401/403) or there is none to send (its
// secret is empty or missing). It returns the job error to end the job
// with. Nothing was generated in either case. The message names no key,
// secret name or ARN: clients read it.
func keyFailure(err error) (*job.Error, bool) {
	if ke, ok := errors.AsType[*upstream.KeyError](err); ok {
		return &job.Error{Name: job.ErrNameConfiguration,
			Message: "vidgen is not configured to call the upstream: its key (" + ke.Setting + ") is empty or missing; an operator must set it"}, true
	}
	if ue, ok := errors.AsType[*upstream.Error](err); ok && ue.Kind == upstream.KindKeyRefused {
		msg := fmt.Sprintf("the upstream refused vidgen's key (HTTP %d", ue.StatusCode)
		if ue.Message != "" {
			msg += ": " + ue.Message
		}
		return &job.Error{Name: job.ErrNameUpstreamAuth, Message: msg + "); an operator must fix the upstream key"}, true
	}
	return nil, false
}
