package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vidgen/vidgen/internal/costsim"
)

// converge shows how a fresh deployment learns when the upstream is not
// what the prior (25 s and 45 s) says, an upstream 1.6× slower and one 2×
// faster, and when it is: each a fresh store, 1,000 jobs, lag per block of
// 50 in submission order (usual jobs only: long tails wait on the tail
// schedule whatever was learned).
func converge(template string, ts *targets) {
	const jobs, block = 1000, 50
	cases := []struct {
		name      string
		m5s, m10s time.Duration
		target    bool
	}{
		{"slower upstream (40 s, 75 s)", 40 * time.Second, 75 * time.Second, true},
		{"faster upstream (12 s, 22 s)", 12 * time.Second, 22 * time.Second, true},
		{"upstream as the prior (25 s, 45 s)", 25 * time.Second, 45 * time.Second, true},
	}
	var runs []costsim.Convergence
	for _, c := range cases {
		began := time.Now()
		r := inTempDir("converge "+c.name, func(dir string) (costsim.Convergence, error) {
			return costsim.Converge(context.Background(), costsim.ConvergeWorkload(jobs, c.m5s, c.m10s), block, template, dir)
		})
		fmt.Fprintf(os.Stderr, "converge %s: %d jobs in %s\n", c.name, jobs, time.Since(began).Round(time.Millisecond))
		runs = append(runs, r)
	}
	fmt.Printf("one learned model: a fresh deployment (no learned times: every function starts from the prior, 25 s and 45 s) runs %d jobs of the reference mix against an upstream that is, or is not, what the prior says; mean detection lag of the usual jobs per block of %d, in submission order\n\n", jobs, block)
	fmt.Print("| jobs |")
	for _, c := range cases {
		fmt.Printf(" %s |", c.name)
	}
	fmt.Println()
	fmt.Print("| --- |")
	for range cases {
		fmt.Print(" --- |")
	}
	fmt.Println()
	for i, b := range runs[0].Blocks {
		fmt.Printf("| %d–%d |", b.From, b.To)
		for _, r := range runs {
			fmt.Printf(" %.2f s |", r.Blocks[i].Mean.Seconds())
		}
		fmt.Println()
	}
	r0 := runs[0]
	fmt.Printf("| %d–%d (early) |", r0.EarlyFrom, r0.EarlyTo)
	for _, r := range runs {
		fmt.Printf(" %.2f s |", r.Early.Seconds())
	}
	fmt.Printf("\n| %d–%d (steady state) |", r0.SteadyFrom, jobs)
	for _, r := range runs {
		fmt.Printf(" %.2f s |", r.Steady.Seconds())
	}
	fmt.Println()
	fmt.Println()
	for i, c := range cases {
		r := runs[i]
		if !c.target {
			continue
		}
		ts.add("learned model converged by job 200, "+c.name,
			fmt.Sprintf("lag of jobs %d–%d %.2f s = %.2f× steady state %.2f s", r.EarlyFrom, r.EarlyTo, r.Early.Seconds(), r.Ratio, r.Steady.Seconds()),
			"≤ 1.10× steady state", r.Ratio <= 1.10)
	}
}
