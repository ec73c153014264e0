package reconcile_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/reconcile"
)

// A pass records each of its acts, and the ends it writes as jobs ended.
func TestReconcilerRecordsActions(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	open := func(id string, age, deadlineIn time.Duration) job.Job {
		return job.Job{ID: id, Tenant: "t", Status: job.Queued, CreatedAt: now.Add(-age), UpdatedAt: now.Add(-age),
			Deadline: now.Add(deadlineIn)}
	}
	untried := open("untried", time.Minute, time.Hour)
	lost := open("lost", time.Hour, time.Hour)
	lost.Status, lost.UpstreamID, lost.Polls = job.Generating, "u-1", 3
	overdue := open("overdue", time.Hour, -time.Hour)
	overdue.Polls = 7
	// Holds a slot that no counter counts: the pass repairs the counters.
	overdue.Slot = true
	s := bolttest.New(t, untried, lost, overdue)
	reg := metrics.NewRegistry()
	r := &reconcile.Reconciler{Store: s, Executions: &executions{}, Clock: clock.NewManual(now),
		Grace: time.Minute, MinAge: 5 * time.Minute, Log: slog.New(slog.DiscardHandler), Metrics: metrics.New("test", reg, nil)}
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
