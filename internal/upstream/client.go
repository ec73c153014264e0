// Package upstream is a client for the AI/ML API's asynchronous video
// generation: it submits a generation and polls it.
//
// A failed call returns an *Error (find it with errors.As) whose Kind tells
// the caller what it may assume, above all whether a submit may have
// reached the upstream: after KindUnreachable, KindThrottled, KindRejected,
// KindKeyRefused and KindNotFound nothing was generated or charged; after KindUnavailable
// and KindInterrupted that is unknown; KindMalformed on a submit means it
// was accepted under an id we could not read. Answers are parsed tolerantly,
// accepting every shape the upstream's reference shows, and normalized to
// job statuses.
package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/metrics"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

const (
	generationsPath = "/v2/video/generations"
	// maxBody bounds what is read of a successful answer; a generation is a
	// few hundred bytes, so anything near this is not one.
	maxBody = 4 << 20
	// maxErrorBody bounds what is read of an error answer.
	maxErrorBody = 64 << 10
)

// Config configures a Client.
type Config struct {
	BaseURL string        // e.g. https://api.aimlapi.com
	Key     string        // the bearer key; it never appears in errors or logs
	Timeout time.Duration // per request, DefaultTimeout when zero
	HTTP    *http.Client  // optional; its own Timeout should be unset or longer
	Log     *slog.Logger  // optional
	// Clock is what HTTP-date Retry-After values are read against; the
	// wall clock when nil.
	Clock clock.Clock
	// Metrics counts every call's answer class; nil counts nothing.
	Metrics *metrics.Recorder
}

// Client talks to the AI/ML API. It is safe for concurrent use.
type Client struct {
	base    string
	key     string
	http    *http.Client
	timeout time.Duration
	log     *slog.Logger
	clock   clock.Clock
	metrics *metrics.Recorder
}

// New returns a client configured by cfg.
func New(cfg Config) *Client {
	c := &Client{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		key:     cfg.Key,
		http:    cfg.HTTP,
		timeout: cfg.Timeout,
		log:     cfg.Log,
		clock:   cfg.Clock,
		metrics: cfg.Metrics,
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	return c
}

// Submit asks the upstream to generate req. On success the generation is
// normally queued.
func (c *Client) Submit(ctx context.Context, req job.Request) (Generation, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Generation{}, fmt.Errorf("upstream submit: encode request: %w", err)
	}
	g, err := c.do(ctx, http.MethodPost, c.base+generationsPath, body)
	if err != nil {
		return Generation{}, fmt.Errorf("upstream submit: %w", err)
	}
	return g, nil
}

// Get polls the generation with the given upstream id.
func (c *Client) Get(ctx context.Context, id string) (Generation, error) {
	if id == "" {
		return Generation{}, fmt.Errorf("upstream get: %w", &Error{Kind: KindRejected, Message: "empty generation id"})
	}
	target := c.base + generationsPath + "?generation_id=" + url.QueryEscape(id)
	g, err := c.do(ctx, http.MethodGet, target, nil)
	if err != nil {
		return Generation{}, fmt.Errorf("upstream get %s: %w", id, err)
	}
	return g, nil
}

// do makes one request, bounded by the client's timeout, and reads its
// answer. A nil body means none.
func (c *Client) do(ctx context.Context, method, target string, body []byte) (Generation, error) {
	if err := ctx.Err(); err != nil {
		return Generation{}, err // the caller gave up before anything was sent
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return Generation{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	c.count(resp, err)
	if err != nil {
		e := transportError(err)
		c.log.DebugContext(ctx, "upstream request failed", "method", method, "path", req.URL.Path,
			"kind", e.Kind, "elapsed", time.Since(start), "err", err)
		return Generation{}, e
	}
	defer resp.Body.Close()
	c.log.DebugContext(ctx, "upstream answered", "method", method, "path", req.URL.Path,
		"status", resp.StatusCode, "elapsed", time.Since(start))

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Generation{}, c.statusError(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Generation{}, &Error{Kind: KindInterrupted, StatusCode: resp.StatusCode,
			Message: "answer cut short", Err: err}
	}
	if len(data) > maxBody {
		return Generation{}, &Error{Kind: KindMalformed, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("answer exceeds %d bytes", maxBody)}
	}
	g, err := parseGeneration(data)
	if err != nil {
		return Generation{}, &Error{Kind: KindMalformed, StatusCode: resp.StatusCode,
			Message: c.redact(snippet(data)), Err: err}
	}
	g.Error = c.redactError(g.Error)
	if g.Status == "" {
		// The caller keeps the job going; this says why it does not move.
		c.log.WarnContext(ctx, "upstream sent an unknown status", "generation_id", g.ID, "status", g.RawStatus)
	}
	return g, nil
}

// count records the class of one call's answer.
func (c *Client) count(resp *http.Response, err error) {
	if err != nil {
		c.metrics.UpstreamResponse(metrics.ClassTransport)
		return
	}
	c.metrics.UpstreamResponse(metrics.StatusClass(resp.StatusCode))
}

// statusError turns a non-2xx answer into an *Error.
func (c *Client) statusError(resp *http.Response) *Error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)) // a cut body still says something
	e := &Error{
		Kind:       kindOf(resp.StatusCode),
		StatusCode: resp.StatusCode,
		Message:    c.redact(errorMessage(data)),
	}
	if e.Kind == KindThrottled || e.Kind == KindUnavailable {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
	}
	return e
}

func kindOf(status int) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return KindThrottled
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return KindKeyRefused
	case status >= 400 && status < 500:
		return KindRejected
	}
	// 5xx, and the 1xx and 3xx that should never reach here: something
	// between us and the upstream is not working.
	return KindUnavailable
}

// redact removes the key from text that came from the upstream, in case it
// echoes what it was sent.
func (c *Client) redact(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[redacted]")
}

func (c *Client) redactError(e *job.Error) *job.Error {
	if e == nil {
		return nil
	}
	return &job.Error{Name: c.redact(e.Name), Message: c.redact(e.Message)}
}

// errorMessage extracts a short message from an error answer, JSON or not.
func errorMessage(data []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(data, &v) == nil {
		if e := parseError(v.Error, ""); e != nil {
			if e.Name == "" {
				return snippet([]byte(e.Message))
			}
			return snippet([]byte(e.Name + ": " + e.Message))
		}
		if v.Message != "" {
			return snippet([]byte(v.Message))
		}
	}
	return snippet(data)
}
