// Command vidgen-bench runs the reference workload through the real state
// machine, handlers and simulator on a discrete-event clock under each poll
// policy (internal/costsim), and prints what each costs per job and how
// late it notices finished videos.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vidgen/vidgen/internal/costsim"
	"github.com/vidgen/vidgen/internal/job"
)

func main() {
	jobs := flag.Int("jobs", costsim.Reference().Jobs, "jobs in the workload")
	seed := flag.Uint64("seed", costsim.Reference().Seed, "workload seed")
	template := flag.String("template", "template.yaml", "the SAM template whose video_job to run")
	burstJobs := flag.Int("burst", 1000, "jobs submitted at once in the burst runs")
	only := flag.String("only", "", `run one section alone and print its targets: "batch10k" (the batch of 10,000), "mixed" (mixed models)`)
	flag.Parse()
	switch *only {
	case "":
	case "mixed":
		var ts targets
		timed("mixed models", func() { mixed(*template, costsim.PublishedPrices(), costsim.ModelLatencies(), &ts) })
		ts.write(os.Stdout)
		if ts.missed() > 0 {
			os.Exit(1)
		}
		return
	case "batch10k":
		var ts targets
		timed("batch of 10,000", func() { batch10k(*template, costsim.PublishedPrices(), &ts) })
		ts.write(os.Stdout)
		if ts.missed() > 0 {
			os.Exit(1)
		}
		return
	default:
		fmt.Fprintf(os.Stderr, "-only %q: no such section\n", *only)
		os.Exit(2)
	}

	w := costsim.Reference()
	w.Jobs, w.Seed = *jobs, *seed
	prices, lat := costsim.PublishedPrices(), costsim.ModelLatencies()
	fmt.Printf("workload: %d jobs arriving %.0f/s; 5-s videos median %s, 10-s (%.0f %%) median %s, log-normal σ %.2f; %.0f %% errors, %.0f %% long tails of %s–%s, %.0f %% never finish; job deadline 30 min\n",
		w.Jobs, w.Rate, w.Median5s, w.Share10s*100, w.Median10s, w.Sigma, w.Errors*100, w.LongTails*100, w.TailMin, w.TailMax, w.Never*100)
	costsim.WritePrices(os.Stdout, prices, lat)
	fmt.Println()

	var figures []costsim.Figures
	timed("poll policies", func() {
		policies := costsim.Policies()
		figures = parallel(len(policies), func(i int) costsim.Figures {
			p := policies[i]
			began := time.Now()
			res := inTempDir(p.Name, func(dir string) (costsim.Result, error) {
				return costsim.Run(context.Background(), costsim.Config{Workload: w, Policy: p, Latencies: lat,
					Template: *template, Deadline: 30 * time.Minute, Dir: dir})
			})
			f := res.Figures(prices)
			fmt.Fprintf(os.Stderr, "%s: %d jobs, %s simulated in %s; ends %v\n", p.Name, f.Jobs, f.Simulated.Round(time.Second), time.Since(began).Round(time.Millisecond), res.Statuses)
			return f
		})
	})
	costsim.WriteTable(os.Stdout, figures)
	fmt.Println()
	fmt.Println("$ per 1,000 jobs by service:")
	fmt.Println()
	costsim.WriteBreakdown(os.Stdout, figures)
	fmt.Println()
	timed("bursts", func() { burst(*template, *burstJobs, prices, lat) })
	timed("batches waiting for a slot", func() { batch(*template, *burstJobs, prices) })

	var ts targets
	timed("local runtime under load, package sizes", func() { load(*template, &ts) })
	timed("designs of the poll loop", func() { cost(*template, prices, lat, &ts) })
	base, adaptive := figures[0], figures[2]
	ts.add("adaptive cost per 1,000 jobs", fmt.Sprintf("$%.3f (%.2f× baseline $%.3f)", adaptive.DollarsPer1000, adaptive.DollarsPer1000/base.DollarsPer1000, base.DollarsPer1000),
		"≤ baseline", adaptive.DollarsPer1000 <= base.DollarsPer1000)
	ts.add("adaptive lag p50", fmt.Sprintf("%.1f s (%.2f× baseline %.1f s)", adaptive.LagP50.Seconds(), adaptive.LagP50.Seconds()/base.LagP50.Seconds(), base.LagP50.Seconds()),
		"≤ 0.4× baseline", adaptive.LagP50 <= base.LagP50*4/10)
	timed("learned model's convergence", func() { converge(*template, &ts) })
	timed("DynamoDB at scale", func() { dynamo(os.Stdout, &ts) })
	timed("batch of 10,000", func() { batch10k(*template, prices, &ts) })
	timed("mixed models", func() { mixed(*template, prices, lat, &ts) })
	ts.write(os.Stdout)
	if n := ts.missed(); n > 0 {
		fmt.Fprintf(os.Stderr, "%d of %d targets not met\n", n, len(ts))
		os.Exit(1)
	}
}

// burst submits n jobs at once against a simulator that refuses more than
// 50 generations in progress, without and with vidgen's caps.
func burst(template string, n int, prices costsim.Prices, lat costsim.Latencies) {
	const simMax = 50
	w := costsim.BurstOf(n)
	fmt.Printf("burst: %d jobs submitted at once (the last %.0f %% by a second tenant, b), adaptive policy; the simulator answers 429 (Retry-After 5 s) beyond %d generations in progress\n\n",
		n, w.BurstShareB*100, simMax)
	fmt.Println("| vidgen's caps | ended | lost | 429s | peak in progress | makespan | ideal | makespan / ideal | tenant b's jobs done, p50 | $ per 1,000 jobs |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	cases := []struct {
		name   string
		limits job.Limits
	}{
		{"none", job.Limits{}},
		{"50 in all", job.Limits{Global: simMax}},
		{"50 in all, 30 per tenant", job.Limits{Global: simMax, PerTenant: 30}},
	}
	results := parallel(len(cases), func(i int) costsim.Result {
		c := cases[i]
		return inTempDir("burst "+c.name, func(dir string) (costsim.Result, error) {
			return costsim.Run(context.Background(), costsim.Config{Workload: w, Policy: costsim.Policies()[2], Latencies: lat,
				Template: template, Deadline: 30 * time.Minute, Dir: dir, Limits: c.limits, SimMaxActive: simMax})
		})
	})
	for i, c := range cases {
		res := results[i]
		ideal, ratio := "–", "–"
		if res.Ideal > 0 {
			ideal = res.Ideal.Round(time.Second).String()
			ratio = fmt.Sprintf("%.3f", res.Makespan.Seconds()/res.Ideal.Seconds())
		}
		bDone := "–"
		if b := res.Done["b"]; len(b) > 0 {
			bDone = b[len(b)/2].Round(time.Second).String()
		}
		fmt.Printf("| %s | %d | %d | %d | %d | %s | %s | %s | %s | %.3f |\n", c.name, n-res.Open, res.Open, res.Throttled,
			res.PeakActive, res.Makespan.Round(time.Second), ideal, ratio, bDone, res.Figures(prices).DollarsPer1000)
	}
	fmt.Println()
}

// batch starts n jobs at once in their own executions (a batch's Map with
// max_concurrency n) for one tenant capped at 25 in flight: waiting for a
// slot as before (Submit every 10 s, deadline from registration) and
// parked on a task token.
func batch(template string, n int, prices costsim.Prices) {
	fmt.Printf("batch: %d items started at once (max_concurrency %d), one tenant capped at 25 generations in flight (50 in all), adaptive policy\n\n", n, n)
	fmt.Println("| waiting for a slot | ended | completed | timed out | transitions per job | makespan | $ per 1,000 jobs |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	cases := []struct {
		name     string
		slotLoop bool
	}{{"Submit every 10 s (before)", true}, {"parked on a task token", false}}
	results := parallel(len(cases), func(i int) costsim.Result {
		c := cases[i]
		return inTempDir("batch "+c.name, func(dir string) (costsim.Result, error) {
			return costsim.Run(context.Background(), costsim.BatchConfig(n, c.slotLoop, template, dir))
		})
	})
	for i, c := range cases {
		res := results[i]
		f := res.Figures(prices)
		fmt.Printf("| %s | %d | %d | %d | %.1f | %s | %.3f |\n", c.name, n-res.Open, res.Statuses["completed"],
			res.Statuses["error TimedOut"], f.Transitions, res.Makespan.Round(time.Second), f.DollarsPer1000)
	}
	fmt.Println()
}
