// Package notify tells the outside world that a job has finished: an
// EventBridge event for the operator (a JSON line locally) and a signed
// webhook for the tenant, following the Standard Webhooks specification
// (https://www.standardwebhooks.com).
//
// Both carry the job's public view plus a summary of its request. Neither
// ever carries an image: a data URI would bloat every event and a signed
// image URL's query is a credential, so images appear only as blob.Describe
// renders them for logs.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/plainjson"
	"github.com/vidgen/vidgen/webhook"
)

// Source is the EventBridge source of every vidgen event; rules match on it.
const Source = "vidgen"

// The detail types of a finished job's event, by how it ended.
const (
	DetailTypeCompleted = "Video Generation Completed"
	DetailTypeFailed    = "Video Generation Failed"
)

// MaxEventBytes is EventBridge's limit on one entry, which counts the
// source, detail type and detail. NewEvent refuses larger events so that
// the failure shows when the event is built rather than as a failed entry.
const MaxEventBytes = 256 << 10

// Event is what vidgen publishes once per finished job. Its JSON form uses
// the field names of the event EventBridge delivers to rules' targets, so
// the local event log reads like what a target receives in AWS.
type Event struct {
	Source     string    `json:"source"`
	DetailType string    `json:"detail-type"`
	Time       time.Time `json:"time"`
	Detail     Detail    `json:"detail"`
}

// Detail is the public view of a finished job, as the API answers a query
// for it (its model included, without the progress fields), plus its
// tenant and a summary of its request.
type Detail struct {
	ID        string     `json:"id"`
	Tenant    string     `json:"tenant"`
	Status    job.Status `json:"status"`
	Video     *job.Video `json:"video"`
	Error     *job.Error `json:"error"`
	Meta      *Meta      `json:"meta"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// Model is the model the job was submitted with, as the API's answers
	// name it: vidgen.Generation.Model, which webhook.Job embeds.
	Model   string         `json:"model"`
	Request RequestSummary `json:"request"`
}

// Meta carries usage in the API's shape.
type Meta struct {
	Usage Usage `json:"usage"`
}

// Usage reports what the upstream charged, under both names the API uses.
type Usage struct {
	CreditsUsed float64 `json:"credits_used"`
	TokensUsed  float64 `json:"tokens_used"`
}

// RequestSummary is what was asked for, without the images themselves:
// the public webhook package's type, so that what receivers decode is what
// is sent.
type RequestSummary = webhook.RequestSummary

// NewEvent builds the event for the finished job j. It fails for a job that
// has not ended, since only a final record may be announced.
func NewEvent(j job.Job) (Event, error) {
	if j.ID == "" {
		return Event{}, errors.New("notify: job has no id")
	}
	var detailType string
	switch j.Status {
	case job.Completed:
		detailType = DetailTypeCompleted
	case job.Failed:
		detailType = DetailTypeFailed
	default:
		return Event{}, fmt.Errorf("notify: job %s has not finished (status %q)", j.ID, j.Status)
	}
	d := Detail{
		ID:        j.ID,
		Tenant:    j.Tenant,
		Status:    j.Status,
		Video:     j.Video,
		Error:     j.Error,
		CreatedAt: j.CreatedAt.UTC(),
		UpdatedAt: j.UpdatedAt.UTC(),
		// As the API answers it; request.model stays as the record has it.
		Model:   j.Request.ModelID(),
		Request: summarize(j.Request),
	}
	if j.CreditsUsed != nil {
		d.Meta = &Meta{Usage: Usage{CreditsUsed: *j.CreditsUsed, TokensUsed: *j.CreditsUsed}}
	}
	e := Event{Source: Source, DetailType: detailType, Time: d.UpdatedAt, Detail: d}
	detail, err := e.DetailJSON()
	if err != nil {
		return Event{}, err
	}
	if n := len(e.Source) + len(e.DetailType) + len(detail); n > MaxEventBytes {
		return Event{}, fmt.Errorf("notify: event of job %s is %d bytes, over EventBridge's %d", j.ID, n, MaxEventBytes)
	}
	return e, nil
}

// DetailJSON encodes e's detail as EventBridge carries it.
func (e Event) DetailJSON() ([]byte, error) {
	b, err := marshal(e.Detail)
	if err != nil {
		return nil, fmt.Errorf("notify: encode event of job %s: %w", e.Detail.ID, err)
	}
	return b, nil
}

// marshal is json.Marshal without HTML escaping: events and webhooks carry
// video URLs, whose query's & must read as such, not as \u0026, for a
// receiver that copies a URL from the raw body.
func marshal(v any) ([]byte, error) { return plainjson.Marshal(v) }

// summarize is what r asked for, its media described: gen3a_turbo's
// fields, or the same-named ones of another model's body (a ratio for an
// aspect ratio), and every other media value by its path.
func summarize(r job.Request) RequestSummary {
	s := RequestSummary{Model: r.Model, Prompt: r.Prompt, AspectRatio: r.AspectRatio, Duration: r.Duration, Seed: r.Seed}
	if r.Body != nil {
		s.Prompt, _ = r.Body["prompt"].(string)
		s.AspectRatio, _ = r.Body["aspect_ratio"].(string)
		if s.AspectRatio == "" {
			s.AspectRatio, _ = r.Body["ratio"].(string)
		}
		if n, ok := r.Body["seed"].(json.Number); ok {
			if v, err := n.Int64(); err == nil {
				s.Seed = &v
			}
		}
	}
	for _, m := range r.Media() {
		switch m.Path {
		case "image_url":
			s.Image = describe(m.Value)
		case "tail_image_url":
			s.TailImage = describe(m.Value)
		default:
			if s.Media == nil {
				s.Media = map[string]string{}
			}
			s.Media[m.Path] = describe(m.Value)
		}
	}
	return s
}

// describe renders an image for an event; an absent image stays absent.
func describe(v string) string {
	if v == "" {
		return ""
	}
	return blob.Describe(v)
}

// Publisher announces finished jobs to the operator.
type Publisher interface {
	Publish(ctx context.Context, e Event) error
}

// PublishJob announces the finished job j through p. Neither EventBridge
// nor the log deduplicates, and a retried step may publish twice, so
// consumers should treat detail.id as an idempotency key.
func PublishJob(ctx context.Context, p Publisher, j job.Job) error {
	e, err := NewEvent(j)
	if err != nil {
		return err
	}
	return p.Publish(ctx, e)
}

// LogPublisher is the local stand-in for EventBridge: it writes each event
// as one JSON line to W, such as <data dir>/events.jsonl opened for
// appending. It is safe for concurrent use; each event is a single Write,
// so lines never interleave.
type LogPublisher struct {
	W io.Writer

	mu sync.Mutex
}

// Publish writes e as one line.
func (p *LogPublisher) Publish(ctx context.Context, e Event) error {
	line, err := marshal(e)
	if err != nil {
		return fmt.Errorf("notify: encode event of job %s: %w", e.Detail.ID, err)
	}
	line = append(line, '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.W.Write(line); err != nil {
		return fmt.Errorf("notify: write event of job %s: %w", e.Detail.ID, err)
	}
	return nil
}
