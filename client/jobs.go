package client

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vidgen/vidgen"
)

// Routes of the API the client calls.
const (
	PathGenerations = "/v2/video/generations"
	// DefaultModel is the model Submit asks for when the request names
	// none: the only one vidgen serves.
	DefaultModel = "gen3a_turbo"
	// HeaderIdempotencyKey makes a retried submit answer the job the first
	// attempt created.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// Pacing of Wait.
const (
	// DefaultLongPoll is how long Wait asks the server to hold each query
	// (wait=N, at most 25 s so that it fits API Gateway's 30 s limit).
	DefaultLongPoll = 20 * time.Second
	// DefaultMinPoll and DefaultMaxPoll bound the pause between two
	// unchanged answers from a server that answers at once.
	DefaultMinPoll = time.Second
	DefaultMaxPoll = 10 * time.Second
)

// SubmitOption adjusts one Submit.
type SubmitOption func(*submitOptions)

type submitOptions struct {
	key    string
	answer *json.RawMessage
}

// IdempotencyKey sends key instead of a fresh random one: submitting again
// with the same key and request within 24 hours answers the job the first
// submit created (and the same key with another request is refused, 422).
func IdempotencyKey(key string) SubmitOption { return func(o *submitOptions) { o.key = key } }

// Answer stores the API's answer to the submit in *raw as it came. The
// answer names only some of a job's fields (its id and status), which the
// Generation Submit returns cannot tell from fields the API left out, so a
// caller that passes the answer on (vidgen submit --json) keeps it whole.
func Answer(raw *json.RawMessage) SubmitOption { return func(o *submitOptions) { o.answer = raw } }

// NewIdempotencyKey returns a fresh random key.
func NewIdempotencyKey() string { return "vg-" + rand.Text() }

// Submit submits a generation and returns the job as the API answered it
// (its ID and status queued). An empty Model means DefaultModel. Every
// attempt of the call carries the same Idempotency-Key, so retries never
// create a second job.
func (c *Client) Submit(ctx context.Context, req vidgen.Request, opts ...SubmitOption) (vidgen.Generation, error) {
	o := submitOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.key == "" {
		o.key = NewIdempotencyKey()
	}
	if req.Model == "" {
		req.Model = DefaultModel
	}
	var raw json.RawMessage
	err := c.do(ctx, call{method: http.MethodPost, path: PathGenerations, body: req,
		header: http.Header{HeaderIdempotencyKey: {o.key}}, out: &raw})
	if err != nil {
		return vidgen.Generation{}, fmt.Errorf("submit: %w", err)
	}
	var g vidgen.Generation
	if err := json.Unmarshal(raw, &g); err != nil {
		return vidgen.Generation{}, fmt.Errorf("submit: the answer is not a job: %w", err)
	}
	if o.answer != nil {
		*o.answer = raw
	}
	return g, nil
}

// Get returns the job's current record. A completed job's video URL is a
// fresh link, valid for an hour.
func (c *Client) Get(ctx context.Context, id string) (vidgen.Generation, error) {
	return c.get(ctx, id, 0)
}

func (c *Client) get(ctx context.Context, id string, wait time.Duration) (vidgen.Generation, error) {
	if id == "" {
		return vidgen.Generation{}, errors.New("get: empty job id")
	}
	q := url.Values{"generation_id": {id}}
	if s := int(wait / time.Second); s > 0 {
		q.Set("wait", strconv.Itoa(s))
	}
	var g vidgen.Generation
	if err := c.do(ctx, call{method: http.MethodGet, path: PathGenerations, query: q, out: &g}); err != nil {
		return vidgen.Generation{}, fmt.Errorf("get %s: %w", id, err)
	}
	return g, nil
}

// Cancel cancels the job and returns its record, which then has status
// error and error.name Cancelled. Cancelling a cancelled job again is
// harmless; a job that ended otherwise answers 409 (an *APIError).
func (c *Client) Cancel(ctx context.Context, id string) (vidgen.Generation, error) {
	if id == "" {
		return vidgen.Generation{}, errors.New("cancel: empty job id")
	}
	var g vidgen.Generation
	if err := c.do(ctx, call{method: http.MethodDelete, path: PathGenerations, query: url.Values{"generation_id": {id}}, out: &g}); err != nil {
		return vidgen.Generation{}, fmt.Errorf("cancel %s: %w", id, err)
	}
	return g, nil
}

// Terminal reports whether a job in status s has ended.
func Terminal(s vidgen.Status) bool { return s == vidgen.Completed || s == vidgen.Failed }

// Wait returns the job once it has ended (completed or error: look at its
// Status; a failed job is not an error of Wait). It long-polls (wait=N),
// so the server answers as soon as the job changes; against a server that
// answers at once it pauses between unchanged answers, longer each time.
// progress, if not nil, sees the first answer and every answer that
// differs from the one before (status, polls, queue position, video or
// error), the last one included. Cancel ctx to stop waiting: the job runs
// on.
func (c *Client) Wait(ctx context.Context, id string, progress func(vidgen.Generation)) (vidgen.Generation, error) {
	var last *vidgen.Generation
	pause := c.minPoll
	for {
		asked := c.clock.Now()
		g, err := c.get(ctx, id, DefaultLongPoll)
		if err != nil {
			return vidgen.Generation{}, fmt.Errorf("wait: %w", err)
		}
		moved := last == nil || changed(*last, g)
		if moved && progress != nil {
			progress(g)
		}
		if Terminal(g.Status) {
			return g, nil
		}
		last = &g
		if moved {
			pause = c.minPoll
			continue
		}
		// Unchanged. A server that held the request for most of the wait
		// is long-polling: ask again at once. One that answered at once
		// ignores wait: pause, longer after each unchanged answer.
		if c.clock.Now().Sub(asked) >= DefaultLongPoll/2 {
			continue
		}
		if err := c.clock.Sleep(ctx, pause); err != nil {
			return g, fmt.Errorf("wait %s: %w", id, err)
		}
		pause = min(2*pause, c.maxPoll)
	}
}

// changed reports whether b shows progress over a: the fields the
// long-poll watches. The video link is left out: it is signed anew on
// every answer.
func changed(a, b vidgen.Generation) bool {
	return a.Status != b.Status || a.Polls != b.Polls || !a.UpdatedAt.Equal(b.UpdatedAt) ||
		!equalPtr(a.QueuePosition, b.QueuePosition) ||
		(a.Video == nil) != (b.Video == nil) || (a.Error == nil) != (b.Error == nil)
}

func equalPtr[T comparable](a, b *T) bool { return a == b || (a != nil && b != nil && *a == *b) }

// ListOptions filters and pages List.
type ListOptions struct {
	// Status keeps only jobs in this status; empty keeps all.
	Status vidgen.Status
	// Model keeps only jobs of this model id; empty keeps all.
	Model string
	// PageSize is how many jobs each request asks for (1–100; 0 is the
	// API's default, 20).
	PageSize int
}

// ListPage returns one page of the tenant's jobs, newest first, starting
// at cursor (empty: the first page). Page.Next is the following page's
// cursor, nil on the last.
func (c *Client) ListPage(ctx context.Context, opts ListOptions, cursor string) (vidgen.Page, error) {
	q := url.Values{}
	if opts.Status != "" {
		q.Set("status", string(opts.Status))
	}
	if opts.Model != "" {
		q.Set("model", opts.Model)
	}
	if opts.PageSize > 0 {
		q.Set("limit", strconv.Itoa(opts.PageSize))
	}
	if cursor != "" {
		q.Set("next", cursor)
	}
	var p vidgen.Page
	if err := c.do(ctx, call{method: http.MethodGet, path: PathGenerations, query: q, out: &p}); err != nil {
		return vidgen.Page{}, fmt.Errorf("list: %w", err)
	}
	return p, nil
}

// List iterates over all the tenant's jobs, newest first, fetching page
// after page as the loop goes on. An error ends the iteration after it is
// yielded.
func (c *Client) List(ctx context.Context, opts ListOptions) iter.Seq2[vidgen.Generation, error] {
	return func(yield func(vidgen.Generation, error) bool) {
		cursor := ""
		for {
			p, err := c.ListPage(ctx, opts, cursor)
			if err != nil {
				yield(vidgen.Generation{}, err)
				return
			}
			for _, g := range p.Data {
				if !yield(g, nil) {
					return
				}
			}
			if p.Next == nil || *p.Next == "" {
				return
			}
			cursor = *p.Next
		}
	}
}

// ErrNotCompleted is Download's answer for a job with no video (yet).
var ErrNotCompleted = errors.New("job has no video: it is not completed")

// Download writes the completed job's video to w and returns the number of
// bytes written. It asks the API for a fresh link first, and fetches the
// link without the API key (it is signed; S3 links refuse other
// credentials). Failures before the first byte are retried like API calls.
func (c *Client) Download(ctx context.Context, id string, w io.Writer) (int64, error) {
	g, err := c.Get(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("download: %w", err)
	}
	if g.Status != vidgen.Completed || g.Video == nil || g.Video.URL == "" {
		return 0, fmt.Errorf("download %s (status %s): %w", id, g.Status, ErrNotCompleted)
	}
	for attempt := 0; ; attempt++ {
		n, err := c.fetch(ctx, g.Video.URL, w)
		if err == nil || n > 0 {
			return n, err
		}
		wait, retry := c.retryable(err, attempt)
		if !retry || attempt >= c.retries {
			return 0, fmt.Errorf("download %s: %w", id, err)
		}
		if serr := c.clock.Sleep(ctx, wait); serr != nil {
			return 0, fmt.Errorf("download %s: %w", id, errors.Join(err, serr))
		}
	}
}

func (c *Client) fetch(ctx context.Context, link string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return 0, fmt.Errorf("video link: %w", err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, &transportError{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, newAPIError(resp, raw, c.clock.Now())
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("video: %w", err)
	}
	return n, nil
}
