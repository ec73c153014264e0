package apiload

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeAPI answers submits with a new id, except every failEvery-th (0:
// none), and queries about any id it handed out.
func fakeAPI(t *testing.T, failEvery int64) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/video/generations" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		if r.Method == http.MethodPost {
			i := n.Add(1)
			if failEvery > 0 && i%failEvery == 0 {
				http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintf(w, `{"id":"job-%d","status":"queued"}`, i)
			return
		}
		fmt.Fprintf(w, `{"id":%q,"status":"queued"}`, r.URL.Query().Get("generation_id"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRunCountsEveryPair(t *testing.T) {
	srv := fakeAPI(t, 0)
	res := Run(context.Background(), Config{URL: srv.URL, Key: "k", Clients: 8, Pairs: 100})
	if res.Errors != 0 || len(res.Submits) != 100 || len(res.Queries) != 100 {
		t.Fatalf("errors %d, submits %d, queries %d; want 0, 100, 100 (%v)", res.Errors, len(res.Submits), len(res.Queries), res.FirstErrors)
	}
	if !res.Met(time.Hour) {
		t.Fatalf("a run without errors, within an hour, does not meet an hour: %s", res.Summary())
	}
}

// stopped is a clock that stands still and records the waits asked of it:
// each paced request waits exactly the time from the run's start to the
// moment it is due.
type stopped struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (c *stopped) Now() time.Time { return time.Unix(0, 0) }

func (c *stopped) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	return nil
}

// Paced, each client makes its share of the pairs, one request every
// Interval, the clients' schedules spread over the first Interval.
func TestRunPaced(t *testing.T) {
	srv := fakeAPI(t, 0)
	clk := &stopped{}
	res := Run(context.Background(), Config{URL: srv.URL, Key: "k", Clients: 4, Pairs: 10, Interval: time.Second, Clock: clk})
	if res.Errors != 0 || len(res.Submits) != 10 || len(res.Queries) != 10 {
		t.Fatalf("errors %d, submits %d, queries %d; want 0, 10, 10 (%v)", res.Errors, len(res.Submits), len(res.Queries), res.FirstErrors)
	}
	// Clients 0 and 1 make 3 pairs, 2 and 3 make 2; client i starts at
	// i/4 s. The first request of client 0 is due at once: no wait.
	var want []time.Duration
	for i, pairs := range []int{3, 3, 2, 2} {
		for k := range 2 * pairs {
			if d := time.Duration(i)*time.Second/4 + time.Duration(k)*time.Second; d > 0 {
				want = append(want, d)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(clk.waits)
	if !slices.Equal(clk.waits, want) {
		t.Errorf("waited %v, want %v", clk.waits, want)
	}
}

// late is a clock that moves ten seconds at each reading: every paced
// request is overdue by the time it is sent.
type late struct {
	stopped
	now atomic.Int64
}

func (c *late) Now() time.Time { return time.Unix(c.now.Add(10), 0) }

// A paced request due before the last one's answer goes at once.
func TestRunPacedLate(t *testing.T) {
	srv := fakeAPI(t, 0)
	clk := &late{}
	res := Run(context.Background(), Config{URL: srv.URL, Key: "k", Clients: 2, Pairs: 6, Interval: time.Second, Clock: clk})
	if res.Errors != 0 || len(res.Submits) != 6 || len(res.Queries) != 6 || len(clk.waits) != 0 {
		t.Fatalf("errors %d, submits %d, queries %d, waits %v; want 0, 6, 6 and none", res.Errors, len(res.Submits), len(res.Queries), clk.waits)
	}
}

func TestRunCountsFailures(t *testing.T) {
	srv := fakeAPI(t, 5)
	res := Run(context.Background(), Config{URL: srv.URL, Key: "k", Clients: 4, Pairs: 100})
	if res.Errors != 20 || len(res.Submits) != 80 || len(res.Queries) != 80 {
		t.Fatalf("errors %d, submits %d, queries %d; want 20, 80, 80", res.Errors, len(res.Submits), len(res.Queries))
	}
	if len(res.FirstErrors) != maxReported || !strings.Contains(res.FirstErrors[0], "HTTP 503") {
		t.Fatalf("first errors %q, want %d naming the 503", res.FirstErrors, maxReported)
	}
	if res.Met(time.Hour) {
		t.Fatal("a run with errors meets its goal")
	}
}

func TestRunCountsAWrongKeyAsErrors(t *testing.T) {
	srv := fakeAPI(t, 0)
	res := Run(context.Background(), Config{URL: srv.URL, Key: "wrong", Clients: 2, Pairs: 10})
	if res.Errors != 10 || len(res.Submits) != 0 {
		t.Fatalf("errors %d, submits %d; want every submit refused", res.Errors, len(res.Submits))
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 200; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    int
		want time.Duration
	}{{50, 100 * time.Millisecond}, {99, 198 * time.Millisecond}, {100, 200 * time.Millisecond}, {1, 2 * time.Millisecond}} {
		if got := Percentile(ds, c.p); got != c.want {
			t.Errorf("p%d = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
}

func TestMetNeedsBothKinds(t *testing.T) {
	fast, slow := []time.Duration{time.Millisecond}, []time.Duration{time.Second}
	for _, c := range []struct {
		name string
		r    Result
		want bool
	}{
		{"both fast", Result{Submits: fast, Queries: fast}, true},
		{"slow submits", Result{Submits: slow, Queries: fast}, false},
		{"slow queries", Result{Submits: fast, Queries: slow}, false},
		{"nothing answered", Result{}, false},
	} {
		if got := c.r.Met(50 * time.Millisecond); got != c.want {
			t.Errorf("%s: Met = %v, want %v", c.name, got, c.want)
		}
	}
}

// The pressure of a resource is its "some" line's avg10, whichever line
// comes first (the kernel's order, or a "full" line before it).
func TestSomeAvg10(t *testing.T) {
	for _, tc := range []struct{ psi, want string }{
		{"some avg10=25.66 avg60=36.83 avg300=24.40 total=5578398794\nfull avg10=5.44 avg60=10.47 avg300=5.78 total=1048864657\n", "25.66"},
		{"full avg10=5.44 avg60=1.00 avg300=0.00 total=1\nsome avg10=0.00 avg60=3.00 avg300=0.00 total=2", "0.00"},
		{"some avg60=3.00 total=2\n", ""},
		{"", ""},
	} {
		if got := someAvg10(tc.psi); got != tc.want {
			t.Errorf("someAvg10(%q) = %q, want %q", tc.psi, got, tc.want)
		}
	}
}
