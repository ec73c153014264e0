package pollpolicy_test

import (
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/pollpolicy/polltest"
)

// providerModels is one model of every provider in the catalogue (the
// first id of each, in the catalogue's order), plus the models make bench
// mixes.
func providerModels(t *testing.T) []*catalog.Model {
	t.Helper()
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []*catalog.Model
	for _, id := range c.IDs() {
		m, _ := c.Lookup(id)
		if !seen[m.Provider] {
			seen[m.Provider] = true
			out = append(out, m)
		}
	}
	for _, id := range []string{job.Model, "klingai/v2.1-master-text-to-video", "google/veo-3.1-t2v-fast"} {
		if m, ok := c.Lookup(id); ok && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if len(out) < 18 {
		t.Fatalf("%d providers in the catalogue, want the reference's 18", len(out))
	}
	return out
}

// modelJob is a fresh job of model for a clip of d seconds, submitted at
// t0 with the model's deadline.
func modelJob(m *catalog.Model, d int) job.Job {
	at := t0
	return job.Job{
		ID: "job-model", Status: job.Generating,
		Request:   job.Request{Model: m.ID, Duration: d},
		CreatedAt: t0, SubmitStarted: &at, Deadline: t0.Add(m.Deadline),
	}
}

// Before anything is learned, the deployed policy's first poll of every
// provider's model is its catalogued prior's 2nd percentile (σ 0.35),
// rounded up to whole seconds, for each clip length the catalogue gives a
// time for; its estimate's median is the prior itself.
func TestFirstPollFollowsTheCatalogue(t *testing.T) {
	p := pollpolicy.LongPoll()
	for _, m := range providerModels(t) {
		for _, d := range slices.Sorted(maps.Keys(m.Prior)) {
			j := m.ID
			prior := m.Prior[d]
			want := int(math.Ceil(polltest.LognormalAt(prior, 0.35, p.Adaptive.From).Seconds()))
			if got := p.First(modelJob(m, d), t0, pollpolicy.Times{}); got != want {
				t.Errorf("%s (%s), %d-s clip: first poll after %d s, want %d (prior %s)", j, m.Provider, d, got, want, prior)
			}
			if got := pollpolicy.Prior(m.ID, d); got != prior {
				t.Errorf("%s, %d-s clip: Prior = %s, want the catalogue's %s", j, d, got, prior)
			}
			e, ok := p.ETA(modelJob(m, d), t0, pollpolicy.Times{})
			if !ok || e.At != t0.Add(prior) {
				t.Errorf("%s, %d-s clip: ETA %+v, %v; want at the prior, t0+%s", j, d, e, ok, prior)
			}
		}
	}
}

// The same, against values worked out independently (Python's
// statistics.NormalDist: median × exp(0.35 × z(0.02))), so that the test
// above does not only restate the code.
func TestFirstPollAnchors(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p := pollpolicy.LongPoll()
	for _, tc := range []struct {
		model string
		d     int
		want  int // seconds
	}{
		{job.Model, 5, 13},                              // 25 s: 12.183 s
		{job.Model, 10, 22},                             // 45 s: 21.930 s
		{"klingai/v2.1-master-text-to-video", 5, 161},   // 330 s: 160.819 s
		{"klingai/v2.1-master-image-to-video", 10, 366}, // 750 s: 365.498 s
		{"google/veo-3.1-t2v-fast", 8, 59},              // 120 s: 58.480 s
		{"runway/gen4_turbo", 5, 32},                    // 65 s: 31.677 s
	} {
		m, ok := c.Lookup(tc.model)
		if !ok {
			t.Fatalf("%s is not catalogued", tc.model)
		}
		if got := p.First(modelJob(m, tc.d), t0, pollpolicy.Times{}); got != tc.want {
			t.Errorf("%s, %d-s clip: first poll after %d s, want %d", tc.model, tc.d, got, tc.want)
		}
	}
}

// What a model learned decides for it alone: a snapshot of learned times
// answers its own quantiles whatever the model, and an unlearned one the
// prior of the model the job asks for.
func TestLearnedTimesOverrideTheModelsPrior(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	kling, _ := c.Lookup("klingai/v2.1-master-text-to-video")
	p := polltest.LearnedPolicy(nil)
	learned := polltest.LearnedTimes()
	if got, want := p.First(modelJob(kling, 5), t0, learned), int(math.Ceil(polltest.LearnedFrom.Seconds())); got != want {
		t.Errorf("Kling master with learned times: first poll after %d s, want the learned From's %d", got, want)
	}
	if got := p.First(modelJob(kling, 5), t0, pollpolicy.Times{}); got != 161 {
		t.Errorf("Kling master unlearned: first poll after %d s, want its prior's 161", got)
	}
	if got := learned.Of(kling.ID).Len(); got != learned.Len() {
		t.Errorf("Of changed the snapshot's times: %d, want %d", got, learned.Len())
	}
}

// LongPoll stops asking within Polls at ten minutes for a model whose
// times end well before (gen3a_turbo), but not before twice the 97th
// percentile of a slower model's (Kling master's 10-s clips: 2 × 1448.6 s,
// past their 45-min deadline, so they keep asking until it).
func TestLongPollTailFollowsTheModel(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	gen3, _ := c.Lookup(job.Model)
	kling, _ := c.Lookup("klingai/v2.1-master-text-to-video")
	p := pollpolicy.LongPoll()
	for _, tc := range []struct {
		name   string
		m      *catalog.Model
		d      int
		at     time.Duration
		window time.Duration
		next   int
	}{
		{"gen3a_turbo at 9 min: asks until 10 min", gen3, 5, 9 * time.Minute, time.Minute, 1},
		{"gen3a_turbo at 11 min: waits in the machine", gen3, 5, 11 * time.Minute, 0, 99}, // 15 % of 660 s
		{"Kling master 5 s at 11 min: asks", kling, 5, 11 * time.Minute, pollpolicy.LongPollWindow, 1},
		// 2 × 637.383 s: windows end at 1274.766 s.
		{"Kling master 5 s at 20 min: asks until 2 × its 97th percentile", kling, 5, 20 * time.Minute, 74766 * time.Millisecond, 1},
		{"Kling master 5 s at 22 min: waits at most 2 min", kling, 5, 22 * time.Minute, 0, 120},
		// 2 × 1448.597 s = 2897.194 s, past the 2700-s deadline: the Poll
		// (steps) ends its window at the deadline.
		{"Kling master 10 s at 40 min: asks past its deadline", kling, 10, 40 * time.Minute, 497194 * time.Millisecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, now := modelJob(tc.m, tc.d), t0.Add(tc.at)
			if w, _ := p.Window(j, now, pollpolicy.Times{}); w != tc.window {
				t.Errorf("Window = %s, want %s", w, tc.window)
			}
			if got := p.Next(j, now, pollpolicy.Times{}); got != tc.next {
				t.Errorf("Next = %d s, want %d", got, tc.next)
			}
		})
	}
}
