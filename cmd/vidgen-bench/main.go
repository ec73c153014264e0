// Command vidgen-bench runs the reference workload through the real state
// machine, handlers and simulator on a discrete-event clock under each poll
// policy (internal/costsim), and prints what each costs per job and how
// late it notices finished videos.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/vidgen/vidgen/internal/costsim"
)

func main() {
	jobs := flag.Int("jobs", costsim.Reference().Jobs, "jobs in the workload")
	seed := flag.Uint64("seed", costsim.Reference().Seed, "workload seed")
	template := flag.String("template", "template.yaml", "the SAM template whose video_job to run")
	flag.Parse()

	w := costsim.Reference()
	w.Jobs, w.Seed = *jobs, *seed
	prices, lat := costsim.PublishedPrices(), costsim.ModelLatencies()
	fmt.Printf("workload: %d jobs arriving %.0f/s; 5-s videos median %s, 10-s (%.0f %%) median %s, log-normal σ %.2f; %.0f %% errors, %.0f %% long tails of %s–%s, %.0f %% never finish; job deadline 30 min\n",
		w.Jobs, w.Rate, w.Median5s, w.Share10s*100, w.Median10s, w.Sigma, w.Errors*100, w.LongTails*100, w.TailMin, w.TailMax, w.Never*100)
	costsim.WritePrices(os.Stdout, prices, lat)
	fmt.Println()

	var figures []costsim.Figures
	for _, p := range costsim.Policies() {
		dir, err := os.MkdirTemp("", "vidgen-bench-")
		if err != nil {
			log.Fatal(err)
		}
		began := time.Now()
		res, err := costsim.Run(context.Background(), costsim.Config{Workload: w, Policy: p, Latencies: lat,
			Template: *template, Deadline: 30 * time.Minute, Dir: dir})
		os.RemoveAll(dir)
		if err != nil {
			log.Fatalf("%s: %v", p.Name, err)
		}
		f := res.Figures(prices)
		fmt.Fprintf(os.Stderr, "%s: %d jobs, %s simulated in %s; ends %v\n", p.Name, f.Jobs, f.Simulated.Round(time.Second), time.Since(began).Round(time.Millisecond), res.Statuses)
		figures = append(figures, f)
	}
	costsim.WriteTable(os.Stdout, figures)
	fmt.Println()
	fmt.Println("$ per 1,000 jobs by service:")
	fmt.Println()
	costsim.WriteBreakdown(os.Stdout, figures)
	fmt.Println()
	base, adaptive := figures[0], figures[2]
	costOK := adaptive.DollarsPer1000 <= base.DollarsPer1000
	lagOK := adaptive.LagP50 <= base.LagP50*4/10
	fmt.Printf("target: adaptive $%.3f ≤ baseline $%.3f per 1,000 jobs: %s; adaptive lag p50 %.1f s ≤ 40 %% of baseline's %.1f s: %s\n",
		adaptive.DollarsPer1000, base.DollarsPer1000, verdict(costOK), adaptive.LagP50.Seconds(), base.LagP50.Seconds(), verdict(lagOK))
	if !costOK || !lagOK {
		os.Exit(1)
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
