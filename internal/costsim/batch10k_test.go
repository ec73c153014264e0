package costsim

import (
	"context"
	"testing"
)

// TestManifestBatch runs a manifest batch through the real video_batch
// machine: every item becomes a job that ends, the summary counts them
// all, no cap is passed, and the batch ends close to the ideal makespan.
func TestManifestBatch(t *testing.T) {
	const n = 300
	res, err := Run(context.Background(), ManifestConfig(n, 100, "../../template.yaml", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	f := res.Figures(PublishedPrices())
	t.Logf("statuses %v, summary %+v; makespan %s, ideal %s; peak %d (%v), upstream %d; %.1f transitions/job, $%.3f per 1,000 jobs, history %d",
		res.Statuses, res.Batch, res.Makespan, res.Ideal, res.PeakInFlight, res.PeakByTenant, res.PeakActive, f.Transitions, f.DollarsPer1000, res.MaxHistory)
	if res.Open != 0 || res.Batch == nil || res.Batch.Total != n {
		t.Fatalf("%d open, summary %+v; want every one of %d items ended and counted", res.Open, res.Batch, n)
	}
	if res.PeakByTenant["a"] > 25 || res.PeakInFlight > 50 || res.PeakActive > 50 || res.Throttled != 0 {
		t.Errorf("peaks: tenant a %d (cap 25), in all %d (cap 50), upstream %d (cap 50), %d refused", res.PeakByTenant["a"], res.PeakInFlight, res.PeakActive, res.Throttled)
	}
}
