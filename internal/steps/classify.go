package steps

import (
	"errors"
	"net/http"

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
//   - 4xx other than 404/429: refused for good (bad input, bad key).
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
