package costsim

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/lambdafn"
)

// TestManifestBatch runs a manifest batch through the real video_batch
// machine with max_concurrency at the tenant's cap: every item becomes a
// job that ends, the summary counts them all, no cap is passed, the batch
// ends within 10 % of the ideal makespan, and an item costs what the same
// job submitted on its own does plus two transitions (make bench prices
// that for 10,000 items; this one runs 150, as make test runs it under
// the race detector).
func TestManifestBatch(t *testing.T) {
	const n = 150
	res, err := Run(context.Background(), ManifestConfig(n, 25, "../../template.yaml", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	singles, err := Run(context.Background(), SinglesConfig(n, "../../template.yaml", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	f, sf := res.Figures(PublishedPrices()), singles.Figures(PublishedPrices())
	t.Logf("statuses %v; makespan %s, ideal %s; peak %d (%v), upstream %d; %.1f transitions/job, $%.3f per 1,000 jobs (single jobs %.1f, $%.3f); history %d",
		res.Statuses, res.Makespan, res.Ideal, res.PeakInFlight, res.PeakByTenant, res.PeakActive, f.Transitions, f.DollarsPer1000,
		sf.Transitions, sf.DollarsPer1000, res.MaxHistory)
	if res.Open != 0 || res.Batch == nil || res.Batch.Total != n || res.Batch.Counts["completed"] != res.Statuses["completed"] {
		t.Fatalf("%d open, statuses %v, summary %+v; want every one of %d items ended and counted", res.Open, res.Statuses, res.Batch, n)
	}
	if singles.Open != 0 {
		t.Fatalf("single jobs: %d open, statuses %v; want all %d ended, or the comparison compares nothing", singles.Open, singles.Statuses, n)
	}
	if res.PeakByTenant["a"] != 25 || res.PeakInFlight > 50 || res.PeakActive > 50 || res.Throttled != 0 {
		t.Errorf("peaks: tenant a %d (cap 25, reached), in all %d (cap 50), upstream %d (cap 50), %d refused", res.PeakByTenant["a"], res.PeakInFlight, res.PeakActive, res.Throttled)
	}
	if want := idealCapped(ManifestConfig(n, 25, "", "").Workload.Generate(), ManifestConfig(n, 25, "", "").Limits); res.Ideal != want || res.Makespan > res.Ideal*11/10 {
		t.Errorf("makespan %s, ideal %s (want %s): want within 10 %%", res.Makespan, res.Ideal, want)
	}
	// An item costs what a single job does plus two transitions: the Map
	// starting its child execution, and RunJob in it (its job's start
	// enters Register as the API's does); and the batch's own dozen
	// states. Hardly any parks: the Map starts an item when one ends, whose
	// slot is free by then. (150 items are too few for chunks:
	// TestManifestBatchChunks.)
	if f.Transitions > sf.Transitions+2.15 {
		t.Errorf("%.2f transitions per job in the batch, %.2f one by one: want at most 2 more", f.Transitions, sf.Transitions)
	}
}

// TestManifestBatchChunks runs a batch large enough for its Map to chunk
// it (160 items in 2 lanes: chunks of 8): max_concurrency still bounds the
// jobs in flight, and every item ends and is counted. Against the same
// batch in 25 lanes (chunks of one item: a child per item, as before
// chunks) an item saves what AWS bills a child per item less what it bills
// a chunk: the child's start and the item's RunJob (2) against its
// ChunkRunJob and an eighth of the child's start and of its Inline Map
// state (1.25), plus ChunkItemFailed for each failed item. make bench
// prices the batch of 10,000 (chunks of 24); this one is small for make
// test's race detector.
func TestManifestBatchChunks(t *testing.T) {
	const n, lanes = 160, 2
	res, err := Run(context.Background(), ManifestConfig(n, lanes, "../../template.yaml", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	each, err := Run(context.Background(), ManifestConfig(n, 25, "../../template.yaml", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	f, ef := res.Figures(PublishedPrices()), each.Figures(PublishedPrices())
	t.Logf("statuses %v; makespan %s; peak %d (%v); %.3f transitions/job (a child per item %.3f); history %d",
		res.Statuses, res.Makespan, res.PeakInFlight, res.PeakByTenant, f.Transitions, ef.Transitions, res.MaxHistory)
	if res.Open != 0 || res.Batch == nil || res.Batch.Total != n || res.Batch.Counts["completed"] != res.Statuses["completed"] {
		t.Fatalf("%d open, statuses %v, summary %+v; want every one of %d items ended and counted", res.Open, res.Statuses, res.Batch, n)
	}
	if res.PeakByTenant["a"] != lanes || res.PeakInFlight > lanes {
		t.Errorf("peak %d in flight (%v), want max_concurrency %d reached and never passed", res.PeakInFlight, res.PeakByTenant, lanes)
	}
	want := 1.25 - 2 + float64(res.Batch.FailedTotal)/n
	if got := f.Transitions - ef.Transitions; got < want-0.02 || got > want+0.02 {
		t.Errorf("%.3f transitions per job in chunks, %.3f a child per item: %+.3f, want %+.3f", f.Transitions, ef.Transitions, got, want)
	}
}

// TestSinglesEndEveryJob: in the single-jobs run that the batch is held
// against, jobs submitted while the tenant is at its cap wait in the API's
// queue and are started by admission, most often from the Poll that saw
// a job end. Every one of them must end, and at a single job's cost: an
// execution that admission starts owes nothing to the Poll it started
// from (at 287bf4d it inherited that Poll's Task timeout on the clock,
// and once that had passed every wait was cut to nothing: it polled in a
// loop at one instant until its history was full, its slot never freed,
// and 8,341 of 10,000 jobs never ended). Two slots for 60 jobs make the
// run last 18 simulated minutes, past a Poll's TimeoutSeconds (930 s).
func TestSinglesEndEveryJob(t *testing.T) {
	const n = 60
	cfg := SinglesConfig(n, "../../template.yaml", t.TempDir())
	cfg.Limits.PerTenant = 2
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Figures(PublishedPrices())
	t.Logf("statuses %v; makespan %s, ideal %s; %.2f transitions per job; history %d", res.Statuses, res.Makespan, res.Ideal, f.Transitions, res.MaxHistory)
	if res.Open != 0 || res.Statuses["completed"] == 0 {
		t.Fatalf("%d of %d jobs open, statuses %v; want every job ended", res.Open, n, res.Statuses)
	}
	if res.PeakByTenant["a"] != 2 || res.Makespan < 16*time.Minute {
		t.Errorf("peak %v, makespan %s: want the tenant's 2 slots full and a run past a Poll's 930 s", res.PeakByTenant, res.Makespan)
	}
	if f.Transitions > 10 || res.MaxHistory > 100 {
		t.Errorf("%.1f transitions per job, largest history %d: want a single job's few states", f.Transitions, res.MaxHistory)
	}
}

// TestBatchRunsTheDeployedPolicy: the batch of 10,000 and its single jobs
// run the poll policy every function of a deployment runs, so that the
// comparison is of today's machine as wired.
func TestBatchRunsTheDeployedPolicy(t *testing.T) {
	for _, cfg := range []Config{ManifestConfig(10, 25, "", ""), SinglesConfig(10, "", "")} {
		if got, want := cfg.Policy.New(), lambdafn.Policy(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v (adaptive %+v), want lambdafn.Policy's %+v (adaptive %+v)", cfg.Policy.Name, got, got.Adaptive, want, want.Adaptive)
		}
	}
}

// TestIdealCapped: with the per-tenant cap off the ideal is the burst
// section's; one tenant under a per-tenant cap below the global cap has its
// own cap's slots; and a tenant at its cap does not hold back another's
// job, which starts in a free global slot.
func TestIdealCapped(t *testing.T) {
	burst := BurstOf(1000).Generate()
	if got, want := idealCapped(burst, job.Limits{Global: 50}), idealMakespan(burst, 50); got != want {
		t.Errorf("global cap only: %s, want idealMakespan's %s", got, want)
	}
	one := ManifestConfig(1000, 25, "", "").Workload.Generate()
	if got, want := idealCapped(one, job.Limits{Global: 50, PerTenant: 25}), idealMakespan(one, 25); got != want {
		t.Errorf("one tenant capped at 25 of 50: %s, want 25 slots' %s", got, want)
	}
	var jobs []Job
	for _, tenant := range []string{"a", "a", "a", "a", "b", "b"} {
		jobs = append(jobs, Job{Tenant: tenant, GenTime: 10 * time.Second})
	}
	// 0 s: a, a (a's cap), b (the global cap); 10 s: a, a, b.
	if got := idealCapped(jobs, job.Limits{Global: 3, PerTenant: 2}); got != 20*time.Second {
		t.Errorf("six 10-s jobs, 3 slots, 2 per tenant: %s, want 20s", got)
	}
}
