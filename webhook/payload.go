package webhook

import (
	"time"

	"github.com/vidgen/vidgen"
)

// The types of webhook vidgen sends, one per job, when the job ends.
const (
	TypeCompleted = "video.generation.completed"
	TypeFailed    = "video.generation.failed"
)

// Payload is a webhook's body: decode it after Verify accepted it.
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Job       `json:"data"`
}

// Job is the job that ended, as the API answers it, plus its tenant and what
// was asked for. Video.Key names vidgen's copy of the video in its bucket;
// Video.URL is the upstream's link, which expires within hours: query the API
// for a link to vidgen's copy. A webhook carries Generation's Model, as the
// API answers it, but none of its progress fields.
type Job struct {
	vidgen.Generation
	Tenant  string         `json:"tenant"`
	Request RequestSummary `json:"request"`
}

// RequestSummary is what was asked for, without the media: Image,
// TailImage and Media describe them ("data:image/png (1048576 bytes)", or
// an https URL without its query). Duration is the clip's length in
// seconds, the model's default when the request gave none.
type RequestSummary struct {
	Model       string `json:"model,omitempty"`
	Prompt      string `json:"prompt,omitempty"`
	AspectRatio string `json:"aspect_ratio,omitempty"`
	Duration    int    `json:"duration"`
	Seed        *int64 `json:"seed,omitempty"`
	// Image and TailImage are the request's image_url and tail_image_url.
	Image     string `json:"image,omitempty"`
	TailImage string `json:"tail_image,omitempty"`
	// Media are the request's other media values, by their path in the
	// request ("image_urls[1]", "elements[0].frontal_image_url").
	Media map[string]string `json:"media,omitempty"`
}
