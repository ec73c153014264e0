package steps_test

import (
	"encoding/json"
	"log/slog"
	"math"
	"testing"

	"github.com/vidgen/vidgen/internal/catalog/catalogtest"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/pollpolicy/polltest"
	"github.com/vidgen/vidgen/internal/steps"
)

// For one model of every provider, a direct start's job gets its model's
// catalogued deadline, and the Register state's first Submit (the
// deployed policy, nothing learned) waits its model's prior's 2nd
// percentile (σ 0.35), rounded up, before the first poll: both from the
// catalogue, through the real steps and the simulator.
func TestRegisterEveryProvidersModelFollowsTheCatalogue(t *testing.T) {
	for _, m := range catalogtest.ByProvider(t, "klingai/v2.1-master-text-to-video", "google/veo-3.1-t2v-fast") {
		t.Run(m.Provider, func(t *testing.T) {
			e := newEnv(t)
			submitter := *e.h
			submitter.Policy = pollpolicy.LongPoll()
			r := &steps.Registrar{Store: e.store, Clock: e.clk, Log: slog.New(slog.DiscardHandler), Submitter: &submitter}
			body, err := json.Marshal(catalogtest.Body(m, "https://example.com/"))
			if err != nil {
				t.Fatal(err)
			}
			now := e.clk.Now()
			reg, err := r.Register(t.Context(), steps.RegisterInput{Request: body, Execution: "model-1"})
			if err != nil {
				t.Fatalf("%s: Register(%s): %v", m.ID, body, err)
			}
			j := e.get("model-1")
			if got := j.Deadline.Sub(now); got != m.Deadline {
				t.Errorf("%s: deadline %s after registration, want the catalogue's %s", m.ID, got, m.Deadline)
			}
			prior := m.PriorFor(j.Request.Duration)
			want := int(math.Ceil(polltest.LognormalAt(prior, 0.35, submitter.Policy.Adaptive.From).Seconds()))
			if !reg.Step.Submitted || reg.Step.WaitSeconds != want {
				t.Errorf("%s (%d-s clip, prior %s): first Submit %+v; want submitted, then a wait of %d s", m.ID, j.Request.Duration, prior, reg.Step, want)
			}
		})
	}
}
