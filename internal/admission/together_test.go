package admission_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/job"
)

// lockedStarts records starts made concurrently.
type lockedStarts struct {
	mu    sync.Mutex
	names []string
}

func (s *lockedStarts) Start(_ context.Context, name, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names = append(s.names, name)
	return nil
}

// admitOnce runs one Admit over jobs with limits, one at a time or
// together, and returns the count, the executions started (sorted), the
// slots held and the jobs left waiting.
func admitOnce(t *testing.T, limits job.Limits, together int, jobs []job.Job) (int, []string, job.InFlight, []string) {
	t.Helper()
	d, st, _ := setup(t, limits)
	ctx := context.Background()
	// Created concurrently: they commit in groups, not in a sync each.
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			if err := st.Create(ctx, j); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s := &lockedStarts{}
	d.Starter, d.Together = s, together
	n, err := d.Admit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := st.InFlight(ctx)
	w, _ := st.Waiting(ctx, 100_000)
	var left []string
	for _, j := range w {
		left = append(left, j.ID)
	}
	return n, slices.Sorted(slices.Values(s.names)), f, left
}

// Admitting together admits the very jobs one at a time does, under every
// cap, and holds the same slots.
func TestAdmitTogetherAdmitsTheSameJobs(t *testing.T) {
	var fair []job.Job
	for i := range 6 {
		fair = append(fair, waiting(fmt.Sprintf("a%d", i), "tenantA", time.Duration(60-i)*time.Minute))
	}
	for i := range 3 {
		fair = append(fair, waiting(fmt.Sprintf("b%d", i), "tenantB", time.Duration(30-i)*time.Minute))
	}
	fair = append(fair, waiting("c0", "tenantC", time.Minute))
	var past []job.Job
	for i := range 1001 {
		past = append(past, waiting(fmt.Sprintf("a%04d", i), "tenantA", time.Duration(2000-i)*time.Second))
	}
	past = append(past, waiting("b0", "tenantB", time.Second))
	var many []job.Job
	for i := range 300 {
		many = append(many, waiting(fmt.Sprintf("j%03d", i), fmt.Sprintf("t%d", i%7), time.Duration(300-i%37)*time.Second))
	}
	for _, c := range []struct {
		name   string
		limits job.Limits
		jobs   []job.Job
	}{
		{"fair shares", job.Limits{Global: 5, PerTenant: 3}, fair},
		{"tenant cap", job.Limits{Global: 10, PerTenant: 2}, fair},
		{"no caps", job.Limits{}, fair},
		{"past a capped tenant's batch", job.Limits{Global: 10, PerTenant: 2}, past},
		{"many tenants", job.Limits{Global: 100, PerTenant: 20}, many},
	} {
		t.Run(c.name, func(t *testing.T) {
			n1, started1, f1, left1 := admitOnce(t, c.limits, 0, c.jobs)
			for _, together := range []int{2, 3, 64} {
				n, started, f, left := admitOnce(t, c.limits, together, c.jobs)
				if n != n1 || !slices.Equal(started, started1) || f.Total != f1.Total || !maps.Equal(f.ByTenant, f1.ByTenant) || !slices.Equal(left, left1) {
					t.Errorf("together %d: admitted %d %v, in flight %+v, left %v; one at a time: %d %v, %+v, %v",
						together, n, started, f, left, n1, started1, f1, left1)
				}
			}
			if n1 == 0 {
				t.Fatal("the case admits nothing")
			}
		})
	}
}

// barrier is a store whose admissions wait until n of them are under way:
// admissions made one at a time would wait for ever.
type barrier struct {
	admission.Store
	arrived sync.WaitGroup
}

func (b *barrier) Admit(ctx context.Context, id string, limits job.Limits, at time.Time) (job.Job, error) {
	b.arrived.Done()
	b.arrived.Wait()
	return b.Store.Admit(ctx, id, limits, at)
}

// The jobs of a round are admitted concurrently, so that the store can
// commit them together.
func TestAdmitTogetherAtOnce(t *testing.T) {
	var jobs []job.Job
	for i := range 4 {
		jobs = append(jobs, waiting(fmt.Sprintf("a%d", i), "tenantA", time.Duration(10-i)*time.Minute))
	}
	d, st, _ := setup(t, job.Limits{Global: 4}, jobs...)
	b := &barrier{Store: st}
	b.arrived.Add(4)
	d.Store, d.Starter, d.Together = b, &lockedStarts{}, 4
	if n, err := d.Admit(context.Background()); n != 4 || err != nil {
		t.Fatalf("admitted %d, %v; want all 4", n, err)
	}
}

// thief is a store where another dispatcher admits job "x" just before
// this one's admissions, taking a slot they counted on.
type thief struct {
	admission.Store
	once sync.Once
}

func (s *thief) Admit(ctx context.Context, id string, limits job.Limits, at time.Time) (job.Job, error) {
	var err error
	s.once.Do(func() { _, err = s.Store.Admit(ctx, "x", limits, at) })
	if err != nil {
		return job.Job{}, err
	}
	return s.Store.Admit(ctx, id, limits, at)
}

// A slot another dispatcher took is refused (job.ErrFull) to one of the
// jobs chosen together: the caps hold, the count says what this
// dispatcher admitted, and the refused job waits on.
func TestAdmitTogetherSlotTaken(t *testing.T) {
	var jobs []job.Job
	for i := range 5 {
		jobs = append(jobs, waiting(fmt.Sprintf("a%d", i), "tenantA", time.Duration(10-i)*time.Minute))
	}
	jobs = append(jobs, waiting("x", "tenantB", time.Second)) // newest: not chosen first
	d, st, _ := setup(t, job.Limits{Global: 3}, jobs...)
	s := &lockedStarts{}
	d.Store, d.Starter, d.Together = &thief{Store: st}, s, 8
	n, err := d.Admit(context.Background())
	if err != nil || n != 2 || len(s.names) != 2 {
		t.Fatalf("admitted %d, %v, started %v; want 2 of the 3 chosen, x holding the third slot", n, err, s.names)
	}
	f, _ := st.InFlight(context.Background())
	if f.Total != 3 || f.ByTenant["tenantB"] != 1 {
		t.Fatalf("in flight %+v; want 3, x's among them", f)
	}
}
