package steps_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/job"
)

// noStarts is an admission Starter for jobs that have their executions
// already (a direct start's): starting one changes nothing.
type noStarts struct{}

func (noStarts) Start(context.Context, string, string) error { return nil }

// TestRegisterReportsWaiting: under caps, Register says the job waits when
// its admission admitted nothing (so that the machine parks at once, with
// no Submit first), and not when the job took a free slot; either way the
// record says the same.
func TestRegisterReportsWaiting(t *testing.T) {
	e := newRegEnv(t)
	e.r.Admission = &admission.Dispatcher{Store: e.store, Starter: noStarts{}, Limits: job.Limits{Global: 2, PerTenant: 1},
		Clock: e.clk, Log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		exec, tenant string
		waits        bool
	}{
		{"exec-a1", "a", false}, // a free slot
		{"exec-a2", "a", true},  // a at its cap
		{"exec-b1", "b", false}, // the last slot in all
		{"exec-c1", "c", true},  // every slot taken
	} {
		reg := e.mustRegister(t, tc.exec, fmt.Sprintf(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","tenant":%q}`, tc.tenant))
		got, err := e.store.Get(t.Context(), tc.exec)
		if err != nil {
			t.Fatal(err)
		}
		if reg.Step.Waiting != tc.waits || got.Waiting != tc.waits || reg.JobID != tc.exec || reg.Follow {
			t.Errorf("%s: Registration %+v, record waiting %v; want waiting %v both", tc.exec, reg, got.Waiting, tc.waits)
		}
	}
}
