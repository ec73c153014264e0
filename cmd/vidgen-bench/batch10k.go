package main

import (
	"context"
	"fmt"
	"os"
	"time"

	vbatch "github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/costsim"
)

// batchItems is the size of the batch; perTenant is its tenant's
// cap on generations in flight, and the batch's max_concurrency.
const batchItems, perTenant = 10_000, 25

// batch10k runs a 10,000-item manifest batch through the real video_batch
// machine (its distributed Map with max_concurrency at the tenant's cap,
// each child a lane running a chunk of items)
// for one tenant capped at 25 generations in flight, 50 in all and at the
// upstream, and the same 10,000 requests submitted one by one to the API,
// each when a slot frees for it, side by side; it prints both and adds the
// batch's figures to ts.
func batch10k(template string, prices costsim.Prices, ts *targets) {
	cfgs := []costsim.Config{costsim.ManifestConfig(batchItems, perTenant, template, ""), costsim.SinglesConfig(batchItems, template, "")}
	res := parallel(len(cfgs), func(i int) costsim.Result {
		return inTempDir(fmt.Sprintf("batch of %d", batchItems), func(dir string) (costsim.Result, error) {
			cfg := cfgs[i]
			cfg.Dir = dir
			return costsim.Run(context.Background(), cfg)
		})
	})
	batch, singles := res[0], res[1]
	bf, sf := batch.Figures(prices), singles.Figures(prices)
	// Both run the same jobs under the same caps.
	ideal := costsim.IdealCapped(cfgs[0].Workload, cfgs[0].Limits)

	fmt.Printf("batch of %d: one video_batch execution over a JSON Lines manifest (max_concurrency %d: as many lanes, each running chunks of %d items one after another), one tenant capped at %d generations in flight, 50 in all and at the upstream, the deployed poll policy (%s), the burst workload; against the same requests submitted one by one to the API, each when a slot frees for it (single jobs)\n\n",
		batchItems, perTenant, vbatch.ItemsPerChild(batchItems, perTenant), perTenant, cfgs[0].Policy.Name)
	fmt.Println("| how | ended | lost | peak in flight (tenant / in all / upstream) | makespan | ideal | makespan / ideal | transitions per job | $ per 1,000 jobs |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, row := range []struct {
		name string
		r    costsim.Result
		f    costsim.Figures
	}{{"manifest batch", batch, bf}, {"single jobs", singles, sf}} {
		fmt.Printf("| %s | %d | %d | %d / %d / %d | %s | %s | %.3f | %.1f | %.3f |\n", row.name, batchItems-row.r.Open, row.r.Open,
			row.r.PeakByTenant["a"], row.r.PeakInFlight, row.r.PeakActive, row.r.Makespan.Round(time.Second), ideal.Round(time.Second),
			row.r.Makespan.Seconds()/ideal.Seconds(), row.f.Transitions, row.f.DollarsPer1000)
	}
	fmt.Printf("\nlargest execution history: %d events, the batch's or an item's job's (Step Functions allows 25,000)\n\n", batch.MaxHistory)
	fmt.Println("per job, and $ per 1,000 jobs by service:")
	fmt.Println()
	fmt.Println("| how | transitions | invocations | Lambda GB-s | DynamoDB WRU | RRU |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	bf.Policy, sf.Policy = "manifest batch", "single jobs"
	for _, f := range []costsim.Figures{bf, sf} {
		fmt.Printf("| %s | %.3f | %.3f | %.3f | %.2f | %.2f |\n", f.Policy, f.Transitions, f.Invocations, f.GBSeconds, f.WRU, f.RRU)
	}
	fmt.Println()
	costsim.WriteBreakdown(os.Stdout, []costsim.Figures{bf, sf})
	fmt.Println()

	batchTargets(ts, batch, singles, ideal, prices)
}

// batchTargets adds the batch's figures to ts. Lost counts the single-jobs
// run too, and the cost per job is met only if both runs ended every job:
// a run that left jobs unended did less work than the other, so its cost
// per job compares nothing (the single-jobs run once ended 1,659 of
// 10,000 and read as a cost ratio of 0.44, met).
func batchTargets(ts *targets, batch, singles costsim.Result, ideal time.Duration, prices costsim.Prices) {
	ratio := batch.Makespan.Seconds() / ideal.Seconds()
	ts.add("batch of 10,000: makespan / ideal", fmt.Sprintf("%.3f (%s against %s)", ratio, batch.Makespan.Round(time.Second), ideal.Round(time.Second)),
		"≤ 1.1", ratio <= 1.1)
	tenant, all, upstream := batch.PeakByTenant["a"], batch.PeakInFlight, batch.PeakActive
	ts.add("batch of 10,000: peak in flight", fmt.Sprintf("%d for the tenant, %d in all, %d at the upstream (%d refused)", tenant, all, upstream, batch.Throttled),
		"≤ 25 per tenant, ≤ 50 in all", tenant <= perTenant && all <= 50 && upstream <= 50 && batch.Throttled == 0)
	counted := 0
	if batch.Batch != nil {
		counted = batch.Batch.Total
	}
	batchWhole := batch.Open == 0 && batch.Usage.Jobs == batchItems && counted == batchItems
	singlesWhole := singles.Open == 0 && singles.Usage.Jobs == batchItems
	ts.add("batch of 10,000: lost", fmt.Sprintf("%d in the batch (%d of %d items ended, %d in the batch's summary), %d in single jobs (%d of %d ended)",
		batch.Open, batch.Usage.Jobs-batch.Open, batchItems, counted, singles.Open, singles.Usage.Jobs-singles.Open, batchItems),
		"0 in each", batchWhole && singlesWhole)
	ts.add("batch of 10,000: largest execution history", fmt.Sprintf("%d events", batch.MaxHistory), "≤ 25,000", batch.MaxHistory <= 25_000)
	bf, sf := batch.Figures(prices), singles.Figures(prices)
	costRatio := bf.DollarsPer1000 / sf.DollarsPer1000
	measured := fmt.Sprintf("$%.3f per 1,000 jobs (%.4f× single jobs' $%.3f)", bf.DollarsPer1000, costRatio, sf.DollarsPer1000)
	if !batchWhole || !singlesWhole {
		measured += "; no comparison: a run left jobs unended"
	}
	ts.add("batch of 10,000: cost per job", measured, "≤ 1.1× single jobs", batchWhole && singlesWhole && costRatio <= 1.1)
}
