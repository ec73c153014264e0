package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vidgen/vidgen/internal/costsim"
)

// designJobs is how many jobs of the reference workload (its seed) each
// design of the poll loop runs: enough for a p99 of about twenty lags,
// few enough to keep make bench's budget.
const designJobs = 2000

// chosenDesign is the cheapest design that meets the lag goal: the real
// state machine as it is (issue 17's cut states) with pollpolicy.LongPoll
// (docs/performance.md, "Cost and detection lag").
const chosenDesign = "(c) waits inside Poll, fixed states cut"

// cost runs the fixed-10-s baseline and each design of the poll loop
// (costsim.Designs) on the same jobs, prints what each costs and how late
// it notices, and adds the chosen design's figures to ts as ratios against
// the baseline.
func cost(template string, prices costsim.Prices, lat costsim.Latencies, ts *targets) {
	w := costsim.Reference()
	w.Jobs = designJobs
	fmt.Printf("designs of the poll loop: the first %d jobs of the workload above; Step Functions Express $%.2f per 1M requests + $%.8f per GB-s at 64 MB\n\n",
		w.Jobs, prices.ExpressRequest*1e6, prices.ExpressGBSecond)
	// The baseline is the fixed-10-s poller on the machine as it stood
	// before issue 17 (CONTRACT-17b), so that cutting states does not make
	// it cheaper too.
	rows := append([]costsim.NamedDesign{{Name: "fixed 10 s (baseline)", Policy: costsim.Baseline(), Design: costsim.BeforeIssue17()}}, costsim.Designs()...)
	var figures []costsim.Figures
	for _, d := range rows {
		began := time.Now()
		res := inTempDir(d.Name, func(dir string) (costsim.Result, error) {
			return costsim.Run(context.Background(), costsim.Config{Workload: w, Policy: d.Policy, Latencies: lat,
				Template: template, Deadline: 30 * time.Minute, Dir: dir, Design: d.Design})
		})
		f := res.Figures(prices)
		f.Policy = d.Name
		fmt.Fprintf(os.Stderr, "%s: %d jobs in %s; Express rounds %d; ends %v\n", d.Name, f.Jobs, time.Since(began).Round(time.Millisecond), res.Usage.ExpressRequests, res.Statuses)
		figures = append(figures, f)
	}
	costsim.WriteTable(os.Stdout, figures)
	fmt.Println()
	costsim.WriteBreakdown(os.Stdout, figures)
	fmt.Println()

	base := figures[0]
	var chosen costsim.Figures
	for _, f := range figures {
		if f.Policy == chosenDesign {
			chosen = f
		}
	}
	ratio := func(x, y float64) float64 { return x / y }
	ts.add("chosen poll loop "+chosenDesign+": cost per 1,000 jobs",
		fmt.Sprintf("$%.3f (%.2f× baseline $%.3f)", chosen.DollarsPer1000, ratio(chosen.DollarsPer1000, base.DollarsPer1000), base.DollarsPer1000),
		"≤ $0.27 and ≤ 0.4× baseline", chosen.DollarsPer1000 <= 0.27 && chosen.DollarsPer1000 <= 0.4*base.DollarsPer1000)
	ts.add("chosen poll loop: lag p50",
		fmt.Sprintf("%.1f s (%.2f× baseline %.1f s)", chosen.LagP50.Seconds(), ratio(chosen.LagP50.Seconds(), base.LagP50.Seconds()), base.LagP50.Seconds()),
		"≤ 1.0 s", chosen.LagP50 <= time.Second)
	ts.add("chosen poll loop: lag p99",
		fmt.Sprintf("%.1f s (%.2f× baseline %.1f s)", chosen.LagP99.Seconds(), ratio(chosen.LagP99.Seconds(), base.LagP99.Seconds()), base.LagP99.Seconds()),
		"≤ 5 s and ≤ 0.5× baseline", chosen.LagP99 <= 5*time.Second && chosen.LagP99 <= base.LagP99/2)
}
