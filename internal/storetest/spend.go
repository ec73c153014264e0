package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// otherModel is a catalogued model id with the dots and slashes model ids
// carry, which must not split a counter's name.
const otherModel = "klingai/v2.1-master-text-to-video"

// spend is the contract of the spend counters (job.Spend): the write that
// records credits a job's record did not hold counts their difference, on
// the day of that write, for the job's tenant and model; a change that
// carries the credits the record holds, or that is refused, counts
// nothing.
func spend(t *testing.T, newStore func(t *testing.T) Store, sample func(id string) job.Job) {
	ctx := context.Background()
	t0 := sample("x").CreatedAt
	day := job.Day(t0)
	credits := func(v float64) *float64 { return &v }
	read := func(t *testing.T, s Store, tenant, day string) job.Spend {
		t.Helper()
		sp, err := s.Spend(ctx, tenant, day)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	check := func(t *testing.T, s Store, tenant, day string, total float64, byModel map[string]float64) {
		t.Helper()
		sp := read(t, s, tenant, day)
		if sp.Day != day || sp.Credits != total || !maps.Equal(sp.ByModel, byModel) {
			t.Errorf("Spend(%s, %s) = %+v, want %v credits, by model %v", tenant, day, sp, total, byModel)
		}
	}
	create := func(t *testing.T, s Store, id, tenant, model string) {
		t.Helper()
		j := sample(id)
		j.Tenant, j.Request.Model = tenant, model
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("spend counts a job's credits once, per tenant, model and day", func(t *testing.T) {
		s := newStore(t)
		check(t, s, "tenantA", day, 0, map[string]float64{})
		create(t, s, "a1", "tenantA", job.Model)
		create(t, s, "a2", "tenantA", otherModel)
		create(t, s, "b1", "tenantB", job.Model)
		create(t, s, "a3", "tenantA", job.Model)

		// The create's answer carries the credits: counted with the upstream id.
		j, err := s.Update(ctx, "a1", job.Change{At: t0.Add(time.Second), Status: job.Generating, UpstreamID: "up-1", CreditsUsed: credits(10)})
		if err != nil {
			t.Fatal(err)
		}
		if j.UpstreamID != "up-1" || j.Status != job.Generating || j.CreditsUsed == nil || *j.CreditsUsed != 10 {
			t.Fatalf("record after the credits' write: %+v", j)
		}
		check(t, s, "tenantA", day, 10, map[string]float64{job.Model: 10})
		// Polls that carry the same credits count nothing more.
		for i := range 3 {
			j, err = s.Update(ctx, "a1", job.Change{At: t0.Add(time.Duration(2+i) * time.Second), Polls: 1, CreditsUsed: credits(10)})
			if err != nil {
				t.Fatal(err)
			}
		}
		if j.Polls != 3 {
			t.Fatalf("polls = %d, want 3", j.Polls)
		}
		check(t, s, "tenantA", day, 10, map[string]float64{job.Model: 10})
		// Credits that change count their difference.
		if _, err := s.Update(ctx, "a1", job.Change{At: t0.Add(5 * time.Second), CreditsUsed: credits(12.5)}); err != nil {
			t.Fatal(err)
		}
		check(t, s, "tenantA", day, 12.5, map[string]float64{job.Model: 12.5})
		// Credits first known at the end count with the end.
		dur := 5.0
		j, err = s.Update(ctx, "a2", job.Change{At: t0.Add(6 * time.Second), Status: job.Completed, Polls: 1,
			Video: &job.Video{URL: "https://cdn.example/v.mp4", Duration: &dur}, CreditsUsed: credits(40)})
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != job.Completed || j.Video == nil || j.CreditsUsed == nil || *j.CreditsUsed != 40 || j.Polls != 1 {
			t.Fatalf("record after an end with credits: %+v", j)
		}
		check(t, s, "tenantA", day, 52.5, map[string]float64{job.Model: 12.5, otherModel: 40})
		// A refused change (the job ended) counts nothing.
		if _, err := s.Update(ctx, "a2", job.Change{At: t0.Add(7 * time.Second), CreditsUsed: credits(99)}); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("credits on an ended job: %v, want ErrConflict", err)
		}
		if _, err := s.Update(ctx, "missing", job.Change{At: t0, CreditsUsed: credits(1)}); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("credits on a missing job: %v, want ErrNotFound", err)
		}
		check(t, s, "tenantA", day, 52.5, map[string]float64{job.Model: 12.5, otherModel: 40})
		// Another tenant's, and another day's, are apart.
		if _, err := s.Update(ctx, "b1", job.Change{At: t0, UpstreamID: "up-b", CreditsUsed: credits(3)}); err != nil {
			t.Fatal(err)
		}
		next := t0.Add(24 * time.Hour)
		if _, err := s.Update(ctx, "a3", job.Change{At: next, UpstreamID: "up-3", CreditsUsed: credits(8)}); err != nil {
			t.Fatal(err)
		}
		check(t, s, "tenantB", day, 3, map[string]float64{job.Model: 3})
		check(t, s, "tenantA", day, 52.5, map[string]float64{job.Model: 12.5, otherModel: 40})
		check(t, s, "tenantA", job.Day(next), 8, map[string]float64{job.Model: 8})
	})

	t.Run("spend: concurrent writes of the same credits count them once", func(t *testing.T) {
		s := newStore(t)
		for i := range 4 {
			create(t, s, fmt.Sprintf("c%d", i), "tenantA", job.Model)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 4 {
			for range 4 {
				wg.Go(func() {
					if _, err := s.Update(ctx, fmt.Sprintf("c%d", i), job.Change{At: t0, Polls: 1, CreditsUsed: credits(float64(i + 1))}); err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("update: %v", err)
		}
		check(t, s, "tenantA", day, 10, map[string]float64{job.Model: 10}) // 1+2+3+4
		for i := range 4 {
			if j, _ := s.Get(ctx, fmt.Sprintf("c%d", i)); j.Polls != 4 {
				t.Errorf("c%d has %d polls, want 4 (every write applied)", i, j.Polls)
			}
		}
	})

	t.Run("spend: the end of a job holding a slot counts its credits and gives the slot back", func(t *testing.T) {
		s := newStore(t)
		j := sample("s1")
		j.Waiting = true
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		limits := job.Limits{Global: 2, PerTenant: 1}
		if _, err := s.Admit(ctx, "s1", limits, t0); err != nil {
			t.Fatal(err)
		}
		ended, err := s.Update(ctx, "s1", job.Change{At: t0.Add(time.Minute), Status: job.Failed,
			Error: &job.Error{Name: "GenerationFailed", Message: "x"}, CreditsUsed: credits(6)})
		if err != nil {
			t.Fatal(err)
		}
		if ended.Slot || ended.Status != job.Failed || ended.CreditsUsed == nil || *ended.CreditsUsed != 6 {
			t.Fatalf("ended record: %+v", ended)
		}
		f, err := s.InFlight(ctx)
		if err != nil || f.Total != 0 || f.ByTenant["tenantA"] != 0 {
			t.Fatalf("in flight after the end: %+v, %v", f, err)
		}
		check(t, s, "tenantA", day, 6, map[string]float64{job.Model: 6})
	})
}
