package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vidgen/vidgen"
)

// APIError is an error answer of the API: vidgen's own error body
// (vidgen.ErrorResponse), or API Gateway's {"message": …} for a missing
// or unknown key.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Name is the error's name (ValidationError, NotFound, Conflict, …);
	// empty when the body had none, as API Gateway's refusals.
	Name    string
	Message string
	// Fields lists every bad field of a ValidationError.
	Fields []vidgen.FieldError
	// RetryAfter is the wait the answer asked for (Retry-After), or 0.
	RetryAfter time.Duration
	// Body is the raw answer, for what the fields above do not capture.
	Body []byte
}

func newAPIError(resp *http.Response, raw []byte, now time.Time) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, Body: raw, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now)}
	var body struct {
		vidgen.ErrorResponse
		Message string `json:"message"` // API Gateway's own refusals
	}
	if json.Unmarshal(raw, &body) == nil {
		e.Name, e.Message, e.Fields = body.Error.Name, body.Error.Message, body.Error.Fields
		if e.Message == "" {
			e.Message = body.Message
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vidgen API: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Name != "" {
		fmt.Fprintf(&b, ": %s", e.Name)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s %s", f.Field, f.Message)
	}
	return b.String()
}

// ErrNameSpendCapReached is the Name of the 429 refusing a submit because
// the tenant's credits today reached its daily spend cap. It holds until
// the next UTC midnight, which the error's message names.
const ErrNameSpendCapReached = "SpendCapReached"

// Temporary reports whether the same call may succeed soon, so that
// retrying it is worthwhile: 429 and 5xx, except a 429
// ErrNameSpendCapReached, which cannot clear before UTC midnight: hours of
// waiting in a retry would only hide the refusal from the caller.
func (e *APIError) Temporary() bool {
	if e.StatusCode == http.StatusTooManyRequests {
		return e.Name != ErrNameSpendCapReached
	}
	return e.StatusCode >= 500
}

// Field returns the message of the named bad field, and whether there is
// one.
func (e *APIError) Field(name string) (string, bool) {
	for _, f := range e.Fields {
		if f.Field == name {
			return f.Message, true
		}
	}
	return "", false
}
