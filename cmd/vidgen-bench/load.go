package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
	if err := loadTest(template, loadPairs, ts); err != nil {
		fmt.Fprintln(os.Stderr, "load test:", err)
		ts.add(fmt.Sprintf("local runtime, %d clients, p99", apiload.TargetClients), "not measured: "+err.Error(),
			fmt.Sprintf("≤ %v each, 0 errors", apiload.TargetP99), false)
	}
}

// loadPairs is how many submit-and-query pairs the load test makes: 20
// each for 200 clients, enough for a p99, in seconds.
const loadPairs = 4000

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
// submit-and-query pairs, and adds the figure to ts. BenchmarkAPILatency
// (internal/local) measures the same with go test -bench.
func loadTest(template string, pairs int, ts *targets) error {
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
	res := apiload.Run(context.Background(), apiload.Config{URL: rt.URL, Key: key, Clients: apiload.TargetClients, Pairs: pairs})
	fmt.Printf("local runtime under load: make run's configuration, %d clients each submitting a job and querying it, %d pairs: %s (load average %s)\n",
		apiload.TargetClients, pairs, res.Summary(), apiload.LoadAverage())
	for _, e := range res.FirstErrors {
		fmt.Println("  error:", e)
	}
	fmt.Println()
	ts.add(fmt.Sprintf("local runtime, %d clients, p99", apiload.TargetClients),
		fmt.Sprintf("submit %.1f ms, query %.1f ms, %d errors", apiload.MS(apiload.Percentile(res.Submits, 99)),
			apiload.MS(apiload.Percentile(res.Queries, 99)), res.Errors),
		fmt.Sprintf("≤ %v each, 0 errors", apiload.TargetP99), res.Met(apiload.TargetP99))
	return nil
}
