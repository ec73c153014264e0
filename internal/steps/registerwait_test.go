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

// admittedElsewhere is an admission that admits nothing itself while
// another, run for a job registered beside this one, admits this one.
type admittedElsewhere struct{ e *regEnv }

func (admittedElsewhere) Enabled() bool { return true }

func (a admittedElsewhere) Admit(ctx context.Context, fresh ...job.Job) (int, error) {
	for _, j := range fresh {
		if _, err := a.e.store.Admit(ctx, j.ID, job.Limits{}, a.e.clk.Now()); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// TestRegisterWaitingOnlyIfStill: an admission that admitted nothing does
// not make Register say the job waits when another admission admitted it.
func TestRegisterWaitingOnlyIfStill(t *testing.T) {
	e := newRegEnv(t)
	e.r.Admission = admittedElsewhere{e}
	reg := e.mustRegister(t, "exec-x", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","tenant":"a"}`)
	if got, err := e.store.Get(t.Context(), "exec-x"); err != nil || got.Waiting || reg.Step.Waiting {
		t.Fatalf("Registration %+v, record %+v (%v); want admitted, not waiting", reg, got, err)
	}
}
