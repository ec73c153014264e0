package costsim

import (
	"context"
	"maps"
	"testing"
	"time"
)

// directBatch runs n jobs started directly at once, as a batch's Map with
// max_concurrency n starts them, by one tenant capped at 25 generations in
// flight (50 in all).
func directBatch(t *testing.T, n int, slotLoop bool) Result {
	t.Helper()
	res, err := Run(context.Background(), BatchConfig(n, slotLoop, "../../template.yaml", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestParkingCostsLess: jobs that wait for a slot in their own executions
// cost a constant number of transitions when parked on a task token, where
// looking every 10 s costs three per look; both end every job, the same
// way.
func TestParkingCostsLess(t *testing.T) {
	const n = 300
	loop, parked := directBatch(t, n, true), directBatch(t, n, false)
	lf, pf := loop.Figures(PublishedPrices()), parked.Figures(PublishedPrices())
	t.Logf("looping: %.1f transitions/job, $%.3f per 1,000 jobs, makespan %s; parked: %.1f, $%.3f, %s",
		lf.Transitions, lf.DollarsPer1000, loop.Makespan, pf.Transitions, pf.DollarsPer1000, parked.Makespan)
	for name, res := range map[string]Result{"looping": loop, "parked": parked} {
		ended := 0
		for _, c := range res.Statuses {
			ended += c
		}
		if res.Open != 0 || ended != n || res.Statuses["completed"] == 0 {
			t.Errorf("%s: %d open, statuses %v", name, res.Open, res.Statuses)
		}
	}
	if parked.Statuses["error TimedOut"] != 0 {
		t.Errorf("parked: %d jobs timed out: their deadline runs from admission", parked.Statuses["error TimedOut"])
	}
	// A parked job costs what an unhindered one does plus a few states; a
	// looping one grows with its wait (300 jobs, 25 at a time: minutes).
	if pf.Transitions > 25 || lf.Transitions < 3*pf.Transitions {
		t.Errorf("transitions per job: parked %.1f (want ≤ 25), looping %.1f (want ≥ 3× parked)", pf.Transitions, lf.Transitions)
	}
}

// TestLostTokensStrandNoJob: when every admitter's resume is lost, parked
// jobs still go on, each after its callback task's 15-min heartbeat runs
// out and Submit finds it admitted: every job ends as it would have, and
// none times out (its deadline runs from its admission).
func TestLostTokensStrandNoJob(t *testing.T) {
	const n = 60
	cfg := BatchConfig(n, false, "../../template.yaml", t.TempDir())
	cfg.LoseTokens = true
	lost, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	kept := directBatch(t, n, false)
	t.Logf("tokens lost: statuses %v, makespan %s; kept: %v, %s", lost.Statuses, lost.Makespan, kept.Statuses, kept.Makespan)
	if lost.Open != 0 || !maps.Equal(lost.Statuses, kept.Statuses) {
		t.Fatalf("tokens lost: %d open, statuses %v; want every job ended as with them: %v", lost.Open, lost.Statuses, kept.Statuses)
	}
	// The heartbeat, not a resume, moved them on: the batch took longer.
	if lost.Makespan < kept.Makespan+15*time.Minute {
		t.Fatalf("makespan %s with lost tokens, %s without; want at least one 15-min heartbeat more", lost.Makespan, kept.Makespan)
	}
}
