package simulator

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
)

func withPrompt(prompt string) string {
	return fmt.Sprintf(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":%q}`, prompt)
}

// polledActive counts the generations whose poll does not say they are
// over, the count Stats.Active must agree with.
func (f fixture) polledActive(t *testing.T, ids []string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		switch f.poll(t, id).Status {
		case "completed", "complete", "error": // "complete" in the legacy shape
		default:
			n++
		}
	}
	return n
}

func (f fixture) at(d time.Duration) { f.clock.Advance(t0.Add(d).Sub(f.clock.Now())) }

func TestActiveSequentialNeverExceedsOne(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		prompt string
		takes  time.Duration // from submit to the end
	}{
		{"", 28 * time.Second},
		{"sim:error", 28 * time.Second},
		{"sim:gen=0.5", 3500 * time.Millisecond},
		{"sim:status=busy", 28 * time.Second},
		{"sim:legacy", 28 * time.Second},
	} {
		id := f.submit(t, withPrompt(tt.prompt))
		// The next submit comes at the very moment this one ends, which
		// is already over then, as its poll says.
		f.clock.Advance(tt.takes)
		if n := f.polledActive(t, []string{id}); n != 0 {
			t.Fatalf("%q is still in progress after %v", tt.prompt, tt.takes)
		}
	}
	if st := f.sim.Stats(); st.PeakActive != 1 || st.Active != 0 {
		t.Fatalf("Stats = %+v, want PeakActive 1 and Active 0", st)
	}
}

func TestActiveOverlapping(t *testing.T) {
	f := newFixture(t)
	var ids []string
	steps := []struct {
		at           time.Duration
		submit       string // a prompt to submit at that time, if not "-"
		active, peak int
	}{
		{0, "", 1, 1},                         // A ends at 28 s
		{10 * time.Second, "ten", 2, 2},       // B, a 10-s video, ends at 58 s
		{20 * time.Second, "sim:gen=1", 3, 3}, // C ends at 24 s
		{24*time.Second - 1, "-", 3, 3},
		{24 * time.Second, "-", 2, 3},
		{28 * time.Second, "", 2, 3}, // A ends as D comes; D ends at 56 s
		{56 * time.Second, "-", 1, 3},
		{58 * time.Second, "-", 0, 3},
	}
	for _, step := range steps {
		f.at(step.at)
		switch step.submit {
		case "-":
		case "ten":
			ids = append(ids, f.submit(t, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","duration":10}`))
		default:
			ids = append(ids, f.submit(t, withPrompt(step.submit)))
		}
		st := f.sim.Stats()
		if st.Active != step.active || st.PeakActive != step.peak {
			t.Fatalf("at %v: Stats = %+v, want Active %d, PeakActive %d", step.at, st, step.active, step.peak)
		}
		if n := f.polledActive(t, ids); n != st.Active {
			t.Fatalf("at %v: polls show %d in progress, Stats.Active = %d", step.at, n, st.Active)
		}
	}
}

func TestActiveNeverAndVanish(t *testing.T) {
	f := newFixture(t)
	f.submit(t, withPrompt("sim:never"))
	f.submit(t, withPrompt("sim:never sim:error"))
	f.submit(t, withPrompt(""))
	f.submit(t, withPrompt("sim:vanish")) // answers 404: nobody waits on it
	if st := f.sim.Stats(); st.Active != 3 || st.PeakActive != 3 {
		t.Fatalf("Stats = %+v, want Active and PeakActive 3", st)
	}
	f.clock.Advance(1000 * time.Hour)
	f.submit(t, withPrompt(""))
	if st := f.sim.Stats(); st.Active != 3 || st.PeakActive != 3 || st.Submissions != 5 {
		t.Fatalf("Stats = %+v, want the 2 sim:never and the new one active, PeakActive 3", st)
	}
}

// TestActivePeakIsExact checks the peak against a count made the slow way,
// over generations of many lengths submitted at irregular times.
func TestActivePeakIsExact(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(1, 2))
	type span struct{ from, to time.Time }
	var spans []span
	wantPeak := 0
	for range 400 {
		f.clock.Advance(time.Duration(rng.IntN(4000)) * time.Millisecond) // 0 too: simultaneous submits
		gen := time.Duration(1+rng.IntN(60)) * time.Second
		f.submit(t, withPrompt(fmt.Sprintf("sim:gen=%g", gen.Seconds())))
		now := f.clock.Now()
		spans = append(spans, span{now, now.Add(DefaultQueueTime + gen)})
		n := 0
		for _, s := range spans {
			if now.Before(s.to) {
				n++
			}
		}
		wantPeak = max(wantPeak, n)
		if st := f.sim.Stats(); st.Active != n || st.PeakActive != wantPeak {
			t.Fatalf("after %d submits: Stats = %+v, want Active %d, PeakActive %d", len(spans), st, n, wantPeak)
		}
	}
}

func TestActiveScales(t *testing.T) {
	f := newFixture(t)
	// A submit each second of generations lasting 28 s: 28 at a time.
	const n = 10_000
	m, req := f.validated(t, validReq)
	for range n {
		f.sim.accept(m, req)
		f.clock.Advance(time.Second)
	}
	m, never := f.validated(t, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:never"}`)
	for range n {
		f.sim.accept(m, never)
	}
	// At the last submit, the last 27 of the first kind are still going.
	if st := f.sim.Stats(); st.Active != 27+n || st.PeakActive != 27+n {
		t.Fatalf("Stats = %+v, want Active and PeakActive %d", st, 27+n)
	}
}

func TestConcurrentActive(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if w := f.call(t, http.MethodPost, newRoute, testKey, validReq); w.Code != http.StatusOK {
				t.Errorf("submit: %d %s", w.Code, w.Body)
			}
		})
		wg.Go(func() { f.call(t, http.MethodGet, "/stats", testKey, "") })
	}
	wg.Wait()
	if st := f.sim.Stats(); st.Active != 50 || st.PeakActive != 50 {
		t.Fatalf("Stats = %+v, want 50 active at once", st)
	}
	f.clock.Advance(28 * time.Second)
	if st := f.sim.Stats(); st.Active != 0 || st.PeakActive != 50 {
		t.Fatalf("Stats = %+v, want none active and the peak kept", st)
	}
}

func TestStatsJSON(t *testing.T) {
	f := newFixture(t)
	f.submit(t, validReq)
	f.submit(t, validReq)
	f.clock.Advance(28 * time.Second)
	f.submit(t, withPrompt("sim:never"))
	w := f.call(t, http.MethodGet, "/stats", testKey, "")
	want := `{"submissions":3,"requests":2,"duplicated":1,"active":1,"peak_active":2,"throttled":0}` + "\n"
	if w.Code != http.StatusOK || w.Body.String() != want {
		t.Fatalf("GET /stats: %d %s, want %s", w.Code, w.Body, want)
	}
	if w := f.call(t, http.MethodGet, "/stats", "", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("GET /stats without a key: %d, want 401", w.Code)
	}
}

func TestActiveAfterRestart(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "sim.jsonl")
	c := clock.NewManual(t0)
	open := func() fixture { return openJournaled(t, journal, c) }
	f := open()
	done := f.submit(t, withPrompt("")) // ends at 28 s
	f.clock.Advance(20 * time.Second)
	f.submit(t, withPrompt(""))          // ends at 48 s
	f.submit(t, withPrompt("sim:never")) // never ends
	f.submit(t, withPrompt("sim:vanish"))
	f.clock.Advance(10 * time.Second)
	if st := f.sim.Stats(); st.Active != 2 || st.PeakActive != 3 {
		t.Fatalf("before the restart: Stats = %+v, want Active 2, PeakActive 3", st)
	}
	if err := f.sim.Close(); err != nil {
		t.Fatal(err)
	}

	f = open()
	if st := f.sim.Stats(); st.Submissions != 4 || st.Active != 2 || st.PeakActive != 2 {
		t.Fatalf("after the restart: Stats = %+v, want 4 submissions, Active and PeakActive 2", st)
	}
	if got := f.poll(t, done).Status; got != "completed" {
		t.Fatalf("restored generation: %q, want completed", got)
	}
	f.clock.Advance(18 * time.Second)
	f.submit(t, withPrompt(""))
	if st := f.sim.Stats(); st.Active != 2 || st.PeakActive != 2 {
		t.Fatalf("after a submit: Stats = %+v, want Active and PeakActive 2", st)
	}
	if !strings.Contains(f.call(t, http.MethodGet, "/stats", testKey, "").Body.String(), `"active":2`) {
		t.Fatal("GET /stats disagrees with Stats")
	}
}

// TestMaxActiveThrottles submits beyond MaxActive: the extra submits get
// 429 with Retry-After and are not accepted; once one ends, a submit is.
func TestMaxActiveThrottles(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	s := New(Config{Key: "k", Clock: clk, QueueTime: -1, MaxActive: 2})
	srv := httptest.NewServer(s)
	defer srv.Close()
	submit := func(gen int) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/v2/video/generations",
			strings.NewReader(fmt.Sprintf(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=%d"}`, gen)))
		req.Header.Set("Authorization", "Bearer k")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for i, want := range []int{200, 200, 429, 429} {
		if code, ra := submit(10 + i); code != want || (code == 429 && ra == "") {
			t.Fatalf("submit %d: %d (Retry-After %q), want %d", i, code, ra, want)
		}
	}
	clk.Advance(10 * time.Second) // the first ends
	if code, _ := submit(10); code != 200 {
		t.Fatalf("submit after a slot freed: %d", code)
	}
	if st := s.Stats(); st.Submissions != 3 || st.Throttled != 2 || st.PeakActive != 2 {
		t.Fatalf("stats %+v", st)
	}
}
