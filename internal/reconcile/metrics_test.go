package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/metrics"
)

// A pass records each of its acts, and the ends it writes as jobs ended.
func TestReconcilerRecordsActions(t *testing.T) {
	ctx := context.Background()
	untried := open("untried", time.Minute, time.Hour)
	lost := open("lost", time.Hour, time.Hour)
	lost.Status, lost.UpstreamID, lost.Polls = job.Generating, "u-1", 3
	overdue := open("overdue", time.Hour, -time.Hour)
	overdue.Polls = 7
	// Holds a slot that no counter counts: the pass repairs the counters.
	overdue.Slot = true
	s := bolttest.New(t, untried, lost, overdue)
	reg := metrics.NewRegistry()
	r := reconciler(s, &executions{})
	r.Metrics = metrics.New("test", reg, nil)
	rep, err := r.Run(ctx)
	if err != nil || rep.Started != 1 || rep.Resumed != 1 || rep.TimedOut != 1 || !rep.Repaired {
		t.Fatalf("report %+v, %v; want one of each act", rep, err)
	}
	for _, action := range []string{metrics.ActionStarted, metrics.ActionResumed, metrics.ActionTimedOut, metrics.ActionSlotsRepaired} {
		if v, _ := reg.Value(metrics.ReconcilerActions, "test", metrics.Label{Key: metrics.DimAction, Value: action}); v != 1 {
			t.Errorf("ReconcilerActions{Action=%s} = %v, want 1", action, v)
		}
	}
	if v, _ := reg.Value(metrics.JobsEnded, "test", metrics.Label{Key: metrics.DimStatus, Value: "error"},
		metrics.Label{Key: metrics.DimError, Value: job.ErrNameTimedOut}); v != 1 {
		t.Errorf("JobsEnded{error, TimedOut} = %v, want 1", v)
	}
	if sum, n := reg.Value(metrics.PollsPerJob, "test"); sum != 7 || n != 1 {
		t.Errorf("PollsPerJob = %v over %d jobs, want 7 over 1", sum, n)
	}
	if sum, _ := reg.Value(metrics.JobDuration, "test"); sum != time.Hour.Seconds() {
		t.Errorf("JobDuration = %v s, want an hour", sum)
	}
}
