package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/apiload"
	"github.com/vidgen/vidgen/internal/local"
	"github.com/vidgen/vidgen/internal/logs"
)

// load adds issue 17's figures for the local runtime under load and the
// Lambda packages' sizes to ts. The functions' cold starts come from go
// test -bench (functions' BenchmarkColdStart, which make bench runs next):
// each needs the emulator and moto.
func load(template string, ts *targets) {
	lambdaSizes("build", ts)
	// Paced first, the target; then the closed loop, the capacity.
	for _, r := range []struct {
		pairs    int
		interval time.Duration
	}{{apiload.PacedPairs, apiload.PacedInterval}, {closedPairs, 0}} {
		if err := loadTest(template, r.pairs, r.interval, ts); err != nil {
			fmt.Fprintln(os.Stderr, "load test:", err)
			ts.add(loadFigure(r.interval), "not measured: "+err.Error(), fmt.Sprintf("≤ %v each, 0 errors", apiload.TargetP99), false)
		}
	}
}

// closedPairs is how many submit-and-query pairs the closed loop makes
// with apiload.TargetClients clients: 20 each, enough for a p99, in
// seconds. The paced run makes apiload.PacedPairs.
const closedPairs = 4000

// loadFigure names the figure of a load test paced at interval (0: the
// closed loop).
func loadFigure(interval time.Duration) string {
	if interval > 0 {
		return fmt.Sprintf("local runtime, %d clients each sending a submit or a query every %v, p99", apiload.TargetClients, interval)
	}
	return fmt.Sprintf("local runtime's capacity: %d clients in a closed loop (no pause), throughput and p99", apiload.TargetClients)
}

// maxPackage is issue 17's bound on each function's deployment package.
const maxPackage = 10 << 20

// lambdaSizes adds each function's zipped deployment package, as make
// build left it in buildDir, and its unzipped binary to ts. Without a build it says so and adds
// nothing: make bench builds first.
func lambdaSizes(buildDir string, ts *targets) {
	zips, err := filepath.Glob(filepath.Join(buildDir, "*.zip"))
	if err != nil || len(zips) == 0 {
		fmt.Printf("lambda sizes: no %s/*.zip; run make build first (make bench does)\n\n", buildDir)
		return
	}
	slices.Sort(zips)
	for _, z := range zips {
		fn := strings.TrimSuffix(filepath.Base(z), ".zip")
		zi, err := os.Stat(z)
		if err != nil {
			continue
		}
		measured := fmt.Sprintf("%.1f MiB zipped", float64(zi.Size())/(1<<20))
		bi, err := os.Stat(filepath.Join(buildDir, fn, "bootstrap"))
		if err == nil {
			measured += fmt.Sprintf(" (bootstrap %.1f MiB)", float64(bi.Size())/(1<<20))
		}
		ts.add("deployment package of "+fn, measured, "≤ 10 MiB zipped", zi.Size() <= maxPackage)
		// The binary itself, as Lambda unpacks it: the bound read strictly.
		if err == nil {
			ts.add("binary of "+fn+", unzipped", fmt.Sprintf("%.2f MiB (%d bytes)", float64(bi.Size())/(1<<20), bi.Size()), "≤ 10 MiB", bi.Size() <= maxPackage)
		}
	}
}

// loadTest runs make run's configuration of the local runtime, in a
// temporary directory, under apiload.TargetClients clients making pairs
// submit-and-query pairs, paced at interval (0: the closed loop), and
// adds the figure to ts: paced, issue 17's target (p99 ≤ 50 ms, 0
// errors); closed, the runtime's capacity, whose p99 is the clients over
// the throughput, reported with it (its goal: 0 errors).
// BenchmarkAPILatency (internal/local) measures the same with go test
// -bench.
func loadTest(template string, pairs int, interval time.Duration, ts *targets) error {
	dir, err := os.MkdirTemp("", "vidgen-bench-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	const key = "bench-key"
	env := map[string]string{
		"VIDGEN_ADDR":     "127.0.0.1:0",
		"VIDGEN_DATA_DIR": dir,
		"VIDGEN_TEMPLATE": template,
		"VIDGEN_API_KEYS": "bench:" + key,
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := local.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	// make run's logs, at its level, discarded: their cost is part of it.
	if cfg.Log, err = logs.FromEnv(getenv, io.Discard); err != nil {
		return err
	}
	defer local.SetGC(os.Getenv)() // make run's, as vidgen-local sets it
	rt, err := local.Start(cfg)
	if err != nil {
		return fmt.Errorf("start the local runtime: %w", err)
	}
	defer rt.Close()
	res := apiload.Run(context.Background(), apiload.Config{URL: rt.URL, Key: key, Clients: apiload.TargetClients, Pairs: pairs, Interval: interval})
	how := "in a closed loop (each request sent as soon as the last is answered)"
	if interval > 0 {
		how = fmt.Sprintf("paced (each client sends a request every %v)", interval)
	}
	fmt.Printf("local runtime under load: make run's configuration, %d clients each submitting a job and querying it, %s, %d pairs: %s (load average %s, %s)\n",
		apiload.TargetClients, how, pairs, res.Summary(), apiload.LoadAverage(), apiload.Pressure())
	for _, e := range res.FirstErrors {
		fmt.Println("  error:", e)
	}
	fmt.Println()
	p99 := fmt.Sprintf("submit %.1f ms, query %.1f ms, %d errors", apiload.MS(apiload.Percentile(res.Submits, 99)),
		apiload.MS(apiload.Percentile(res.Queries, 99)), res.Errors)
	if interval > 0 {
		ts.add(loadFigure(interval), p99, fmt.Sprintf("≤ %v each, 0 errors", apiload.TargetP99), res.Met(apiload.TargetP99))
		return nil
	}
	ts.add(loadFigure(interval), fmt.Sprintf("%.0f pairs/s; %s", res.Throughput(), p99),
		"reported (a closed loop's latency is clients ÷ throughput); 0 errors", len(res.Queries) > 0 && res.Errors == 0)
	return nil
}
