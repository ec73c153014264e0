package gentime_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// counted is a real store whose reads are counted and can be made to fail.
type counted struct {
	gentime.Store
	mu    sync.Mutex
	reads int
	fail  bool
}

func (c *counted) GenTimes(ctx context.Context, model string, duration int) ([]time.Duration, error) {
	c.mu.Lock()
	c.reads++
	fail := c.fail
	c.mu.Unlock()
	if fail {
		return nil, errors.New("table unavailable")
	}
	return c.Store.GenTimes(ctx, model, duration)
}

func (c *counted) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func newCache(t *testing.T) (*gentime.Cache, *counted, *clock.Manual) {
	store := &counted{Store: bolttest.New(t)}
	clk := clock.NewManual(t0)
	return &gentime.Cache{Store: store, Clock: clk, Log: slog.New(slog.DiscardHandler)}, store, clk
}

// fill records n times of d for model and duration straight into the store,
// as other functions of the deployment would.
func fill(t *testing.T, s gentime.Store, model string, duration, n int, d time.Duration) {
	t.Helper()
	for i := range n {
		if err := s.RecordGenTime(t.Context(), model, duration, i, d); err != nil {
			t.Fatal(err)
		}
	}
}

func median(ts pollpolicy.Times, duration int) time.Duration {
	m, _ := ts.Range(duration, 0.5, 0.5)
	return m
}

// A cache reads each model and duration's sample at most once per TTL,
// and sees what others recorded once its read is older than that; a read
// too small to use (the prior) is read again after PriorTTL.
func TestCacheReadsOncePerTTL(t *testing.T) {
	c, store, clk := newCache(t)
	ctx := t.Context()
	if got := c.Times(ctx, job.Model, 5); got.Len() != 0 {
		t.Fatalf("empty store: %d times", got.Len())
	}
	fill(t, store, job.Model, 5, 30, 40*time.Second)
	fill(t, store, job.Model, 10, 30, 70*time.Second)
	for range 5 {
		if got := c.Times(ctx, job.Model, 5); got.Len() != 0 {
			t.Fatalf("within PriorTTL: %d times, want the cached none", got.Len())
		}
	}
	if got := c.Times(ctx, job.Model, 10); median(got, 10) != 70*time.Second { // another key: its own read
		t.Errorf("10-s median = %v, want 70s", median(got, 10))
	}
	if n := store.count(); n != 2 {
		t.Errorf("%d reads, want 2 (one per key)", n)
	}
	clk.Advance(gentime.PriorTTL - time.Millisecond)
	c.Times(ctx, job.Model, 5)
	if n := store.count(); n != 2 {
		t.Errorf("%d reads just inside PriorTTL, want 2", n)
	}
	clk.Advance(time.Millisecond)
	if got := c.Times(ctx, job.Model, 5); got.Len() != 30 || median(got, 5) != 40*time.Second {
		t.Errorf("after PriorTTL: %d times, median %v; want 30 of 40s", got.Len(), median(got, 5))
	}
	if n := store.count(); n != 3 {
		t.Errorf("%d reads, want 3", n)
	}
	fill(t, store, job.Model, 5, 30, 20*time.Second)
	clk.Advance(gentime.DefaultTTL - time.Millisecond)
	if got := c.Times(ctx, job.Model, 5); median(got, 5) != 40*time.Second || store.count() != 3 {
		t.Errorf("just inside the TTL: median %v, %d reads; want the cached 40s, 3", median(got, 5), store.count())
	}
	clk.Advance(time.Millisecond)
	if got := c.Times(ctx, job.Model, 5); median(got, 5) != 20*time.Second || store.count() != 4 {
		t.Errorf("after the TTL: median %v, %d reads; want 20s, 4", median(got, 5), store.count())
	}
}

// A bound (a job done at its first ask) takes the job's slot as a time
// would, kept as AtMost + the bound, and the snapshot counts it as a
// bound: with half the sample bounds of 20 s the fit puts the median
// below the times' own.
func TestCacheRecordAtMost(t *testing.T) {
	c, store, _ := newCache(t)
	ctx := t.Context()
	if err := c.RecordAtMost(ctx, "job-1", job.Model, 5, 12340*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.RecordAtMost(ctx, "job-2", job.Model, 5, 0); err != nil {
		t.Fatal(err)
	}
	got, err := store.GenTimes(ctx, job.Model, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range got {
		want := time.Duration(0)
		if i == gentime.Slot("job-1") {
			want = gentime.AtMost + 12300*time.Millisecond
		}
		if d != want {
			t.Errorf("slot %d = %v, want %v", i, d, want)
		}
	}
	for i := range 100 {
		d := time.Duration(30+i%10) * time.Second
		if i%2 == 0 {
			err = store.RecordGenTime(ctx, job.Model, 10, i, gentime.AtMost+20*time.Second)
		} else {
			err = store.RecordGenTime(ctx, job.Model, 10, i, d)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ts := c.Times(ctx, job.Model, 10)
	if ts.Len() != 100 || median(ts, 10) >= 25*time.Second {
		t.Errorf("%d times and bounds, median %v; want 100, below 25 s", ts.Len(), median(ts, 10))
	}
}

// A failed read answers the last snapshot (the prior if none) and reads
// again at the next call.
func TestCacheReadFailure(t *testing.T) {
	c, store, clk := newCache(t)
	ctx := t.Context()
	fill(t, store, job.Model, 5, 30, 40*time.Second)
	store.fail = true
	if got := c.Times(ctx, job.Model, 5); got.Len() != 0 {
		t.Errorf("failed first read: %d times, want none (the prior)", got.Len())
	}
	store.fail = false
	if got := c.Times(ctx, job.Model, 5); got.Len() != 30 {
		t.Errorf("read after a failure: %d times, want 30", got.Len())
	}
	clk.Advance(gentime.DefaultTTL)
	store.fail = true
	if got := c.Times(ctx, job.Model, 5); got.Len() != 30 {
		t.Errorf("failed refresh: %d times, want the last snapshot's 30", got.Len())
	}
	if got := c.Times(ctx, job.Model, 5); got.Len() != 30 || store.count() != 4 {
		t.Errorf("after a failed refresh: %d times, %d reads; want 30 and a read per call (4)", got.Len(), store.count())
	}
}

// Record writes the time, rounded and bounded, to the job's slot, and the
// cache's snapshot learns it at once; non-positive times write nothing.
func TestCacheRecord(t *testing.T) {
	c, store, _ := newCache(t)
	ctx := t.Context()
	fill(t, store, job.Model, 5, 20, 40*time.Second)
	if got := c.Times(ctx, job.Model, 5); got.Len() != 20 {
		t.Fatalf("%d times, want 20", got.Len())
	}
	// An id whose slot is not among the 20 filled.
	id := ""
	for i := 0; id == ""; i++ {
		if s := gentime.Slot(fmt.Sprint("job-", i)); s >= 20 {
			id = fmt.Sprint("job-", i)
		}
	}
	for _, tc := range []struct {
		took, want time.Duration
	}{
		{25340 * time.Millisecond, 25300 * time.Millisecond},
		{20 * time.Millisecond, gentime.Resolution},
		{3 * time.Hour, gentime.MaxTime},
	} {
		if err := c.Record(ctx, id, job.Model, 5, tc.took); err != nil {
			t.Fatal(err)
		}
		stored, err := store.Store.GenTimes(ctx, job.Model, 5)
		if err != nil {
			t.Fatal(err)
		}
		if got := stored[gentime.Slot(id)]; got != tc.want {
			t.Errorf("Record(%v) stored %v, want %v", tc.took, got, tc.want)
		}
	}
	if got := c.Times(ctx, job.Model, 5); got.Len() != 21 || store.count() != 1 {
		t.Errorf("cached snapshot: %d times after %d reads; want 21 without another read", got.Len(), store.count())
	}
	for _, took := range []time.Duration{0, -time.Second} {
		if err := c.Record(ctx, "job-x", job.Model, 10, took); err != nil {
			t.Errorf("Record(%v) = %v", took, err)
		}
	}
	if stored, _ := store.Store.GenTimes(ctx, job.Model, 10); pollpolicy.NewTimes(stored).Len() != 0 {
		t.Error("a non-positive time was recorded")
	}
}

// Two models with the same clip length learn apart: times recorded for one
// are not the other's, which answers its own catalogued prior until it has
// learned enough of its own.
func TestModelsLearnApart(t *testing.T) {
	c, store, clk := newCache(t)
	ctx := t.Context()
	const kling = "klingai/v2.1-master-text-to-video"
	fill(t, store, job.Model, 5, 30, 40*time.Second)
	if got := median(c.Times(ctx, job.Model, 5), 5); got != 40*time.Second {
		t.Errorf("gen3a_turbo 5 s: median %v, want the learned 40s", got)
	}
	if got, ts := c.Times(ctx, kling, 5), c.Times(ctx, kling, 5); got.Len() != 0 || median(ts, 5) != 330*time.Second {
		t.Errorf("Kling master 5 s: %d times, median %v; want none, and its prior's 330s", got.Len(), median(ts, 5))
	}
	// Kling's jobs complete: recorded under Kling, read under Kling.
	for i := range 25 {
		if err := c.Record(ctx, fmt.Sprint("kling-", i), kling, 5, 300*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(gentime.DefaultTTL)
	if got := c.Times(ctx, kling, 5); got.Len() < 20 || median(got, 5) != 300*time.Second {
		t.Errorf("Kling master 5 s after its own times: %d times, median %v; want 300s", got.Len(), median(got, 5))
	}
	if got := c.Times(ctx, job.Model, 5); got.Len() != 30 || median(got, 5) != 40*time.Second {
		t.Errorf("gen3a_turbo 5 s after Kling's times: %d times, median %v; want its own 30 and 40s", got.Len(), median(got, 5))
	}
	// A fresh cache of another function reads the same, apart.
	other := &gentime.Cache{Store: store.Store, Clock: clk, Log: slog.New(slog.DiscardHandler)}
	if a, b := median(other.Times(ctx, job.Model, 5), 5), median(other.Times(ctx, kling, 5), 5); a != 40*time.Second || b != 300*time.Second {
		t.Errorf("another function reads gen3a_turbo %v and Kling %v; want 40s and 300s", a, b)
	}
}

// A nil cache answers the prior and records nothing.
func TestNilCache(t *testing.T) {
	var c *gentime.Cache
	if got := c.Times(t.Context(), job.Model, 5); got.Len() != 0 {
		t.Error("nil cache answered times")
	}
	if err := c.Record(t.Context(), "j", job.Model, 5, time.Second); err != nil {
		t.Error(err)
	}
}

// Slot is deterministic and spreads ids over every slot.
func TestSlot(t *testing.T) {
	seen := map[int]bool{}
	for i := range 2000 {
		id := fmt.Sprintf("0192f7a1-%04d-7000-8000-000000000000", i)
		s := gentime.Slot(id)
		if s < 0 || s >= gentime.Slots || s != gentime.Slot(id) {
			t.Fatalf("Slot(%s) = %d", id, s)
		}
		seen[s] = true
	}
	if len(seen) != gentime.Slots {
		t.Errorf("2000 ids fill %d slots, want all %d", len(seen), gentime.Slots)
	}
}

// The API's estimator answers from the learned times, with no read for a
// job that cannot have an estimate.
func TestEstimator(t *testing.T) {
	c, store, clk := newCache(t)
	fill(t, store, job.Model, 5, 30, 40*time.Second)
	now := clk.Now()
	at := now
	j := job.Job{Status: job.Generating, UpstreamID: "u", SubmitStarted: &at, Request: job.Request{Model: job.Model, Duration: 5}}
	e, ok := gentime.Estimator{Policy: pollpolicy.Learning(), Times: c}.ETA(t.Context(), j, now)
	if !ok || !e.At.Equal(now.Add(40*time.Second)) {
		t.Errorf("learned ETA = %+v, %v; want At 40 s on", e, ok)
	}
	if e, ok := (gentime.Estimator{Policy: pollpolicy.Learning()}).ETA(t.Context(), j, now); !ok || !e.At.Equal(now.Add(25*time.Second)) {
		t.Errorf("ETA without learned times = %+v, %v; want the prior's 25 s", e, ok)
	}
	done := j
	done.Status = job.Completed
	reads := store.count()
	if _, ok := (gentime.Estimator{Policy: pollpolicy.Learning(), Times: c}).ETA(t.Context(), done, now); ok || store.count() != reads {
		t.Errorf("an ended job: estimate %v, %d reads; want none and no read", ok, store.count()-reads)
	}
}
