package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of a Client.
const (
	// DefaultRetries is how many times a call is retried after its first
	// attempt.
	DefaultRetries = 4
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait before a retry
	// when the answer gives no Retry-After.
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	// MaxRetryAfter caps a Retry-After the client honours, so that a bad
	// header cannot park a call for hours.
	MaxRetryAfter = 5 * time.Minute
)

// Clock tells the time and waits on it. The wall clock is the default;
// tests pass one whose Sleep returns at once.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Client calls one vidgen API with one API key. It is safe for concurrent
// use.
type Client struct {
	base       *url.URL
	key        string
	http       *http.Client
	clock      Clock
	retries    int
	minBackoff time.Duration
	maxBackoff time.Duration
	// poll bounds the pause between two unchanged answers in Wait when the
	// server does not hold the request (wait=N ignored).
	minPoll, maxPoll time.Duration
	userAgent        string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through hc (timeouts, proxies, transports).
// Keep its Timeout above Wait's long-poll (DefaultLongPoll) or leave it 0.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithRetries sets how many times a failed call is retried (0: never).
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(n, 0) } }

// WithBackoff bounds the exponential backoff between retries that have no
// Retry-After.
func WithBackoff(minimum, maximum time.Duration) Option {
	return func(c *Client) { c.minBackoff, c.maxBackoff = minimum, max(minimum, maximum) }
}

// WithPollInterval bounds the pause Wait makes between two unchanged
// answers of a server that answers at once instead of holding the request
// (DefaultMinPoll, DefaultMaxPoll).
func WithPollInterval(minimum, maximum time.Duration) Option {
	return func(c *Client) { c.minPoll, c.maxPoll = minimum, max(minimum, maximum) }
}

// WithClock replaces the wall clock (tests).
func WithClock(clk Clock) Option { return func(c *Client) { c.clock = clk } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the API at baseURL (such as
// http://127.0.0.1:3000, or an API Gateway stage URL) that authenticates
// with apiKey.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q is not an http(s) URL", baseURL)
	}
	c := &Client{
		base: u, key: apiKey, http: http.DefaultClient, clock: wallClock{},
		retries: DefaultRetries, minBackoff: DefaultMinBackoff, maxBackoff: DefaultMaxBackoff,
		minPoll: DefaultMinPoll, maxPoll: DefaultMaxPoll, userAgent: "vidgen-go-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// call is one API call: what to send, and where to decode a 2xx answer.
type call struct {
	method string
	path   string
	query  url.Values
	body   any
	header http.Header
	out    any
}

// do sends the call, retrying 429, 5xx and failed connections, and decodes
// the answer into call.out or returns an *APIError.
func (c *Client) do(ctx context.Context, cl call) error {
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("client: encode request: %w", err)
		}
	}
	u := *c.base
	u.Path += cl.path
	u.RawQuery = cl.query.Encode()
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, cl, u.String(), body)
		if err == nil {
			return nil
		}
		wait, retry := c.retryable(err, attempt)
		if !retry || attempt >= c.retries {
			return err
		}
		if serr := c.clock.Sleep(ctx, wait); serr != nil {
			return errors.Join(err, serr)
		}
	}
}

func (c *Client) once(ctx context.Context, cl call, u string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, rd)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &transportError{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return &transportError{err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		return newAPIError(resp, raw, c.clock.Now())
	}
	if cl.out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, cl.out); err != nil {
		return fmt.Errorf("client: %s %s answered %d with a body that is not the expected JSON: %w", cl.method, cl.path, resp.StatusCode, err)
	}
	return nil
}

// maxAnswer bounds an API answer read into memory (a page of 100 jobs is
// far smaller).
const maxAnswer = 8 << 20

// transportError is a request that got no answer: retried like a 5xx.
type transportError struct{ err error }

func (e *transportError) Error() string { return "client: " + e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// retryable says whether err is worth another attempt, and after how long.
func (c *Client) retryable(err error, attempt int) (time.Duration, bool) {
	var te *transportError
	if errors.As(err, &te) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return 0, false
		}
		return c.backoff(attempt), true
	}
	var ae *APIError
	if !errors.As(err, &ae) || !ae.Temporary() {
		return 0, false
	}
	if ae.RetryAfter > 0 {
		return min(ae.RetryAfter, MaxRetryAfter), true
	}
	return c.backoff(attempt), true
}

// backoff is the wait before retry attempt+1: exponential from minBackoff,
// capped at maxBackoff, with the upper half jittered so that many clients
// throttled together do not come back together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.minBackoff
	for i := 0; i < attempt && d < c.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
