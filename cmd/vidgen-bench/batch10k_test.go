package main

import (
	"strings"
	"testing"
	"time"

	vbatch "github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/costsim"
)

// TestBatchTargetsNeedEveryJobEnded: the batch's cost per job is held
// against single jobs only when both runs ended all their jobs. A
// single-jobs run that left jobs unended did other work than the batch
// (at 287bf4d its stuck jobs looped, and the batch read as 0.44× of it),
// so it must read as lost and the cost as not met, whatever the ratio;
// and likewise for the batch.
func TestBatchTargetsNeedEveryJobEnded(t *testing.T) {
	run := func(open, transitions int) costsim.Result {
		return costsim.Result{Open: open, Usage: costsim.Usage{Jobs: batchItems, Transitions: transitions},
			Makespan: 105 * time.Minute, PeakByTenant: map[string]int{"a": perTenant}, PeakInFlight: perTenant, PeakActive: perTenant,
			Batch: &vbatch.Summary{Total: batchItems}, MaxHistory: 40}
	}
	for _, c := range []struct {
		name            string
		batch, singles  costsim.Result
		lost, cost      bool
		costMentionsGap bool
	}{
		{name: "both whole, batch 5 % dearer", batch: run(0, 63_000), singles: run(0, 60_000), lost: true, cost: true},
		{name: "both whole, batch 20 % dearer", batch: run(0, 72_000), singles: run(0, 60_000), lost: true, cost: false},
		{name: "single jobs lost 8,341", batch: run(0, 63_000), singles: run(8341, 150_000), lost: false, cost: false, costMentionsGap: true},
		{name: "batch lost one", batch: run(1, 60_000), singles: run(0, 60_000), lost: false, cost: false, costMentionsGap: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ts targets
			batchTargets(&ts, c.batch, c.singles, 100*time.Minute, costsim.Prices{Transition: 0.000025})
			got := map[string]target{}
			for _, tg := range ts {
				got[tg.figure] = tg
			}
			lost, cost := got["batch of 10,000: lost"], got["batch of 10,000: cost per job"]
			if lost.met != c.lost || cost.met != c.cost {
				t.Errorf("lost %+v\ncost %+v\nwant lost met %v, cost met %v", lost, cost, c.lost, c.cost)
			}
			if strings.Contains(cost.measured, "no comparison") != c.costMentionsGap {
				t.Errorf("cost %q: want it to say there is no comparison: %v", cost.measured, c.costMentionsGap)
			}
		})
	}
}
