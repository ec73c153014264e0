package vidgen_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
)

// What a client builds with Request is what the API parses: every field
// arrives, with the API's own validation (the HTTP route's options).
func TestRequestIsWhatTheAPIParses(t *testing.T) {
	seed := int64(42)
	req := vidgen.Request{
		Model: "gen3a_turbo", Prompt: "a calm sea", ImageURL: "https://example.com/a.jpg",
		TailImageURL: "https://example.com/b.jpg", AspectRatio: "9:16", Duration: 10, Seed: &seed,
		CallbackURL: "https://hooks.example.com/vidgen",
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	callback := ""
	sub, err := job.ParseSubmission(body, job.ParseOptions{CheckCallback: func(u string) error { callback = u; return nil }})
	if err != nil {
		t.Fatalf("ParseSubmission(%s) = %v", body, err)
	}
	got := sub.Request
	if got.Model != req.Model || got.Prompt != req.Prompt || got.ImageURL != req.ImageURL || got.TailImageURL != req.TailImageURL ||
		got.AspectRatio != req.AspectRatio || got.Duration != req.Duration || got.Seed == nil || *got.Seed != seed ||
		sub.CallbackURL != req.CallbackURL || callback != req.CallbackURL {
		t.Errorf("parsed %+v (callback %q), want %+v", sub, sub.CallbackURL, req)
	}

	// The zero values of the optional fields are left out: the API's
	// defaults apply.
	body, err = json.Marshal(vidgen.Request{Model: "gen3a_turbo", ImageURL: "https://example.com/a.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err = job.ParseSubmission(body, job.ParseOptions{})
	if err != nil {
		t.Fatalf("ParseSubmission(%s) = %v", body, err)
	}
	if sub.Request.AspectRatio != job.DefaultAspectRatio || sub.Request.Duration != job.DefaultDuration {
		t.Errorf("minimal request parsed as %+v, want the defaults", sub.Request)
	}
}

// The statuses a client compares with are the domain's.
func TestStatusesAreTheDomains(t *testing.T) {
	for _, tc := range []struct {
		public vidgen.Status
		domain job.Status
	}{{vidgen.Queued, job.Queued}, {vidgen.Generating, job.Generating}, {vidgen.Completed, job.Completed}, {vidgen.Failed, job.Failed}} {
		if string(tc.public) != string(tc.domain) {
			t.Errorf("vidgen status %q, job status %q", tc.public, tc.domain)
		}
	}
}

// A job renders for a client with every field, and vidgen's own key left out.
func TestGenerationOfAJob(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	secs, credits := 5.0, 500000.0
	j := job.Job{ID: "j1", Status: job.Completed, Video: &job.Video{URL: "https://cdn.example.com/v.mp4", Duration: &secs, Key: "videos/j1.mp4"},
		CreditsUsed: &credits, CreatedAt: at, UpdatedAt: at.Add(time.Minute), Request: job.Request{Model: "klingai/v2-master-text-to-video"}}
	b, err := json.Marshal(api.NewGeneration(j))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"j1","status":"completed","video":{"url":"https://cdn.example.com/v.mp4","duration":5},"error":null,` +
		`"meta":{"usage":{"credits_used":500000,"tokens_used":500000}},"created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:01:00Z",` +
		`"model":"klingai/v2-master-text-to-video","polls":0,"ended_at":"2026-03-01T12:01:00Z"}`
	if string(b) != want {
		t.Errorf("generation\n%s\nwant\n%s", b, want)
	}
	// A record whose request names no model is gen3a_turbo's, as
	// job.Request decodes it, and its answer says so.
	var old job.Request
	if err := json.Unmarshal([]byte(`{"image_url":"https://example.com/a.png","aspect_ratio":"16:9","duration":5}`), &old); err != nil {
		t.Fatal(err)
	}
	j.Request = old
	if g := api.NewGeneration(j); g.Model != "gen3a_turbo" {
		t.Errorf("a request without a model answers model %q, want gen3a_turbo", g.Model)
	}
	j.Status, j.Video, j.CreditsUsed, j.Error = job.Failed, nil, nil, &job.Error{Name: job.ErrNameTimedOut, Message: "too slow"}
	var g vidgen.Generation
	if b, err = json.Marshal(api.NewGeneration(j)); err != nil || json.Unmarshal(b, &g) != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if g.Status != vidgen.Failed || g.Error == nil || g.Error.Name != "TimedOut" || g.Error.Message != "too slow" || g.Video != nil || g.Meta != nil {
		t.Errorf("failed generation %s decoded as %+v", b, g)
	}
}
