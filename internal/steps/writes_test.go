package steps_test

import (
	"context"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// countingStore counts the writes the steps make.
type countingStore struct {
	steps.Store
	writes int
}

func (s *countingStore) Update(ctx context.Context, id string, c job.Change) (job.Job, error) {
	s.writes++
	return s.Store.Update(ctx, id, c)
}

// A Poll that learns nothing new does not write the record: a job the
// fixed policy polls every 5 s for five minutes while the upstream keeps
// generating writes once per ProgressEvery, not once per ask, and the
// asks it did not write reach the record with the next write, the end
// included.
func TestPollWritesOnlyWhatChanged(t *testing.T) {
	e := newEnv(t)
	counted := &countingStore{Store: e.h.Store}
	h := *e.h
	h.Store = counted
	j := e.submitted(validRequest("sim:gen=300 a cat", 5), jobDeadline) // generating from ~1 s, done at ~303 s
	e.clk.Advance(5 * time.Second)
	out := e.poll(&h, steps.Input{JobID: j.ID})
	asks := 1
	for !out.Status.Terminal() {
		if asks > 200 {
			t.Fatal("the job never ended")
		}
		e.clk.Advance(time.Duration(out.WaitSeconds) * time.Second)
		out = e.poll(&h, carry(t, out))
		asks++
	}
	got := e.get(j.ID)
	if got.Status != job.Completed || got.Polls != asks {
		t.Fatalf("job ended %q with %d polls, want completed with every one of the %d asks", got.Status, got.Polls, asks)
	}
	// One write when the job is seen generating, one per ProgressEvery
	// while it generates, and the end.
	span := got.UpdatedAt.Sub(j.UpdatedAt)
	most := 2 + int(span/steps.ProgressEvery) + 1
	if counted.writes > most || counted.writes*3 > asks {
		t.Errorf("%d asks over %v took %d writes, want at most %d (one per %v while nothing changed)",
			asks, span, counted.writes, most, steps.ProgressEvery)
	}
	if got.CheckedAt == nil || !got.CheckedAt.Equal(got.UpdatedAt) {
		t.Errorf("checked_at %v, want the last ask's time %v", got.CheckedAt, got.UpdatedAt)
	}
}
