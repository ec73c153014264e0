package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/webhook"
)

// DefaultTimeout bounds one delivery attempt when Sender.Timeout is unset;
// Standard Webhooks recommends giving receivers 15–30 s.
const DefaultTimeout = 15 * time.Second

// maxDrain is how much of a receiver's answer is read, only so that the
// connection can be reused; the answer itself is never used or logged.
const maxDrain = 64 << 10

// Sender makes single webhook delivery attempts. Retrying, for hours, is
// the state machine's job, with backoff between attempts so that no Lambda
// waits: the step that calls Deliver turns a retryable *DeliveryError into
// the error name the machine's Retry matches.
type Sender struct {
	// HTTP sends the requests. Leave it nil to get Guard.Client(); a client
	// given here must itself dial through Guard.Transport (or an equivalent
	// check) and not follow redirects, since Sender cannot add either to a
	// client it did not build.
	HTTP  *http.Client
	Clock clock.Clock // nil is the wall clock
	// Guard vets the URL before each attempt and, through the default
	// client, every address connected to.
	Guard   DestinationGuard
	Timeout time.Duration // per attempt; ≤ 0 means DefaultTimeout

	once   sync.Once
	client *http.Client
}

// DeliveryError is a failed delivery attempt.
type DeliveryError struct {
	// Retryable says whether a later attempt may succeed: true for 5xx,
	// 408, 429, timeouts and connection failures; false for other statuses
	// (410 Gone means the receiver wants no more) and refused destinations.
	Retryable bool
	// StatusCode is the receiver's answer, 0 when there was none.
	StatusCode int
	// RetryAfter is the wait the receiver asked for with Retry-After on a
	// retryable answer, 0 when it asked for none.
	RetryAfter time.Duration
	// Err is the cause when there was no answer.
	Err error
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString("webhook delivery failed: ")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "receiver answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	} else if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	if e.Retryable {
		b.WriteString(" (retryable")
		if e.RetryAfter > 0 {
			fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
		}
		b.WriteString(")")
	}
	return b.String()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

func (s *Sender) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock.Now()
}

func (s *Sender) httpClient() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	// Built once so that connections are reused across deliveries.
	s.once.Do(func() { s.client = s.Guard.Client() })
	return s.client
}

// Deliver makes one attempt to POST body to endpoint, signed with secret under
// the message id msgID, and succeeds on any 2xx answer. msgID must be the
// same for every attempt of one message, as receivers use it to drop
// duplicates. A failed attempt is a *DeliveryError; a bad secret or msgID
// is a plain error, as no attempt can succeed with them.
func (s *Sender) Deliver(ctx context.Context, endpoint string, secret string, msgID string, body []byte) error {
	if err := s.Guard.CheckURL(endpoint); err != nil {
		return &DeliveryError{Err: err}
	}
	now := s.now()
	sig, err := webhook.Sign(secret, msgID, now, body)
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return &DeliveryError{Err: fmt.Errorf("%w: must be an absolute URL", ErrDestination)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vidgen-webhooks")
	req.Header.Set(HeaderID, msgID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)

	resp, err := s.httpClient().Do(req)
	if err != nil {
		return transportError(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return statusError(resp, now)
}

// transportError classifies a failure to get an answer. The URL, which
// url.Error would quote, is dropped: its query may hold a tenant's token,
// and errors end up in logs and execution histories.
func transportError(err error) *DeliveryError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	// A refused address stays refused however often it is tried; anything
	// else (timeouts, refused or reset connections, DNS, TLS) may pass.
	return &DeliveryError{Retryable: !errors.Is(err, ErrDestination), Err: err}
}

func statusError(resp *http.Response, now time.Time) *DeliveryError {
	code := resp.StatusCode
	e := &DeliveryError{StatusCode: code}
	e.Retryable = code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
	if e.Retryable {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
	}
	return e
}

// MaxRetryAfter caps the wait a receiver may ask for, so that a
// misbehaving one cannot park a delivery beyond any retry schedule.
const MaxRetryAfter = 24 * time.Hour

// retryAfter parses Retry-After, delay-seconds or an HTTP date; a value
// that is neither, or in the past, asks for no wait.
func retryAfter(v string, now time.Time) time.Duration {
	var d time.Duration
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		d = time.Duration(min(max(n, 0), int64(MaxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// Webhook event types, in the dotted form Standard Webhooks recommends:
// the public webhook package's, which receivers match on.
const (
	TypeCompleted = webhook.TypeCompleted
	TypeFailed    = webhook.TypeFailed
)

// Payload is a job webhook's body, in the shape Standard Webhooks
// recommends: the event's type, when it happened, and the job's public view
// as its data.
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Detail    `json:"data"`
}

// Webhook returns the message id and body of e's webhook. The id is the
// same for every attempt, since a job ends once: "msg_" and the job id.
func (e Event) Webhook() (msgID string, body []byte, err error) {
	p := Payload{Type: TypeCompleted, Timestamp: e.Time, Data: e.Detail}
	if e.DetailType == DetailTypeFailed {
		p.Type = TypeFailed
	}
	body, err = marshal(p)
	if err != nil {
		return "", nil, fmt.Errorf("notify: encode webhook of job %s: %w", e.Detail.ID, err)
	}
	return "msg_" + e.Detail.ID, body, nil
}

// DeliverEvent makes one attempt to deliver e's webhook to endpoint, signed with
// the secret of the job's tenant. Errors are as Deliver's.
func (s *Sender) DeliverEvent(ctx context.Context, secrets Secrets, endpoint string, e Event) error {
	secret, err := secrets.Secret(ctx, e.Detail.Tenant)
	if err != nil {
		return fmt.Errorf("notify: webhook secret of tenant %s: %w", e.Detail.Tenant, err)
	}
	msgID, body, err := e.Webhook()
	if err != nil {
		return err
	}
	return s.Deliver(ctx, endpoint, secret, msgID, body)
}
