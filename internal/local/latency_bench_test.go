package local

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
)

// BenchmarkAPILatency drives the local runtime over real HTTP with
// concurrent clients, each submitting a job and then querying it, b.N
// submit-and-query pairs in all, and reports the latency percentiles of
// each kind of request in milliseconds: the HTTP calls' own durations, from
// sending the request to reading the whole answer.
//
// The runtime's clock runs timeScale times faster than real time, so the
// jobs submitted move through the video_job state machine (submit, polls,
// archive, finish) on the built-in simulator meanwhile, each in some tens
// of milliseconds: the API answers under the steady load of the jobs it
// accepted. clients=1 is the baseline, clients=32 the concurrent load.
//
// ns/op is the wall time per pair with all clients at work, the inverse of
// the throughput; B/op and allocs/op count everything the process
// allocates meanwhile, runtime, executions and clients together, not one
// request's share (internal/api's benchmarks measure that).
func BenchmarkAPILatency(b *testing.B) {
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchmarkAPILatency(b, clients) })
	}
}

func benchmarkAPILatency(b *testing.B, clients int) {
	cfg := testConfig(b)
	cfg.JobDeadline = 5 * time.Minute
	// make run's caps: every submit records the job waiting and admits.
	cfg.Limits = job.Limits{Global: DefaultMaxInFlight, PerTenant: DefaultMaxInFlightPerTenant}
	rt := start(b, cfg)
	// One keep-alive connection per client, as a client library keeps.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: time.Minute}
	b.Cleanup(client.CloseIdleConnections)
	const body = `{"model":"gen3a_turbo","image_url":"https://example.com/mountain.jpg","prompt":"A dragon glides over a snowy mountain at dawn","aspect_ratio":"16:9","duration":5}`

	var (
		next           atomic.Int64
		mu             sync.Mutex
		submits, gets  []time.Duration
		wg             sync.WaitGroup
		failed         atomic.Bool
		submitURL      = rt.URL + api.PathGenerations
		queryURLPrefix = rt.URL + api.PathGenerations + "?generation_id="
	)
	b.ResetTimer()
	for range clients {
		wg.Go(func() {
			var mySubmits, myGets []time.Duration
			for next.Add(1) <= int64(b.N) && !failed.Load() {
				took, status, raw, err := timedCall(client, http.MethodPost, submitURL, body)
				var sub struct{ ID string }
				if err != nil || status != http.StatusOK || json.Unmarshal(raw, &sub) != nil || sub.ID == "" {
					b.Errorf("submit: %d %s %v", status, raw, err)
					failed.Store(true)
					return
				}
				mySubmits = append(mySubmits, took)
				took, status, raw, err = timedCall(client, http.MethodGet, queryURLPrefix+sub.ID, "")
				if err != nil || status != http.StatusOK || !strings.Contains(string(raw), sub.ID) {
					b.Errorf("query: %d %s %v", status, raw, err)
					failed.Store(true)
					return
				}
				myGets = append(myGets, took)
			}
			mu.Lock()
			submits, gets = append(submits, mySubmits...), append(gets, myGets...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	if failed.Load() {
		return
	}
	b.ReportMetric(percentileMS(submits, 50), "submit-p50-ms")
	b.ReportMetric(percentileMS(submits, 99), "submit-p99-ms")
	b.ReportMetric(percentileMS(gets, 50), "query-p50-ms")
	b.ReportMetric(percentileMS(gets, 99), "query-p99-ms")
}

// timedCall makes one request with key A and reads the whole answer,
// returning how long that took.
func timedCall(client *http.Client, method, url, body string) (time.Duration, int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(began)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("read the answer: %w", err)
	}
	return took, resp.StatusCode, raw, nil
}

// percentileMS is the p-th percentile of ds in milliseconds (nearest rank);
// it sorts ds.
func percentileMS(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	rank := (p*len(ds) + 99) / 100 // ⌈p·n/100⌉, 1-based
	return float64(ds[max(rank, 1)-1].Microseconds()) / 1e3
}
