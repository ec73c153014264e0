package admission_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/metrics"
)

// Each Admit records the slots held after it and the jobs left waiting.
func TestAdmitRecordsLevels(t *testing.T) {
	var jobs []job.Job
	for i := range 7 {
		jobs = append(jobs, waiting(fmt.Sprintf("a%d", i), "tenantA", time.Duration(60-i)*time.Minute))
	}
	d, st, _ := setup(t, job.Limits{Global: 5}, jobs...)
	reg := metrics.NewRegistry()
	d.Metrics = metrics.New("test", reg, nil)
	levels := func() (inFlight, waiting float64, waitingCount uint64) {
		inFlight, _ = reg.Value(metrics.AdmissionInFlight, "test")
		waiting, waitingCount = reg.Value(metrics.AdmissionWaiting, "test")
		return inFlight, waiting, waitingCount
	}

	if n, err := d.Admit(context.Background()); err != nil || n != 5 {
		t.Fatalf("admitted %d, %v; want 5", n, err)
	}
	if f, w, _ := levels(); f != 5 || w != 2 {
		t.Errorf("after the first Admit: in flight %v, waiting %v; want 5, 2", f, w)
	}
	// One ends: its slot goes to the next.
	if _, err := st.Update(context.Background(), "a0", job.Fail(t0, job.ErrNameCancelled, "x")); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Admit(context.Background()); err != nil || n != 1 {
		t.Fatalf("admitted %d, %v; want 1", n, err)
	}
	if f, w, _ := levels(); f != 5 || w != 1 {
		t.Errorf("after a slot freed: in flight %v, waiting %v; want 5, 1", f, w)
	}
}

// An Admit that finds every slot taken does not read the queue, so it
// records the slots held alone.
func TestAdmitFullRecordsInFlightOnly(t *testing.T) {
	d, _, _ := setup(t, job.Limits{Global: 1}, waiting("a0", "tenantA", time.Hour), waiting("a1", "tenantA", time.Minute))
	if n, err := d.Admit(context.Background()); err != nil || n != 1 {
		t.Fatalf("admitted %d, %v; want 1", n, err)
	}
	reg := metrics.NewRegistry()
	d.Metrics = metrics.New("test", reg, nil)
	if n, err := d.Admit(context.Background()); err != nil || n != 0 {
		t.Fatalf("admitted %d, %v; want 0", n, err)
	}
	if f, _ := reg.Value(metrics.AdmissionInFlight, "test"); f != 1 {
		t.Errorf("AdmissionInFlight = %v, want 1", f)
	}
	if _, n := reg.Value(metrics.AdmissionWaiting, "test"); n != 0 {
		t.Errorf("AdmissionWaiting recorded though the queue was not read")
	}
}
