package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/reconcile"
)

// executions stands for Step Functions with scripted failures, to reach
// the reconciler's error paths; the happy paths run against the local
// engine in internal/local.
type executions struct {
	running    map[string]bool
	runningErr error
	startErr   error
	started    []string
}

func (x *executions) Running(_ context.Context, name string) (bool, error) {
	return x.running[name], x.runningErr
}

func (x *executions) Start(_ context.Context, name, _ string) error {
	if x.startErr != nil {
		return x.startErr
	}
	x.started = append(x.started, name)
	return nil
}

// now is when the passes of these tests run.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// reconciler is a Reconciler over s and x at now, with the grace and
// minimum age most of these tests use, that logs nowhere.
func reconciler(s reconcile.Store, x reconcile.Executions) *reconcile.Reconciler {
	return &reconcile.Reconciler{Store: s, Executions: x, Clock: clock.NewManual(now),
		Grace: time.Minute, MinAge: 5 * time.Minute, Log: slog.New(slog.DiscardHandler)}
}

// open is a queued job of tenant t, last written age ago, due deadlineIn
// from now.
func open(id string, age, deadlineIn time.Duration) job.Job {
	return job.Job{ID: id, Tenant: "t", Status: job.Queued, CreatedAt: now.Add(-age), UpdatedAt: now.Add(-age),
		Deadline: now.Add(deadlineIn)}
}

// admitFunc is an admission.Admitter made of a function.
type admitFunc func(context.Context) (int, error)

func (f admitFunc) Admit(ctx context.Context, _ ...job.Job) (int, error) { return f(ctx) }

// Enabled is never asked: the reconciler only admits.
func (f admitFunc) Enabled() bool { return true }

func TestReconciler(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, x *executions, jobs ...job.Job) (*reconcile.Reconciler, *boltstore.Store) {
		t.Helper()
		s := bolttest.New(t, jobs...)
		return reconciler(s, x), s
	}

	t.Run("running and young jobs are left alone", func(t *testing.T) {
		x := &executions{running: map[string]bool{"runs": true, "fresh-runs": true}}
		// Young and moved on by a step: its execution ran it a moment ago.
		young := open("young", time.Minute, time.Hour)
		young.Status, young.UpstreamID = job.Generating, "u-1"
		r, _ := setup(t, x, open("runs", time.Hour, time.Hour), young, open("fresh-runs", time.Minute, time.Hour))
		rep, err := r.Run(ctx)
		if err != nil || rep != (reconcile.Report{Open: 3}) || len(x.started) != 0 {
			t.Fatalf("report %+v, %v, started %v", rep, err, x.started)
		}
	})
	t.Run("a young job no execution ever ran is started at once, under its own name", func(t *testing.T) {
		x := &executions{startErr: errors.New("throttled")}
		r, s := setup(t, x, open("unstarted", time.Second, time.Hour))
		if rep, err := r.Run(ctx); err != nil || rep.Failed != 1 || rep.Started != 0 {
			t.Fatalf("report %+v, %v", rep, err)
		}
		// The next pass tries again, without waiting for MinAge.
		x.startErr = nil
		if rep, err := r.Run(ctx); err != nil || rep != (reconcile.Report{Open: 1, Started: 1}) {
			t.Fatalf("report %+v, %v", rep, err)
		}
		if j, _ := s.Get(ctx, "unstarted"); !slices.Equal(x.started, []string{"unstarted"}) || j.Resumes != 0 {
			t.Fatalf("started %v, job %+v; want its own execution name", x.started, j)
		}
	})
	t.Run("waiting jobs are admitted, not resumed", func(t *testing.T) {
		x := &executions{}
		waiting := open("waits", time.Hour, time.Hour)
		waiting.Waiting = true
		r, _ := setup(t, x, waiting)
		admits := 0
		r.Admission = admitFunc(func(context.Context) (int, error) { admits++; return 0, nil })
		if rep, err := r.Run(ctx); err != nil || rep != (reconcile.Report{Open: 1}) || len(x.started) != 0 || admits != 1 {
			t.Fatalf("report %+v, %v, started %v, admission runs %d", rep, err, x.started, admits)
		}
	})
	t.Run("a start that fails is counted and tried again later", func(t *testing.T) {
		x := &executions{startErr: errors.New("throttled")}
		r, s := setup(t, x, open("lost", time.Hour, time.Hour))
		if rep, err := r.Run(ctx); err != nil || rep.Failed != 1 || rep.Resumed != 0 {
			t.Fatalf("report %+v, %v", rep, err)
		}
		x.startErr = nil
		// The attempt touched the record: the job counts as lost again
		// once it has stood still for MinAge.
		if rep, _ := r.Run(ctx); rep.Resumed != 0 {
			t.Fatalf("second pass at once: %+v", rep)
		}
		r.Clock.(*clock.Manual).Advance(r.MinAge)
		if rep, _ := r.Run(ctx); rep.Resumed != 1 {
			t.Fatalf("second pass: %+v", rep)
		}
		// The failed attempt used up r1; the job now runs as r2.
		if j, _ := s.Get(ctx, "lost"); j.ExecutionName() != "lost-r2" || x.started[0] != "lost-r2" {
			t.Fatalf("job %+v, started %v", j, x.started)
		}
	})
	t.Run("an unreadable execution status resumes nothing", func(t *testing.T) {
		x := &executions{runningErr: errors.New("access denied")}
		r, s := setup(t, x, open("unknown", time.Hour, time.Hour))
		if rep, _ := r.Run(ctx); rep.Failed != 1 || len(x.started) != 0 {
			t.Fatalf("report %+v, started %v", rep, x.started)
		}
		if j, _ := s.Get(ctx, "unknown"); j.Resumes != 0 {
			t.Fatalf("resumes = %d", j.Resumes)
		}
	})
	t.Run("past the deadline and grace: ended, and announced by an execution", func(t *testing.T) {
		x := &executions{running: map[string]bool{"late": true}}
		r, s := setup(t, x, open("late", time.Hour, -2*time.Minute), open("in-grace", time.Hour, -30*time.Second),
			open("late-lost", time.Hour, -3*time.Minute))
		x.running["in-grace"] = true
		rep, _ := r.Run(ctx)
		// The running execution of "late" announces the end at its next
		// step; "late-lost" has none, so one is started to announce it.
		if rep.TimedOut != 2 || !slices.Equal(x.started, []string{"late-lost-end"}) {
			t.Fatalf("report %+v, started %v", rep, x.started)
		}
		for _, id := range []string{"late", "late-lost"} {
			if j, _ := s.Get(ctx, id); j.Status != job.Failed || j.Error.Name != job.ErrNameTimedOut {
				t.Fatalf("%s: %+v", id, j)
			}
		}
		if j, _ := s.Get(ctx, "in-grace"); j.Status != job.Queued {
			t.Fatalf("a job within its grace was ended: %+v", j)
		}
	})
}

// An end no execution announced (its own execution's Finish failed on
// every retry) keeps the job open; once its record has stood still for
// MinAge and no execution of it runs, one is started under its announce
// name. An announced end is not open, and a recent one or one an execution
// still runs is left to that execution.
func TestUnannouncedEndIsAnnounced(t *testing.T) {
	ctx := context.Background()
	ended := func(id string, age time.Duration) job.Job {
		j := open(id, age, time.Hour)
		j.Status, j.UpstreamID, j.Polls = job.Completed, "u-"+id, 3
		j.Video = &job.Video{URL: "https://v/" + id}
		return j
	}
	announcedAt := now.Add(-time.Hour)
	announced := ended("announced", time.Hour)
	announced.AnnouncedAt = &announcedAt
	claimed := ended("claimed", time.Hour)
	claimedAt := now.Add(-30 * time.Minute)
	claimed.AnnounceClaimed = &claimedAt // a claimant that died: the announcer takes over after its lease
	x := &executions{running: map[string]bool{"runs": true, "announcing-end": true}}
	s := bolttest.New(t, ended("lost", time.Hour), claimed, ended("recent", time.Minute), ended("runs", time.Hour),
		ended("announcing", time.Hour), announced)
	r := reconciler(s, x)
	rep, err := r.Run(ctx)
	if err != nil || rep != (reconcile.Report{Open: 5, Announced: 2}) {
		t.Fatalf("report %+v, %v; want 5 open (all but the announced), 2 announced", rep, err)
	}
	if !slices.Equal(x.started, []string{"lost-end", "claimed-end"}) && !slices.Equal(x.started, []string{"claimed-end", "lost-end"}) {
		t.Fatalf("started %v, want lost-end and claimed-end", x.started)
	}
	// The reconciler writes nothing: the announcer's Finish does.
	for _, want := range []job.Job{ended("lost", time.Hour), claimed} {
		if got, _ := s.Get(ctx, want.ID); got.Status != job.Completed || !got.UpdatedAt.Equal(want.UpdatedAt) || got.Resumes != 0 {
			t.Fatalf("%s changed: %+v", want.ID, got)
		}
	}

	// Once marked announced the job leaves the open jobs, and nothing more
	// is started for it.
	for _, id := range []string{"lost", "claimed", "recent", "runs", "announcing"} {
		if _, err := s.MarkAnnounced(ctx, id, now); err != nil {
			t.Fatal(err)
		}
	}
	x.started = nil
	if rep, err := r.Run(ctx); err != nil || rep != (reconcile.Report{}) || len(x.started) != 0 {
		t.Fatalf("after the marks: report %+v, %v, started %v", rep, err, x.started)
	}

	// An announcer that ran and closed without announcing cannot be
	// started again under its name: the pass counts the failure at every
	// pass, for an operator to see, and writes nothing.
	s2 := bolttest.New(t, ended("gave-up", time.Hour))
	x2 := &executions{startErr: errors.New("ExecutionAlreadyExists")}
	if rep, err := reconciler(s2, x2).Run(ctx); err != nil || rep != (reconcile.Report{Open: 1, Failed: 1}) {
		t.Fatalf("closed announcer: report %+v, %v", rep, err)
	}
}

// repairFails is a store whose slot repair fails with err.
type repairFails struct {
	*boltstore.Store
	err error
}

func (s repairFails) RepairSlots(context.Context) (before, after job.InFlight, err error) {
	return job.InFlight{}, job.InFlight{}, s.err
}

// A slot repair that fails or backs off is left to the next pass, and the
// rest of the pass runs.
func TestRepairFailureDoesNotStopThePass(t *testing.T) {
	ctx := context.Background()
	for i, repairErr := range []error{
		errors.New("throttled"),
		fmt.Errorf("repair slot counters: %w: a slot was taken or given back during the recount", job.ErrConflict),
	} {
		s := bolttest.New(t) // the previous pass's job ended unannounced: it would be open here
		late := job.Job{ID: fmt.Sprint("late-", i), Tenant: "t", Status: job.Queued, CreatedAt: now.Add(-time.Hour),
			UpdatedAt: now.Add(-time.Hour), Deadline: now.Add(-time.Hour)}
		if err := s.Create(ctx, late); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		r := &reconcile.Reconciler{Store: repairFails{s, repairErr}, Executions: &executions{running: map[string]bool{late.ID: true}},
			Clock: clock.NewManual(now), Grace: time.Minute, Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		rep, err := r.Run(ctx)
		if err != nil || rep.Repaired || rep.Open != 1 || rep.TimedOut != 1 {
			t.Fatalf("%v: report %+v, %v; want the overdue job ended all the same", repairErr, rep, err)
		}
		wantLevel := `"level":"ERROR"`
		if errors.Is(repairErr, job.ErrConflict) {
			wantLevel = `"level":"DEBUG"` // not a failure: the next pass repairs
		}
		if !strings.Contains(logs.String(), wantLevel+`,"msg":"`) || !strings.Contains(logs.String(), repairErr.Error()) {
			t.Fatalf("%v: logs\n%s\nwant it at %s", repairErr, logs.String(), wantLevel)
		}
	}
}
