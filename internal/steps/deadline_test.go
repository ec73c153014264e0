package steps_test

import (
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/job"
)

// A direct start's job gets its model's catalogued deadline when no
// operator set one (Registrar.Deadline 0, VIDGEN_JOB_DEADLINE_SECONDS=0),
// and the operator's, for every model, when one is set.
func TestRegisterDeadlineFollowsTheModel(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	gen3, _ := c.Lookup(job.Model)
	for _, tc := range []struct {
		name     string
		override time.Duration
		want     time.Duration
	}{
		{"the model's", 0, gen3.Deadline},
		{"an operator's", 50 * time.Minute, 50 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegEnv(t)
			e.r.Deadline = tc.override
			now := e.clk.Now()
			e.mustRegister(t, "deadline-1", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
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
