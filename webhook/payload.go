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
// for a link to vidgen's copy.
type Job struct {
	vidgen.Generation
	Tenant  string         `json:"tenant"`
	Request RequestSummary `json:"request"`
}

// RequestSummary is what was asked for, without the images: Image and
// TailImage describe them ("data:image/png (1048576 bytes)", or an https URL
// without its query).
type RequestSummary struct {
	Prompt      string `json:"prompt,omitempty"`
	AspectRatio string `json:"aspect_ratio"`
	Duration    int    `json:"duration"`
	Seed        *int64 `json:"seed,omitempty"`
	Image       string `json:"image"`
	TailImage   string `json:"tail_image,omitempty"`
}
