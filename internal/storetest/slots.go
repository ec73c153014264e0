package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs/logstest"
	"github.com/vidgen/vidgen/internal/reconcile"
)

// slotCounts is the contract of the slot counters: every path that ends a
// job holding a slot gives it back exactly once, and RepairSlots sets
// counters that drifted back to the jobs holding a slot, without ever
// miscounting when admissions and ends run at the same time.
func slotCounts(t *testing.T, newStore func(t *testing.T) Store, sample func(id string) job.Job) {
	ctx := context.Background()
	t0 := sample("").CreatedAt
	// admitted stores a job of tenant that holds a slot.
	admitted := func(t *testing.T, s Store, id, tenant string) {
		t.Helper()
		j := sample(id)
		j.Tenant, j.Waiting = tenant, true
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Admit(ctx, id, job.Limits{}, t0); err != nil {
			t.Fatal(err)
		}
	}
	wantCounts := func(t *testing.T, s Store, want job.InFlight) {
		t.Helper()
		got, err := s.InFlight(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !equalCounts(got, want) {
			t.Fatalf("in flight %s, want %s", countsString(got), countsString(want))
		}
	}
	// ends are the changes by which a job ends, whoever makes them.
	ends := []job.Change{
		{At: t0.Add(time.Hour), Status: job.Completed, Video: &job.Video{URL: "https://v"}},
		job.Fail(t0.Add(time.Hour), job.ErrNameCancelled, "cancelled by the client"),
		job.Fail(t0.Add(time.Hour), job.ErrNameTimedOut, "the job did not finish by its deadline"),
		job.Fail(t0.Add(time.Hour), job.ErrNameInternal, "vidgen could not finish the job"),
	}

	t.Run("slots: every path that ends a job gives its slot back once", func(t *testing.T) {
		s := newStore(t)
		at := t0.Add(time.Minute)
		submitted := []job.Change{
			{At: at, ClaimSubmit: true},
			{At: at, Status: job.Generating, UpstreamID: "up-1"},
		}
		credits := 10.0
		paths := []struct {
			name string
			// before are the changes the job goes through first; end ends
			// it (nil: the reconciler does, the job being overdue).
			before []job.Change
			end    *job.Change
		}{
			{"completion", submitted, &job.Change{At: at, Status: job.Completed, Polls: 1,
				Video: &job.Video{URL: "https://cdn.example/v.mp4"}, CreditsUsed: &credits}},
			{"upstream failure", submitted, new(job.Fail(at, job.ErrNameGenerationFailed, "the upstream failed"))},
			{"rejected at submit", submitted[:1], new(job.Fail(at, job.ErrNameRejected, "bad image"))},
			{"cancel before submit", nil, new(job.Fail(at, job.ErrNameCancelled, "cancelled by the client"))},
			{"cancel while generating", submitted, new(job.Fail(at, job.ErrNameCancelled, "cancelled by the client"))},
			{"deadline, in a step", submitted, new(job.Fail(at, job.ErrNameTimedOut, "the job did not finish by its deadline"))},
			{"catch-all", submitted[:1], new(job.Fail(at, job.ErrNameInternal, "vidgen could not finish the job: Sandbox.Timedout"))},
			{"start failed", nil, new(job.Fail(at, job.ErrNameInternal, "vidgen could not start the job"))},
			{"reconciler", submitted, nil},
		}
		want := job.InFlight{ByTenant: map[string]int{}}
		for _, p := range paths {
			admitted(t, s, p.name, p.name)
			for _, c := range p.before {
				if _, err := s.Update(ctx, p.name, c); err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
			}
			want.Total++
			want.ByTenant[p.name] = 1
		}
		wantCounts(t, s, want)
		for _, p := range paths {
			if p.end != nil {
				if _, err := s.Update(ctx, p.name, *p.end); err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
			} else {
				// The reconciler ends the overdue job (the last one open).
				r := &reconcile.Reconciler{Store: s, Executions: &noExecutions{}, Clock: clock.NewManual(t0.Add(24 * time.Hour)),
					Grace: time.Minute, Log: slog.New(slog.DiscardHandler)}
				if rep, err := r.Run(ctx); err != nil || rep.TimedOut != 1 || rep.Repaired {
					t.Fatalf("%s: pass %+v, %v; want the job ended and nothing to repair", p.name, rep, err)
				}
			}
			want.Total--
			delete(want.ByTenant, p.name)
			wantCounts(t, s, want)
			if j, err := s.Get(ctx, p.name); err != nil || !j.Status.Terminal() || j.Slot {
				t.Fatalf("%s: ended job %+v, %v", p.name, j, err)
			}
			// Whatever ends it again finds it ended, and gives nothing back.
			for _, c := range ends {
				if _, err := s.Update(ctx, p.name, c); !errors.Is(err, job.ErrConflict) {
					t.Fatalf("%s: a second end: %v, want ErrConflict", p.name, err)
				}
			}
			wantCounts(t, s, want)
		}
		if before, after, err := s.RepairSlots(ctx); err != nil || before.Total != 0 || !equalCounts(before, after) {
			t.Fatalf("repair after every end: %s -> %s, %v; want nothing to repair", countsString(before), countsString(after), err)
		}
	})

	t.Run("slots: racing ends give the slot back once", func(t *testing.T) {
		s := newStore(t)
		admitted(t, s, "j1", "tenantA")
		admitted(t, s, "j2", "tenantA")
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for i := range 12 {
			wg.Go(func() {
				_, err := s.Update(ctx, "j1", ends[i%len(ends)])
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, job.ErrConflict):
					t.Errorf("end: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d ends won, want 1", wins)
		}
		wantCounts(t, s, job.InFlight{Total: 1, ByTenant: map[string]int{"tenantA": 1}})
	})

	t.Run("slots: a repair sets drifted counters back to the jobs holding a slot", func(t *testing.T) {
		s := newStore(t)
		admitted(t, s, "a1", "tenantA")
		admitted(t, s, "a2", "tenantA")
		admitted(t, s, "b1", "tenantB")
		admitted(t, s, "ended", "tenantB")
		if _, err := s.Update(ctx, "ended", ends[0]); err != nil {
			t.Fatal(err)
		}
		waiting := sample("waits")
		waiting.Tenant, waiting.Waiting = "tenantC", true
		if err := s.Create(ctx, waiting); err != nil {
			t.Fatal(err)
		}
		truth := job.InFlight{Total: 3, ByTenant: map[string]int{"tenantA": 2, "tenantB": 1}}
		if before, after, err := s.RepairSlots(ctx); err != nil || !equalCounts(before, truth) || !equalCounts(after, truth) {
			t.Fatalf("repair of right counters: %s -> %s, %v; want %s unchanged",
				countsString(before), countsString(after), err, countsString(truth))
		}
		for _, drift := range []struct {
			name   string
			counts job.InFlight
		}{
			{"slots never given back", job.InFlight{Total: 9, ByTenant: map[string]int{"tenantA": 5, "tenantB": 2, "tenantC": 2}}},
			{"slots given back twice", job.InFlight{Total: 1, ByTenant: map[string]int{"tenantA": 1}}},
			{"below zero", job.InFlight{Total: -1, ByTenant: map[string]int{"tenantA": 2, "tenantB": -1}}},
			{"total alone", job.InFlight{Total: 4, ByTenant: map[string]int{"tenantA": 2, "tenantB": 1}}},
		} {
			if err := s.SetSlotCountsForTest(ctx, drift.counts); err != nil {
				t.Fatal(err)
			}
			before, after, err := s.RepairSlots(ctx)
			if err != nil || !equalCounts(before, drift.counts) || !equalCounts(after, truth) {
				t.Fatalf("%s: repair %s -> %s, %v; want %s -> %s", drift.name, countsString(before), countsString(after), err,
					countsString(drift.counts), countsString(truth))
			}
			wantCounts(t, s, truth)
			if before, after, err := s.RepairSlots(ctx); err != nil || !equalCounts(before, truth) || !equalCounts(after, truth) {
				t.Fatalf("%s: second repair %s -> %s, %v; want nothing to do", drift.name, countsString(before), countsString(after), err)
			}
		}
		// The caps hold on the repaired counts, and slots come back as
		// before.
		more := func(id, tenant string) error {
			j := sample(id)
			j.Tenant, j.Waiting = tenant, true
			if err := s.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
			_, err := s.Admit(ctx, id, job.Limits{Global: 4, PerTenant: 2}, t0)
			return err
		}
		if err := more("a3", "tenantA"); !errors.Is(err, job.ErrFull) {
			t.Fatalf("admit over tenant A's cap: %v, want ErrFull", err)
		}
		if err := more("b2", "tenantB"); err != nil {
			t.Fatalf("admit under the caps: %v", err)
		}
		for _, id := range []string{"a1", "a2", "b1", "b2"} {
			if _, err := s.Update(ctx, id, ends[1]); err != nil {
				t.Fatal(err)
			}
		}
		wantCounts(t, s, job.InFlight{})
	})

	t.Run("slots: the reconciler repairs drifted counters and says so once", func(t *testing.T) {
		s := newStore(t)
		admitted(t, s, "a1", "tenantA")
		var logs bytes.Buffer
		r := &reconcile.Reconciler{Store: s, Executions: &noExecutions{running: true}, Clock: clock.NewManual(t0),
			Grace: time.Minute, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
		if err := s.SetSlotCountsForTest(ctx, job.InFlight{Total: 3, ByTenant: map[string]int{"tenantA": 3}}); err != nil {
			t.Fatal(err)
		}
		if rep, err := r.Run(ctx); err != nil || !rep.Repaired {
			t.Fatalf("pass %+v, %v; want the counters repaired", rep, err)
		}
		wantCounts(t, s, job.InFlight{Total: 1, ByTenant: map[string]int{"tenantA": 1}})
		warnings := linesAt(t, &logs, "WARN")
		if len(warnings) != 1 {
			t.Fatalf("%d warnings, want 1: %v", len(warnings), warnings)
		}
		w := warnings[0]
		if w["before_total"] != 3.0 || w["after_total"] != 1.0 ||
			fmt.Sprint(w["before_by_tenant"]) != "map[tenantA:3]" || fmt.Sprint(w["after_by_tenant"]) != "map[tenantA:1]" {
			t.Fatalf("warning %v: want the counts before and after", w)
		}
		logs.Reset()
		if rep, err := r.Run(ctx); err != nil || rep.Repaired {
			t.Fatalf("second pass %+v, %v; want nothing to repair", rep, err)
		}
		if strings.Contains(logs.String(), "slot counters") || len(linesAt(t, &logs, "WARN")) != 0 {
			t.Fatalf("a pass with right counters logged:\n%s", logs.String())
		}
	})

	t.Run("slots: repairs racing admissions and ends never miscount", func(t *testing.T) {
		s := newStore(t)
		const n = 12
		for i := range n {
			j := sample(fmt.Sprintf("r%02d", i))
			j.Tenant, j.Waiting = fmt.Sprintf("tenant%d", i%3), true
			if err := s.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		// race runs step on every job while repairs run over and over.
		race := func(step func(id string) error) {
			t.Helper()
			done := make(chan struct{})
			var repairs sync.WaitGroup
			for range 2 {
				repairs.Go(func() {
					for {
						select {
						case <-done:
							return
						default:
						}
						if _, _, err := s.RepairSlots(ctx); err != nil && !errors.Is(err, job.ErrConflict) {
							t.Errorf("repair: %v", err)
							return
						}
					}
				})
			}
			var steps sync.WaitGroup
			for i := range n {
				steps.Go(func() {
					if err := step(fmt.Sprintf("r%02d", i)); err != nil {
						t.Errorf("r%02d: %v", i, err)
					}
				})
			}
			steps.Wait()
			close(done)
			repairs.Wait()
		}
		race(func(id string) error {
			_, err := s.Admit(ctx, id, job.Limits{}, t0)
			return err
		})
		wantCounts(t, s, job.InFlight{Total: n, ByTenant: map[string]int{"tenant0": n / 3, "tenant1": n / 3, "tenant2": n / 3}})
		race(func(id string) error {
			_, err := s.Update(ctx, id, ends[len(id)%len(ends)])
			return err
		})
		wantCounts(t, s, job.InFlight{})
		if before, after, err := s.RepairSlots(ctx); err != nil || before.Total != 0 || !equalCounts(before, after) {
			t.Fatalf("final repair %s -> %s, %v; want nothing to do", countsString(before), countsString(after), err)
		}
	})
}

// noExecutions stands for Step Functions: every execution runs, or none.
type noExecutions struct{ running bool }

func (x *noExecutions) Running(context.Context, string) (bool, error) { return x.running, nil }
func (x *noExecutions) Start(context.Context, string, string) error   { return nil }

// equalCounts reports whether two counts agree; a tenant left out counts
// zero.
func equalCounts(a, b job.InFlight) bool {
	nonzero := func(m map[string]int) map[string]int {
		m = maps.Clone(m)
		maps.DeleteFunc(m, func(_ string, n int) bool { return n == 0 })
		return m
	}
	return a.Total == b.Total && maps.Equal(nonzero(a.ByTenant), nonzero(b.ByTenant))
}

func countsString(f job.InFlight) string {
	return fmt.Sprintf("%d %v", f.Total, f.ByTenant)
}

// linesAt returns the JSON log lines of buf at level.
func linesAt(t *testing.T, buf *bytes.Buffer, level string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range logstest.Lines(t, buf.String()) {
		if m["level"] == level {
			out = append(out, m)
		}
	}
	return out
}
