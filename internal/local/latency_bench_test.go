package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/apiload"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
)

// BenchmarkAPILatency drives the local runtime over real HTTP with
// concurrent clients, each submitting a job and then querying it, b.N
// submit-and-query pairs in all (internal/apiload), and reports the latency
// percentiles of each kind of request in milliseconds, the HTTP calls' own
// durations from sending the request to reading the whole answer, and how
// many requests failed.
//
// clients=1 and clients=32 run the runtime's clock timeScale times faster
// than real time, so the jobs submitted move through the video_job state
// machine (submit, polls, archive, finish) on the built-in simulator
// meanwhile, each in some tens of milliseconds: the API answers under the
// steady load of the jobs it accepted.
//
// The make-run cases run make run's own configuration (ConfigFromEnv with
// nothing set but the address, the data directory and the keys; real
// time, its caps, its GOGC, its logs at info level, here discarded) under
// apiload.TargetClients clients. make-run/clients=200 is the closed loop,
// the runtime's capacity: it prints a "capacity:" line with the
// throughput. make-run/paced/clients=200 is issue 17's target: each client
// sends a request every apiload.PacedInterval, as the CLI does, and each
// op is one run of apiload.PacedPairs pairs (10 s); it prints the
// "target:" line.
//
// ns/op is, closed loop, the wall time per pair with all clients at work,
// the inverse of the throughput, and paced, the wall time of one paced
// run; B/op and allocs/op count everything the process allocates
// meanwhile, runtime, executions and clients together, not one request's
// share (internal/api's benchmarks measure that).
func BenchmarkAPILatency(b *testing.B) {
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			cfg := testConfig(b)
			cfg.JobDeadline = 5 * time.Minute
			// make run's caps: every submit records the job waiting and admits.
			cfg.Limits = job.Limits{Global: DefaultMaxInFlight, PerTenant: DefaultMaxInFlightPerTenant}
			benchmarkAPILatency(b, cfg, clients)
		})
	}
	var last apiload.Result
	name := fmt.Sprintf("make-run/clients=%d", apiload.TargetClients)
	ok := b.Run(name, func(b *testing.B) {
		defer SetGC(os.Getenv)() // make run's, as vidgen-local sets it
		last = benchmarkAPILatency(b, makeRunConfig(b), apiload.TargetClients)
	})
	if ok && len(last.Submits)+last.Errors > 0 {
		// Once, after the last of b.N's rounds.
		fmt.Printf("capacity: local runtime in a closed loop (%s, load average %s, %s): %.0f pairs/s, %s\n",
			name, apiload.LoadAverage(), apiload.Pressure(), last.Throughput(), last.Summary())
	}
	var paced apiload.Result
	name = fmt.Sprintf("make-run/paced/clients=%d", apiload.TargetClients)
	ok = b.Run(name, func(b *testing.B) {
		defer SetGC(os.Getenv)()
		for range b.N {
			rt := start(b, makeRunConfig(b))
			paced = apiload.Run(context.Background(), apiload.Config{URL: rt.URL, Key: keyA, Clients: apiload.TargetClients,
				Pairs: apiload.PacedPairs, Interval: apiload.PacedInterval})
		}
		report(b, paced)
	})
	if ok && len(paced.Submits)+paced.Errors > 0 {
		// In the form of make bench's other targets.
		fmt.Printf("target: local runtime under load (%s, a request per client every %v, load average %s, %s): %s, target p99 ≤ %v and 0 errors: %s\n",
			name, apiload.PacedInterval, apiload.LoadAverage(), apiload.Pressure(), paced.Summary(), apiload.TargetP99, verdict(paced.Met(apiload.TargetP99)))
	}
}

// makeRunConfig is make run's configuration, on a free port, in a
// temporary directory, with the tests' keys.
func makeRunConfig(b *testing.B) Config {
	env := map[string]string{
		"VIDGEN_ADDR":     "127.0.0.1:0",
		"VIDGEN_DATA_DIR": b.TempDir(),
		"VIDGEN_TEMPLATE": filepath.Join("..", "..", "template.yaml"),
		"VIDGEN_API_KEYS": "tenantA:" + keyA + ",tenantB:" + keyB,
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		b.Fatal(err)
	}
	if cfg.Log, err = logs.FromEnv(getenv, io.Discard); err != nil {
		b.Fatal(err)
	}
	return cfg
}

func benchmarkAPILatency(b *testing.B, cfg Config, clients int) apiload.Result {
	rt := start(b, cfg)
	b.ResetTimer()
	res := apiload.Run(context.Background(), apiload.Config{URL: rt.URL, Key: keyA, Clients: clients, Pairs: b.N})
	b.StopTimer()
	report(b, res)
	return res
}

// report logs res's first errors and reports its percentiles and errors.
func report(b *testing.B, res apiload.Result) {
	for _, e := range res.FirstErrors {
		b.Log(e)
	}
	b.ReportMetric(apiload.MS(apiload.Percentile(res.Submits, 50)), "submit-p50-ms")
	b.ReportMetric(apiload.MS(apiload.Percentile(res.Submits, 99)), "submit-p99-ms")
	b.ReportMetric(apiload.MS(apiload.Percentile(res.Queries, 50)), "query-p50-ms")
	b.ReportMetric(apiload.MS(apiload.Percentile(res.Queries, 99)), "query-p99-ms")
	b.ReportMetric(float64(res.Errors), "errors")
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "not met"
}
