package costsim

import (
	"math/rand/v2"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
)

// ModelMix is one model's part of a mixed workload: its share of the jobs
// and of their clip lengths.
type ModelMix struct {
	Model string
	Share float64
	Clips []Clip
}

// Clip is a clip length and its share of a model's jobs.
type Clip struct {
	Duration int
	Share    float64
}

// Kling master and Veo models of the mixed workload: the slowest catalogued
// model (generations of 5½ and 12½ minutes, a 45-min deadline) and one in
// the middle (2 min for an 8-s clip).
const (
	KlingMaster = "klingai/v2.1-master-text-to-video"
	Veo         = "google/veo-3.1-t2v-fast"
)

// MixedModels is issue 18's mix: half gen3a_turbo (70 % 5-s clips, 30 %
// 10-s, as the reference workload), a quarter Kling master (likewise) and a
// quarter Veo (8-s clips, its default).
func MixedModels() []ModelMix {
	return []ModelMix{
		{Model: job.Model, Share: 0.5, Clips: []Clip{{5, 0.7}, {10, 0.3}}},
		{Model: KlingMaster, Share: 0.25, Clips: []Clip{{5, 0.7}, {10, 0.3}}},
		{Model: Veo, Share: 0.25, Clips: []Clip{{8, 1}}},
	}
}

// Mixed is the reference workload's shape (arrivals, σ, errors, long
// tails, never-ending jobs) over models: each generation is drawn around
// its model's catalogued prior for its clip length (pollpolicy.Prior), a
// long tail takes 2–4× that prior (within 90 % of the model's deadline),
// and one that never ends runs into the model's deadline.
func Mixed(jobs int, models []ModelMix) Workload {
	w := Reference()
	w.Jobs, w.Models = jobs, models
	return w
}

// Only is the jobs of w of model alone, at their arrival times in w: one
// model's part of a mixed workload, which costsim bills as a run of its
// own (a run's usage is counted as a whole).
func Only(jobs []Job, model string) []Job {
	var out []Job
	for _, j := range jobs {
		if j.Model == model {
			out = append(out, j)
		}
	}
	return out
}

// drawModel draws a job's model and clip length, and the median and long
// tail range of its generation time.
func drawModel(r *rand.Rand, models []ModelMix) (model string, d int, median, tailMin, tailMax time.Duration) {
	m := pick(r, models, func(m ModelMix) float64 { return m.Share })
	c := pick(r, m.Clips, func(c Clip) float64 { return c.Share })
	median = pollpolicy.Prior(m.Model, c.Duration)
	tailMin = 2 * median
	tailMax = min(4*median, catalog.JobDeadline(m.Model, 0)*9/10)
	return m.Model, c.Duration, median, min(tailMin, tailMax), tailMax
}

// pick draws one of xs by their weights.
func pick[T any](r *rand.Rand, xs []T, weight func(T) float64) T {
	var total float64
	for _, x := range xs {
		total += weight(x)
	}
	u := r.Float64() * total
	for _, x := range xs {
		if u -= weight(x); u < 0 {
			return x
		}
	}
	return xs[len(xs)-1]
}

// Body is the request the job submits: its model's own (model, prompt,
// duration), and gen3a_turbo's with an image.
func (j Job) Body() map[string]any {
	if j.Model == "" || j.Model == job.Model {
		return map[string]any{"model": job.Model, "image_url": "https://example.com/a.jpg", "prompt": j.Prompt(), "duration": j.Duration}
	}
	return map[string]any{"model": j.Model, "prompt": j.Prompt(), "duration": j.Duration}
}
