package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vidgen/vidgen/internal/costsim"
)

// mixedJobs is how many jobs the mixed-model workload draws (half
// gen3a_turbo, a quarter each Kling master and Veo): a p99 of about ten
// lags for the smaller parts, within make bench's budget.
const mixedJobs = 4000

// mixed runs issue 18's mixed-model workload: each model's jobs under the
// deployed design (c) and under the fixed-10-s baseline on the machine as
// it stood before issue 17 (as "Designs of the poll loop" pins it), each
// job with its model's deadline, and adds per model the cost and lag
// ratios against the baseline to ts. Each model's jobs run on their own
// (costsim bills a run as a whole); without caps, and with the learned
// times kept per model, they would meet nothing of the other models' in a
// run together. Every model's jobs submit its own requests
// (costsim's TestMixedBodiesAreAccepted checks vidgen and the simulator
// take them).
func mixed(template string, prices costsim.Prices, lat costsim.Latencies, ts *targets) {
	w := costsim.Mixed(mixedJobs, costsim.MixedModels())
	jobs := w.Generate()
	fmt.Printf("mixed models: %d jobs arriving %.0f/s, %s; each generation log-normal (σ %.2f) around its model's catalogued prior; %.0f %% errors, %.0f %% long tails of 2–4× the prior, %.0f %% never finish (TimedOut at the model's deadline)\n\n",
		w.Jobs, w.Rate, describeMix(w.Models), w.Sigma, w.Errors*100, w.LongTails*100, w.Never*100)
	type run struct {
		model, name string
		policy      costsim.Policy
		design      costsim.Design
	}
	var runs []run
	for _, m := range w.Models {
		runs = append(runs,
			run{m.Model, "fixed 10 s (baseline)", costsim.Baseline(), costsim.BeforeIssue17()},
			run{m.Model, chosenDesign, costsim.Deployed(), costsim.Design{}})
	}
	figures := parallel(len(runs), func(i int) costsim.Figures {
		r := runs[i]
		began := time.Now()
		res := inTempDir("mixed "+r.model+" "+r.name, func(dir string) (costsim.Result, error) {
			return costsim.Run(context.Background(), costsim.Config{Workload: w, Jobs: costsim.Only(jobs, r.model), Policy: r.policy,
				Latencies: lat, Template: template, Dir: dir, Design: r.design})
		})
		f := res.Figures(prices)
		f.Policy = r.model + ": " + r.name
		fmt.Fprintf(os.Stderr, "mixed %s: %d jobs, %s simulated in %s; ends %v\n", f.Policy, f.Jobs, f.Simulated.Round(time.Second), time.Since(began).Round(time.Millisecond), res.Statuses)
		return f
	})
	costsim.WriteTable(os.Stdout, figures)
	fmt.Println()
	costsim.WriteBreakdown(os.Stdout, figures)
	fmt.Println()
	for i := 0; i < len(figures); i += 2 {
		base, chosen := figures[i], figures[i+1]
		model := runs[i].model
		ts.add("mixed models, "+model+": cost per 1,000 jobs",
			fmt.Sprintf("$%.3f (%.2f× baseline $%.3f)", chosen.DollarsPer1000, chosen.DollarsPer1000/base.DollarsPer1000, base.DollarsPer1000),
			"≤ 0.4× baseline", chosen.DollarsPer1000 <= 0.4*base.DollarsPer1000)
		ts.add("mixed models, "+model+": lag p50 / p99",
			fmt.Sprintf("%.1f s / %.1f s (%.2f× / %.2f× baseline %.1f s / %.1f s)", chosen.LagP50.Seconds(), chosen.LagP99.Seconds(),
				chosen.LagP50.Seconds()/base.LagP50.Seconds(), chosen.LagP99.Seconds()/base.LagP99.Seconds(), base.LagP50.Seconds(), base.LagP99.Seconds()),
			"≤ 0.5× baseline each", chosen.LagP50 <= base.LagP50/2 && chosen.LagP99 <= base.LagP99/2)
	}
}

// describeMix says what a mix holds, e.g. "50 % gen3a_turbo (5 s 70 %, 10 s 30 %)".
func describeMix(models []costsim.ModelMix) string {
	var s string
	for i, m := range models {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.0f %% %s (", m.Share*100, m.Model)
		for k, c := range m.Clips {
			if k > 0 {
				s += ", "
			}
			s += fmt.Sprintf("%d s %.0f %%", c.Duration, c.Share*100)
		}
		s += ")"
	}
	return s
}
