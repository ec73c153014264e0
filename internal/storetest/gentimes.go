package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
)

// genTimes is the contract of the learned generation times
// (gentime.Store): a sample of gentime.Slots per model and duration, each
// slot holding the last time recorded in it, apart from the jobs.
func genTimes(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	read := func(t *testing.T, s Store, model string, duration int) []time.Duration {
		t.Helper()
		got, err := s.GenTimes(ctx, model, duration)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != gentime.Slots {
			t.Fatalf("GenTimes(%s, %d) has %d slots, want %d", model, duration, len(got), gentime.Slots)
		}
		return got
	}
	want := func(t *testing.T, s Store, model string, duration int, filled map[int]time.Duration) {
		t.Helper()
		for i, d := range read(t, s, model, duration) {
			if d != filled[i] {
				t.Errorf("GenTimes(%s, %d)[%d] = %v, want %v", model, duration, i, d, filled[i])
			}
		}
	}

	t.Run("generation times are kept per model and duration, one per slot", func(t *testing.T) {
		s := newStore(t)
		want(t, s, job.Model, 5, nil) // nothing recorded: all empty
		for _, r := range []struct {
			model    string
			duration int
			slot     int
			took     time.Duration
		}{
			{job.Model, 5, 3, 25300 * time.Millisecond},
			{job.Model, 5, 0, gentime.Resolution},
			{job.Model, 5, gentime.Slots - 1, gentime.MaxTime},
			{job.Model, 5, 4, gentime.MaxValue}, // a bound (gentime.AtMost)
			{job.Model, 5, 3, 31 * time.Second}, // replaces 25.3 s
			{job.Model, 10, 3, 47 * time.Second},
			{"other-model", 5, 7, 12 * time.Second},
		} {
			if err := s.RecordGenTime(ctx, r.model, r.duration, r.slot, r.took); err != nil {
				t.Fatalf("RecordGenTime(%+v): %v", r, err)
			}
		}
		want(t, s, job.Model, 5, map[int]time.Duration{0: gentime.Resolution, 3: 31 * time.Second, 4: gentime.MaxValue, gentime.Slots - 1: gentime.MaxTime})
		want(t, s, job.Model, 10, map[int]time.Duration{3: 47 * time.Second})
		want(t, s, "other-model", 5, map[int]time.Duration{7: 12 * time.Second})
		want(t, s, "other-model", 10, nil)

		// The sample is no job: no read, listing or index of jobs sees it.
		if ids, err := s.OpenJobs(ctx); err != nil || len(ids) != 0 {
			t.Errorf("OpenJobs = %v, %v; want none", ids, err)
		}
		for _, id := range []string{"gentime#" + job.Model + "#5", "gentimes", job.Model} {
			if _, err := s.Get(ctx, id); !errors.Is(err, job.ErrNotFound) {
				t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})

	t.Run("generation times out of range are refused", func(t *testing.T) {
		s := newStore(t)
		for _, r := range []struct {
			slot int
			took time.Duration
		}{{-1, time.Second}, {gentime.Slots, time.Second}, {0, 0}, {0, -time.Second}, {0, gentime.MaxValue + gentime.Resolution}} {
			if err := s.RecordGenTime(ctx, job.Model, 5, r.slot, r.took); err == nil {
				t.Errorf("RecordGenTime(slot %d, %v) succeeded", r.slot, r.took)
			}
		}
		want(t, s, job.Model, 5, nil)
	})

	t.Run("concurrent generation times all land", func(t *testing.T) {
		s := newStore(t)
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				if err := s.RecordGenTime(ctx, job.Model, 5, i*5, time.Duration(i+1)*time.Second); err != nil {
					errs <- fmt.Errorf("slot %d: %w", i*5, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		filled := map[int]time.Duration{}
		for i := range n {
			filled[i*5] = time.Duration(i+1) * time.Second
		}
		want(t, s, job.Model, 5, filled)
	})
}
