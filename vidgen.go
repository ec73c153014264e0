// Package vidgen holds the wire types of vidgen's HTTP API, for Go clients:
// the request a client submits, the generation it reads back, a page of
// them, and the error answer. The API speaks the AI/ML API's own contract
// for video generation, so these are that contract's shapes plus vidgen's
// own fields (CallbackURL, the list's Page). docs/api.md describes the
// routes; package github.com/vidgen/vidgen/webhook verifies and decodes the
// webhooks vidgen sends when a job ends.
package vidgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// Status is where a job is in its life. Completed and Failed are final.
type Status string

// The four statuses.
const (
	Queued     Status = "queued"
	Generating Status = "generating"
	Completed  Status = "completed"
	Failed     Status = "error"
)

// Request is the body of POST /v2/video/generations: one flat JSON object,
// the model's own body (GET /v1/models gives each model's schema). The
// typed fields are those gen3a_turbo takes, the fields most models share;
// Params carries any other field of the model, merged into the same flat
// object. The zero value of a typed field leaves it out: the API's default
// (docs/api.md lists every limit).
type Request struct {
	Model        string `json:"model"`
	Prompt       string `json:"prompt,omitempty"`
	ImageURL     string `json:"image_url,omitempty"`
	TailImageURL string `json:"tail_image_url,omitempty"`
	AspectRatio  string `json:"aspect_ratio,omitempty"`
	Duration     int    `json:"duration,omitempty"`
	Seed         *int64 `json:"seed,omitempty"`
	// CallbackURL, vidgen's own field, receives a signed webhook when the
	// job ends.
	CallbackURL string `json:"callback_url,omitempty"`

	// Params are the model's other fields by name, each value anything
	// encoding/json marshals (a string, number, bool, nil, slice, map or
	// struct): {"negative_prompt": "blur", "resolution": "1080p"}. A field
	// whose value the typed field cannot hold goes here too, such as a
	// duration the model takes as a string ("5"). Naming a field a typed
	// field also sets is an error of Marshal. Unmarshal fills the typed
	// fields with what they hold and Params with the rest (numbers as
	// json.Number, explicit nulls and zero values kept), so a body decoded
	// and encoded again is the body it was.
	Params map[string]any `json:"-"`
}

// request is Request's typed fields, encoded as encoding/json does.
type request Request

// MarshalJSON writes the typed fields, then Params in key order, as one
// flat object.
func (r Request) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(request(r))
	if err != nil {
		return nil, err
	}
	if len(r.Params) == 0 {
		return base, nil
	}
	if _, ok := r.Params["model"]; ok && r.Model == "" {
		// Model, the one typed field written when zero, comes first; a
		// "model" Unmarshal kept in Params ("" or null) stands for it.
		base = append([]byte("{"), bytes.TrimPrefix(base[len(`{"model":""`):], []byte(","))...)
	}
	var set map[string]json.RawMessage
	if err := json.Unmarshal(base, &set); err != nil {
		return nil, err
	}
	for k := range r.Params {
		if _, ok := set[k]; ok {
			return nil, fmt.Errorf("vidgen: request field %q is set both by its typed field and in Params", k)
		}
	}
	params, err := json.Marshal(r.Params)
	if err != nil {
		return nil, fmt.Errorf("vidgen: request params: %w", err)
	}
	if len(base) == len("{}") {
		return params, nil
	}
	// Both are objects: {"model":…} and {"k":…}; splice the second's
	// members after the first's.
	out := append(base[:len(base)-1:len(base)-1], ',')
	return append(out, params[1:]...), nil
}

// UnmarshalJSON reads one flat object: each typed field's member into it
// when it can hold the value, every other member into Params.
func (r *Request) UnmarshalJSON(b []byte) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return err
	}
	*r = Request{}
	typed := map[string]any{
		"model": &r.Model, "prompt": &r.Prompt, "image_url": &r.ImageURL, "tail_image_url": &r.TailImageURL,
		"aspect_ratio": &r.AspectRatio, "duration": &r.Duration, "seed": &r.Seed, "callback_url": &r.CallbackURL,
	}
	for k, raw := range members {
		if dst, ok := typed[k]; ok && string(raw) != "null" {
			// A zero value ("", 0) stays in Params, where Marshal writes
			// it again; a typed field's zero value is left out.
			if err := json.Unmarshal(raw, dst); err == nil && !reflect.ValueOf(dst).Elem().IsZero() {
				continue
			}
			reflect.ValueOf(dst).Elem().SetZero()
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("vidgen: request field %q: %w", k, err)
		}
		if r.Params == nil {
			r.Params = map[string]any{}
		}
		r.Params[k] = v
	}
	return nil
}

// Generation is a job as the API answers it: the upstream's poll response
// plus timestamps and progress. docs/api.md says when each progress field
// is present and how fresh it is.
type Generation struct {
	ID        string    `json:"id"`
	Status    Status    `json:"status"`
	Video     *Video    `json:"video"`
	Error     *Error    `json:"error"`
	Meta      *Meta     `json:"meta"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Model is the model the job was submitted with (the request's model),
	// so that a client can tell jobs apart as the list's model filter and
	// the day's credits by model do. Like the progress fields below, it is
	// vidgen's own: the upstream's poll response has no such member. Every
	// answer of a job carries it, as do a webhook's job (webhook.Job) and
	// the bus event's detail; a submit's answer ({"id","status"}) does not,
	// hence omitempty.
	Model string `json:"model,omitempty"`
	// Polls counts vidgen's status checks with the upstream so far.
	Polls int `json:"polls"`
	// LastCheckedAt is when vidgen last asked the upstream; nil before the
	// first ask.
	LastCheckedAt *time.Time `json:"last_checked_at,omitempty"`
	// StartedAt is when the job was submitted upstream (admitted and
	// sent); nil before.
	StartedAt *time.Time `json:"started_at,omitempty"`
	// EndedAt is when the job reached completed or error; nil before.
	EndedAt *time.Time `json:"ended_at,omitempty"`
	// QueuePosition is the job's 1-based place among its tenant's jobs
	// waiting for an admission slot; nil unless it waits for one.
	QueuePosition *int `json:"queue_position,omitempty"`
	// ETA estimates when the job completes; nil while it waits for a
	// slot, once it ended, or when no estimate can be made.
	ETA *ETA `json:"eta,omitempty"`
}

// ETA is an estimate of when a job completes, from the generation times
// vidgen has learned (or the upstream's documented ones before it learned
// any): At is the expected completion, and the job completes between
// Earliest and Latest with probability Confidence.
type ETA struct {
	At         time.Time `json:"at"`
	Earliest   time.Time `json:"earliest"`
	Latest     time.Time `json:"latest"`
	Confidence float64   `json:"confidence"`
}

// Video is a completed job's video. In API answers URL is a link to
// vidgen's copy, valid for an hour: query again for a fresh one.
type Video struct {
	URL      string   `json:"url"`
	Duration *float64 `json:"duration,omitempty"`
	// Key names vidgen's copy in its bucket. Events, webhooks and workflow
	// results carry it; API answers do not.
	Key string `json:"key,omitempty"`
}

// Error says why a job failed: one of vidgen's names (TimedOut, Cancelled,
// GenerationFailed, …; docs/integrations.md lists them) or the upstream's
// own.
type Error struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// Meta carries usage like the upstream's poll response.
type Meta struct {
	Usage Usage `json:"usage"`
}

// Usage reports what the upstream charged, under both names the upstream
// documents (credits_used on submit, tokens_used on poll).
type Usage struct {
	CreditsUsed float64 `json:"credits_used"`
	TokensUsed  float64 `json:"tokens_used"`
}

// Page is one page of GET /v2/video/generations, newest first.
type Page struct {
	Data []Generation `json:"data"`
	// Next is the cursor of the following page, or nil on the last.
	Next *string `json:"next"`
	// Usage is what the tenant's jobs cost on one UTC day (today, or the
	// list's usage_day), over all its jobs whatever the filter.
	Usage *Spend `json:"usage,omitempty"`
}

// Spend is a tenant's credits on one UTC day: those the upstream reported
// on its jobs, counted on the day each job's record first carried them.
type Spend struct {
	Day         string             `json:"day"` // YYYY-MM-DD, UTC
	CreditsUsed float64            `json:"credits_used"`
	ByModel     map[string]float64 `json:"by_model"`
	// DailyCap is the tenant's daily spend cap in credits, nil when none
	// applies; no job is admitted once CreditsUsed reaches it.
	DailyCap *float64 `json:"daily_cap,omitempty"`
	// ResetsAt is when the day ends: the next UTC midnight.
	ResetsAt time.Time `json:"resets_at"`
}

// SpendCapDetail says why a submit was refused with 429 SpendCapReached.
type SpendCapDetail struct {
	DailyCap    float64   `json:"daily_cap"`
	CreditsUsed float64   `json:"credits_used"`
	Day         string    `json:"day"`
	ResetsAt    time.Time `json:"resets_at"`
}

// ErrorResponse is the body of every error answer vidgen gives (4xx, 5xx).
// API Gateway's own refusals of a missing or unknown key are
// {"message": "Unauthorized"} and {"message": "Forbidden"}.
type ErrorResponse struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail names the error; Fields lists every bad field of an invalid
// request (Name "ValidationError").
type ErrorDetail struct {
	Name    string       `json:"name"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
	// SpendCap details a SpendCapReached refusal.
	SpendCap *SpendCapDetail `json:"spend_cap,omitempty"`
}

// FieldError names one bad field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}
