package notify

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// The event of another model's job summarises its body: the model, its
// prompt, its aspect ratio (or ratio), the duration it asked for or the
// model's default (Grok's 10 s), its seed, image_url as the image, and every other
// media value by its path, each described, never printed.
func TestNewEventOfOtherModels(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	seed := int64(9)
	for _, tc := range []struct {
		body string
		want RequestSummary
	}{
		{`{"model":"klingai/video-o1-reference-to-video","prompt":"a fox","aspect_ratio":"1:1",` +
			`"image_list":["https://a.example/1.png?X-Amz-Signature=secret","data:image/png;base64,AAAA"],` +
			`"elements":[{"frontal_image_url":"blob:images/j1/elements.0.frontal_image_url","reference_image_urls":["https://a.example/r.png"]}]}`,
			RequestSummary{Model: "klingai/video-o1-reference-to-video", Prompt: "a fox", AspectRatio: "1:1", Duration: 5, Media: map[string]string{
				"image_list[0]":                       "https://a.example/1.png",
				"image_list[1]":                       "data:image/png (3 bytes)",
				"elements[0].frontal_image_url":       "blob:images/j1/elements.0.frontal_image_url",
				"elements[0].reference_image_urls[0]": "https://a.example/r.png",
			}}},
		{`{"model":"runway/gen4_turbo","prompt":"p","image_url":"https://a.example/x.png","tail_image_url":"https://a.example/y.png","duration":10,"seed":9}`,
			RequestSummary{Model: "runway/gen4_turbo", Prompt: "p", Duration: 10, Seed: &seed, Image: "https://a.example/x.png", TailImage: "https://a.example/y.png"}},
		{`{"model":"x-ai/grok-imagine-video"}`, RequestSummary{Model: "x-ai/grok-imagine-video", Duration: 10}},
	} {
		req, err := job.ParseRequest([]byte(strings.Replace(tc.body, "blob:images/j1/elements.0.frontal_image_url", "https://a.example/f.png", 1)), job.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		// The record holds what the body says, a blob reference included.
		if err := req.UnmarshalJSON([]byte(tc.body)); err != nil {
			t.Fatal(err)
		}
		e, err := NewEvent(job.Job{ID: "j1", Tenant: "t", Status: job.Completed, Request: req, CreatedAt: at, UpdatedAt: at,
			Video: &job.Video{URL: "https://cdn.example.com/v.mp4"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Detail.Request; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: summary\n%+v, want\n%+v", tc.body, got, tc.want)
		}
		if detail, _ := e.DetailJSON(); strings.Contains(string(detail), "secret") || strings.Contains(string(detail), "AAAA") {
			t.Errorf("event carries media payloads or signatures: %s", detail)
		}
	}
}
