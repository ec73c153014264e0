package costsim

import (
	"context"
	"maps"
	"testing"
	"time"
)

func designRun(t *testing.T, d NamedDesign, jobs int) Result {
	t.Helper()
	w := Reference()
	w.Jobs = jobs
	res, err := Run(context.Background(), Config{Workload: w, Policy: d.Policy, Latencies: ModelLatencies(),
		Template: "../../template.yaml", Deadline: 30 * time.Minute, Dir: t.TempDir(), Design: d.Design})
	if err != nil {
		t.Fatalf("%s: %v", d.Name, err)
	}
	return res
}

// TestDesigns runs every design of the poll loop on the same jobs: each
// ends every job as today's loop does (the same final statuses), none
// runs an Express round past five minutes (Run fails if one does), the
// machine as it is saves each job the states issue 17 cut (CutStates for
// a job whose Poll announced its end, fewer for one that ended by Submit:
// Finish and Callback? are then its states still) and changes nothing
// else, and the
// designs that wait outside Standard transitions cost fewer of them and
// notice a finished video within the lag goal (p99 ≤ 5 s).
func TestDesigns(t *testing.T) {
	const jobs = 300
	ds := Designs()
	res := make([]Result, len(ds))
	fs := make([]Figures, len(ds))
	for i, d := range ds {
		res[i] = designRun(t, d, jobs)
		fs[i] = res[i].Figures(PublishedPrices())
		t.Logf("%-45s transitions %.1f, Express rounds %.2f, $%.3f per 1,000, lag p50 %s p99 %s", d.Name, fs[i].Transitions,
			float64(res[i].Usage.ExpressRequests)/jobs, fs[i].DollarsPer1000, fs[i].LagP50, fs[i].LagP99)
	}
	for i := range ds {
		if !maps.Equal(res[i].Statuses, res[0].Statuses) || res[i].Open != 0 {
			t.Errorf("%s ends jobs %v (%d open), today's loop %v", ds[i].Name, res[i].Statuses, res[i].Open, res[0].Statuses)
		}
	}
	for i := 0; i+1 < len(ds); i += 2 {
		full, cut := res[i], res[i+1]
		got := full.Usage.Transitions - cut.Usage.Transitions
		t.Logf("%s saves %d transitions on %d jobs", ds[i+1].Name, got, jobs)
		if got > CutStates*jobs || got < CutStates*jobs*95/100 {
			t.Errorf("%s saves %d transitions on %d jobs, want at most %d, most jobs %d", ds[i+1].Name, got, jobs, CutStates*jobs, CutStates)
		}
		if full.Usage.Invocations != cut.Usage.Invocations || len(full.Lags) != len(cut.Lags) {
			t.Errorf("%s changed more than the fixed states: %+v against %+v", ds[i+1].Name, cut.Usage, full.Usage)
		}
	}
	if res[0].Usage.ExpressRequests != 0 || res[2].Usage.ExpressRequests < jobs*95/100 || res[2].Usage.ExpressGBSeconds <= 0 {
		t.Errorf("Express rounds: today %d, (b) %d (%.1f GB-s)", res[0].Usage.ExpressRequests, res[2].Usage.ExpressRequests, res[2].Usage.ExpressGBSeconds)
	}
	for _, i := range []int{3, 5} {
		if fs[i].Transitions >= fs[1].Transitions-5 || fs[i].DollarsPer1000 >= fs[1].DollarsPer1000 || fs[i].LagP99 > 5*time.Second {
			t.Errorf("%s: %+v, against the Standard loop's %+v", ds[i].Name, fs[i], fs[1])
		}
	}
}
