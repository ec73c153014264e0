package steps_test

import (
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
)

// A direct start's job gets its model's catalogued deadline when no
// operator set one (Registrar.Deadline 0, VIDGEN_JOB_DEADLINE_SECONDS=0),
// and the operator's, for every model, when one is set.
func TestRegisterDeadlineFollowsTheModel(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	// Kling master's deadline (2700 s) is not the default, so a wiring
	// that falls back to the default fails the first case.
	const kling = "klingai/v2.1-master-text-to-video"
	m, ok := c.Lookup(kling)
	if !ok || m.Deadline == catalog.DefaultDeadline {
		t.Fatalf("%s: want a catalogued deadline other than the default %s", kling, catalog.DefaultDeadline)
	}
	for _, tc := range []struct {
		name     string
		override time.Duration
		want     time.Duration
	}{
		{"the model's", 0, m.Deadline},
		{"an operator's", 50 * time.Minute, 50 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegEnv(t)
			e.r.Deadline = tc.override
			now := e.clk.Now()
			e.mustRegister(t, "deadline-1", `{"model":"`+kling+`","prompt":"a fox"}`)
			j, err := e.store.Get(t.Context(), "deadline-1")
			if err != nil {
				t.Fatal(err)
			}
			if got := j.Deadline.Sub(now); got != tc.want {
				t.Errorf("deadline %s after registration, want %s", got, tc.want)
			}
		})
	}
}
