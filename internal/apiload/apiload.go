// Package apiload drives vidgen's HTTP API with concurrent clients, each
// submitting a job and then querying it, again and again, and measures
// each request's latency: the load benchmark of the local runtime
// (internal/local's BenchmarkAPILatency) and make bench's check of it
// (cmd/vidgen-bench) both run it.
//
// It drives in one of two ways. Closed loop (Config.Interval 0): each
// client sends its next request as soon as the last is answered, so the
// clients saturate the server, and the latency is what a request waits
// behind the others at the server's capacity (clients / throughput).
// Paced (Interval above 0): each client sends a request every Interval,
// as the CLI and the console do when they query a job, so the load is
// what the clients ask, not what the server can take, and the latency is
// the server's answer under that load.
package apiload

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vidgen/vidgen/client"
	"github.com/vidgen/vidgen/internal/clock"
)

// SubmitBody is the request every client submits: the reference's example.
const SubmitBody = `{"model":"gen3a_turbo","image_url":"https://example.com/mountain.jpg","prompt":"A dragon glides over a snowy mountain at dawn","aspect_ratio":"16:9","duration":5}`

// Config says what to drive and how hard.
type Config struct {
	// URL is the API's base URL, Key the API key sent as a bearer token.
	URL, Key string
	// Clients is how many clients run at once, each with one keep-alive
	// connection, each sending its next request when the last is answered.
	Clients int
	// Pairs is how many submit-and-query pairs the clients make in all.
	Pairs int
	// Interval, above 0, paces the clients: each makes its share of the
	// pairs sending a request every Interval, its submit and then its
	// query of that job in turn, the clients' schedules spread evenly over
	// one Interval; a request due before the last one's answer goes when
	// the answer comes. 0 is the closed loop: each client sends its next
	// request as soon as the last is answered, taking pairs while any are
	// left.
	Interval time.Duration
	// Clock paces the requests (Interval); nil is the wall clock.
	// Latencies are always measured on the wall clock.
	Clock clock.Clock
}

// PacedPairs is how many pairs a paced run of TargetClients clients
// makes: five each, a thousand requests of each kind for the p99, in 10 s
// at PacedInterval.
const PacedPairs = 5 * TargetClients

// PacedInterval is the paced runs' interval: the CLI's shortest pause
// between two queries of a job (client.DefaultMinPoll); the console waits
// longer.
const PacedInterval = client.DefaultMinPoll

// Result is what a run measured.
type Result struct {
	// Submits and Queries are the latencies of the requests answered as
	// they should be, sorted: from sending the request to reading the whole
	// answer.
	Submits, Queries []time.Duration
	// Errors counts the requests that failed: no answer, or not the answer
	// the API gives (a submit's 200 with the job's id, a query's 200 about
	// that job). A failed submit has no query.
	Errors int
	// FirstErrors describes up to a few of them.
	FirstErrors []string
	// Elapsed is the run's wall time.
	Elapsed time.Duration
}

// maxReported bounds Result.FirstErrors.
const maxReported = 5

// Run makes cfg.Pairs submit-and-query pairs with cfg.Clients clients. It
// stops early, counting nothing more, when ctx ends.
func Run(ctx context.Context, cfg Config) Result {
	transport := &http.Transport{MaxIdleConnsPerHost: cfg.Clients}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: time.Minute}
	submitURL := strings.TrimSuffix(cfg.URL, "/") + "/v2/video/generations"

	var (
		next atomic.Int64
		mu   sync.Mutex
		res  Result
		wg   sync.WaitGroup
	)
	fail := func(what string, status int, body []byte, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Errors++
		if len(res.FirstErrors) < maxReported {
			res.FirstErrors = append(res.FirstErrors, fmt.Sprintf("%s: HTTP %d %.200s %v", what, status, body, err))
		}
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	began, start := time.Now(), clk.Now()
	for i := range cfg.Clients {
		// A paced client's share of the pairs and its schedule: its first
		// request at its offset within the first Interval, each next one
		// Interval later.
		share := cfg.Pairs / cfg.Clients
		if i < cfg.Pairs%cfg.Clients {
			share++
		}
		due := start.Add(cfg.Interval * time.Duration(i) / time.Duration(cfg.Clients))
		// pace waits until the client's next request is due.
		pace := func() error {
			if cfg.Interval <= 0 {
				return ctx.Err()
			}
			wait := due.Sub(clk.Now())
			due = due.Add(cfg.Interval)
			if wait <= 0 {
				return ctx.Err()
			}
			return clk.Sleep(ctx, wait)
		}
		// more reports whether the client makes another pair.
		more := func() bool {
			if cfg.Interval > 0 {
				share--
				return share >= 0
			}
			return next.Add(1) <= int64(cfg.Pairs)
		}
		wg.Go(func() {
			var submits, queries []time.Duration
			for more() && pace() == nil {
				took, status, raw, err := call(ctx, hc, http.MethodPost, submitURL, cfg.Key, SubmitBody)
				var sub struct{ ID string }
				if err != nil || status != http.StatusOK || json.Unmarshal(raw, &sub) != nil || sub.ID == "" {
					fail("submit", status, raw, err)
					continue
				}
				submits = append(submits, took)
				if pace() != nil {
					break
				}
				took, status, raw, err = call(ctx, hc, http.MethodGet, submitURL+"?generation_id="+sub.ID, cfg.Key, "")
				if err != nil || status != http.StatusOK || !strings.Contains(string(raw), sub.ID) {
					fail("query", status, raw, err)
					continue
				}
				queries = append(queries, took)
			}
			mu.Lock()
			res.Submits, res.Queries = append(res.Submits, submits...), append(res.Queries, queries...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(began)
	slices.Sort(res.Submits)
	slices.Sort(res.Queries)
	return res
}

// call makes one request and reads the whole answer, returning how long
// that took.
func call(ctx context.Context, hc *http.Client, method, url, key, body string) (time.Duration, int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	began := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(began)
	if err != nil {
		return 0, resp.StatusCode, nil, fmt.Errorf("read the answer: %w", err)
	}
	return took, resp.StatusCode, raw, nil
}

// Percentile is the p-th percentile of the sorted ds (nearest rank), 0 for
// none.
func Percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ⌈p·n/100⌉, 1-based
	return sorted[max(rank, 1)-1]
}

// MS is d in milliseconds.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// Issue 17's goal for the local runtime under load: with TargetClients
// clients, every kind of request answered within TargetP99 at the 99th
// percentile, and none failing.
const (
	TargetClients = 200
	TargetP99     = 50 * time.Millisecond
)

// Met reports whether r meets the goal: some pairs made, none failed, and
// both the submits' and the queries' p99 within p99.
func (r Result) Met(p99 time.Duration) bool {
	return len(r.Queries) > 0 && r.Errors == 0 &&
		Percentile(r.Submits, 99) <= p99 && Percentile(r.Queries, 99) <= p99
}

// Throughput is the pairs answered per second of the run.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Queries)) / r.Elapsed.Seconds()
}

// Summary describes r in one line.
func (r Result) Summary() string {
	return fmt.Sprintf("submit p50 %.1f ms p99 %.1f ms, query p50 %.1f ms p99 %.1f ms, %d errors, %d pairs in %.1f s",
		MS(Percentile(r.Submits, 50)), MS(Percentile(r.Submits, 99)), MS(Percentile(r.Queries, 50)), MS(Percentile(r.Queries, 99)),
		r.Errors, len(r.Queries), r.Elapsed.Seconds())
}

// LoadAverage is the machine's 1-minute load average, the context of any
// latency measured on a shared machine, or "unknown".
func LoadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// Pressure is the machine's CPU and I/O pressure over the last 10 s, the
// kernel's PSI "some" averages: the share of the time some task waited
// for a CPU, or for the disk. A latency that waits for both (a submit
// waits for its record's commit, synced to disk) is read against them:
// the load average counts tasks, not what they wait for.
func Pressure() string {
	cpu, io := psi("cpu"), psi("io")
	if cpu == "" || io == "" {
		return "pressure unknown"
	}
	return fmt.Sprintf("CPU pressure %s %%, I/O pressure %s %%", cpu, io)
}

// psi reads a resource's pressure: its "some" line's avg10, or "".
func psi(resource string) string {
	raw, err := os.ReadFile("/proc/pressure/" + resource)
	if err != nil {
		return ""
	}
	return someAvg10(string(raw))
}

// someAvg10 is the avg10 of the "some" line of a PSI file, or "".
func someAvg10(psi string) string {
	for line := range strings.Lines(psi) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "some" {
			continue
		}
		for _, kv := range f[1:] {
			if v, ok := strings.CutPrefix(kv, "avg10="); ok {
				return v
			}
		}
	}
	return ""
}
