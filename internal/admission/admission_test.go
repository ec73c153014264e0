package admission_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// starts records the executions the dispatcher starts, or fails them.
type starts struct {
	names []string
	err   error
}

func (s *starts) Start(_ context.Context, name, _ string) error {
	s.names = append(s.names, name)
	return s.err
}

func setup(t *testing.T, limits job.Limits, jobs ...job.Job) (*admission.Dispatcher, *boltstore.Store, *starts) {
	t.Helper()
	st := bolttest.New(t, jobs...)
	s := &starts{}
	return &admission.Dispatcher{Store: st, Starter: s, Limits: limits, Clock: clock.NewManual(t0), Log: slog.New(slog.DiscardHandler)}, st, s
}

func waiting(id, tenant string, age time.Duration) job.Job {
	return job.Job{ID: id, Tenant: tenant, Status: job.Queued, Waiting: true,
		Request:   job.Request{Model: job.Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5},
		CreatedAt: t0.Add(-age), UpdatedAt: t0.Add(-age), Deadline: t0.Add(time.Hour)}
}

// TestAdmitFairly fills the slots tenant by tenant: the next slot goes to
// the tenant with fewest in flight, each tenant's oldest job first, never
// past either cap.
func TestAdmitFairly(t *testing.T) {
	var jobs []job.Job
	for i := range 6 { // tenant A came first, with six
		jobs = append(jobs, waiting(fmt.Sprintf("a%d", i), "tenantA", time.Duration(60-i)*time.Minute))
	}
	for i := range 3 {
		jobs = append(jobs, waiting(fmt.Sprintf("b%d", i), "tenantB", time.Duration(30-i)*time.Minute))
	}
	jobs = append(jobs, waiting("c0", "tenantC", time.Minute))
	d, st, s := setup(t, job.Limits{Global: 5, PerTenant: 3}, jobs...)
	n, err := d.Admit(context.Background())
	if err != nil || n != 5 {
		t.Fatalf("admitted %d, %v; want 5", n, err)
	}
	// A (oldest), B, C each get one; then A and B again (C has no more).
	if want := []string{"a0", "b0", "c0", "a1", "b1"}; !slices.Equal(s.names, want) {
		t.Fatalf("started %v, want %v", s.names, want)
	}
	f, _ := st.InFlight(context.Background())
	if f.Total != 5 || f.ByTenant["tenantA"] != 2 || f.ByTenant["tenantB"] != 2 || f.ByTenant["tenantC"] != 1 {
		t.Fatalf("in flight %+v", f)
	}
	// Nothing more fits until a job ends; then its slot goes on at once.
	if n, _ := d.Admit(context.Background()); n != 0 {
		t.Fatalf("admitted %d with every slot taken", n)
	}
	if _, err := st.Update(context.Background(), "c0", job.Fail(t0, job.ErrNameCancelled, "cancelled")); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Admit(context.Background()); n != 1 || s.names[5] != "a2" {
		t.Fatalf("after an end: admitted %d, started %v; want a2 (A and B tie at 2, A's is older)", n, s.names)
	}
}

// TestAdmitPerTenantCap leaves a tenant's jobs waiting at its cap while
// global slots stay free for others.
func TestAdmitPerTenantCap(t *testing.T) {
	d, st, s := setup(t, job.Limits{Global: 10, PerTenant: 2},
		waiting("a0", "tenantA", 3*time.Minute), waiting("a1", "tenantA", 2*time.Minute), waiting("a2", "tenantA", time.Minute))
	if n, _ := d.Admit(context.Background()); n != 2 || !slices.Equal(s.names, []string{"a0", "a1"}) {
		t.Fatalf("admitted %d: %v", n, s.names)
	}
	if w, _ := st.Waiting(context.Background(), 10); len(w) != 1 || w[0].ID != "a2" {
		t.Fatalf("waiting %v", w)
	}
}

// TestAdmitWithoutCaps drains the queue: jobs that waited while caps were
// on are admitted once the caps are lifted.
func TestAdmitWithoutCaps(t *testing.T) {
	d, st, s := setup(t, job.Limits{}, waiting("a0", "tenantA", 2*time.Minute), waiting("a1", "tenantA", time.Minute))
	if d.Enabled() {
		t.Fatal("enabled without caps")
	}
	if n, err := d.Admit(context.Background()); n != 2 || err != nil || !slices.Equal(s.names, []string{"a0", "a1"}) {
		t.Fatalf("admitted %d, %v, started %v", n, err, s.names)
	}
	if w, _ := st.Waiting(context.Background(), 10); len(w) != 0 {
		t.Fatalf("still waiting: %v", w)
	}
}

// hiding is a store whose index of waiting jobs lags, as DynamoDB's does:
// it lists none.
type hiding struct{ *boltstore.Store }

func (hiding) Waiting(context.Context, int) ([]job.Job, error) { return nil, nil }

// TestAdmitFresh admits a job the caller just recorded though the index
// does not list it yet.
func TestAdmitFresh(t *testing.T) {
	fresh := waiting("a0", "tenantA", 0)
	d, st, s := setup(t, job.Limits{Global: 1}, fresh)
	d.Store = hiding{st}
	if n, err := d.Admit(context.Background()); n != 0 || err != nil {
		t.Fatalf("admitted %d, %v without the fresh job", n, err)
	}
	if n, err := d.Admit(context.Background(), fresh); n != 1 || err != nil || !slices.Equal(s.names, []string{"a0"}) {
		t.Fatalf("admitted %d, %v, started %v", n, err, s.names)
	}
}

// TestAdmitLooksPastCappedTenants finds a tenant's job behind a full batch
// of another tenant's, all at that tenant's cap.
func TestAdmitLooksPastCappedTenants(t *testing.T) {
	var jobs []job.Job
	for i := range 1001 {
		jobs = append(jobs, waiting(fmt.Sprintf("a%04d", i), "tenantA", time.Duration(2000-i)*time.Second))
	}
	jobs = append(jobs, waiting("b0", "tenantB", time.Second))
	d, _, s := setup(t, job.Limits{Global: 10, PerTenant: 2}, jobs...)
	if n, err := d.Admit(context.Background()); n != 3 || err != nil {
		t.Fatalf("admitted %d, %v; want A's two and B's one", n, err)
	}
	if !slices.Contains(s.names, "b0") {
		t.Fatalf("started %v: tenant B starved behind A's queue", s.names)
	}
}

// TestAdmitStartFailure keeps the admission when the start fails: the job
// holds its slot and the reconciler resumes it.
func TestAdmitStartFailure(t *testing.T) {
	d, st, s := setup(t, job.Limits{Global: 1}, waiting("a0", "tenantA", time.Minute))
	s.err = errors.New("throttled")
	if n, err := d.Admit(context.Background()); n != 1 || err != nil {
		t.Fatalf("admitted %d, %v", n, err)
	}
	if j, _ := st.Get(context.Background(), "a0"); j.Waiting || !j.Slot {
		t.Fatalf("job %+v", j)
	}
}

// resumes records the parked executions the dispatcher resumes.
type resumes struct{ tokens []string }

func (r *resumes) SendTaskSuccess(_ context.Context, token string, output json.RawMessage) error {
	if !json.Valid(output) {
		return fmt.Errorf("output %q is not JSON", output)
	}
	r.tokens = append(r.tokens, token)
	return nil
}

// TestAdmitResumesParked: a job whose execution parked on a task token is
// resumed with that token rather than given a second execution, and its
// generation deadline starts at admission; a job without one is started.
func TestAdmitResumesParked(t *testing.T) {
	parked := waiting("parked", "tenantA", 2*time.Hour)
	job.Timeouts{Generation: 30 * time.Minute, Queue: 6 * time.Hour}.Schedule(&parked, parked.CreatedAt)
	d, st, s := setup(t, job.Limits{Global: 5}, parked, waiting("plain", "tenantA", time.Hour))
	ctx := context.Background()
	if _, err := st.Update(ctx, "parked", job.Change{At: t0.Add(-time.Minute), Park: "token-1"}); err != nil {
		t.Fatal(err)
	}
	r := &resumes{}
	d.Tasks = r
	if n, err := d.Admit(ctx); err != nil || n != 2 {
		t.Fatalf("admitted %d, %v; want 2", n, err)
	}
	if !slices.Equal(r.tokens, []string{"token-1"}) || !slices.Equal(s.names, []string{"plain"}) {
		t.Fatalf("resumed %v and started %v; want [token-1] and [plain]", r.tokens, s.names)
	}
	if j, _ := st.Get(ctx, "parked"); !j.Deadline.Equal(t0.Add(30 * time.Minute)) {
		t.Fatalf("deadline %v, want admission + 30m = %v", j.Deadline, t0.Add(30*time.Minute))
	}
}

// waitingCounter counts the reads of the waiting queue.
type waitingCounter struct {
	admission.Store
	reads int
}

func (w *waitingCounter) Waiting(ctx context.Context, n int) ([]job.Job, error) {
	w.reads++
	return w.Store.Waiting(ctx, n)
}

// TestAdmitFreshAtCapReadsNoQueue: a submit or Register admitting for a
// fresh job whose tenant is at its cap reads no queue (a burst's jobs
// would each read it whole), while one whose tenant has room is admitted.
func TestAdmitFreshAtCapReadsNoQueue(t *testing.T) {
	jobs := []job.Job{waiting("a0", "tenantA", 3*time.Minute), waiting("a1", "tenantA", 2*time.Minute), waiting("b0", "tenantB", time.Minute)}
	d, st, s := setup(t, job.Limits{Global: 10, PerTenant: 1}, jobs...)
	ctx := context.Background()
	if n, err := d.Admit(ctx, jobs[0]); err != nil || n != 2 {
		t.Fatalf("first admission: %d, %v; want a0 and b0", n, err)
	}
	w := &waitingCounter{Store: st}
	d.Store = w
	fresh, _ := st.Get(ctx, "a1")
	if n, err := d.Admit(ctx, fresh); err != nil || n != 0 || w.reads != 0 {
		t.Fatalf("admitting a1 with tenant A at its cap: %d, %v, %d queue reads; want none", n, err, w.reads)
	}
	if !slices.Equal(s.names, []string{"a0", "b0"}) {
		t.Fatalf("started %v", s.names)
	}
}
