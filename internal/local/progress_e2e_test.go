package local

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
)

// Through the real runtime a job shows its progress: queued, then
// generating with polls counted and an eta, then completed with its end.
// The clock runs 20× (not the suite's 1000×) so that the generating phase
// (60 s of virtual time, 3 s real) outlasts the test's reads.
func TestProgressEndToEnd(t *testing.T) {
	cfg := testConfig(t)
	cfg.TimeScale = 20
	rt := start(t, cfg)
	r := call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=60 a slow dragon"}`)
	if r.status != 200 || r.body["status"] != "queued" {
		t.Fatalf("submit: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	var generating reply
	waitFor(t, func() bool {
		generating = call(t, "GET", rt.URL+api.PathJobs+id, keyA, "", "")
		return generating.body["status"] != "queued"
	})
	g := generating.body
	if g["status"] != "generating" {
		t.Fatalf("after queued: %s; want generating (a window of asks records it at once)", generating.raw)
	}
	if polls, _ := g["polls"].(float64); polls < 1 || g["last_checked_at"] == nil || g["started_at"] == nil || g["ended_at"] != nil {
		t.Errorf("generating: %s; want polls > 0, last_checked_at and started_at, no ended_at", generating.raw)
	}
	eta, _ := g["eta"].(map[string]any)
	if eta == nil || eta["at"] == nil || eta["earliest"] == nil || eta["latest"] == nil || eta["confidence"] != 0.8 {
		t.Errorf("generating: eta %v, want one with its interval at 0.8", g["eta"])
	}
	if exe := waitStarted(t, rt, id); exe.Status != states.Succeeded {
		t.Fatalf("execution %s: %+v", exe.Status, exe.Error)
	}
	done := call(t, "GET", rt.URL+api.PathJobs+id+"?wait=25", keyA, "", "")
	if done.body["status"] != "completed" || done.body["ended_at"] == nil || done.body["eta"] != nil {
		t.Errorf("completed: %s; want ended_at and no eta", done.raw)
	}
	if p, q := done.body["polls"].(float64), g["polls"].(float64); p <= q {
		t.Errorf("polls %v at the end, %v while generating; want more", p, q)
	}
}

// A long-poll on a job waiting for a slot answers when the job changes
// (here: cancelled by another request), well before its wait runs out. The
// clock runs at wall speed, so the 25-s wait cannot run out first.
func TestLongPollEndToEnd(t *testing.T) {
	cfg := testConfig(t)
	cfg.TimeScale = 1
	cfg.Limits = job.Limits{PerTenant: 1}
	rt := start(t, cfg)
	submit := func(prompt string) string {
		r := call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json",
			`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"`+prompt+`"}`)
		if r.status != 200 {
			t.Fatalf("submit: %d %s", r.status, r.raw)
		}
		return r.body["id"].(string)
	}
	submit("sim:never holds the slot")
	id := submit("waits for the slot")
	if r := call(t, "GET", rt.URL+api.PathJobs+id, keyA, "", ""); r.body["queue_position"] != 1.0 || r.body["eta"] != nil {
		t.Fatalf("waiting job: %s; want queue_position 1 and no eta", r.raw)
	}
	type answer struct {
		status int
		body   map[string]any
		err    error
	}
	answers := make(chan answer, 1)
	go func() { // reports rather than fails: only the test's goroutine may
		req, err := http.NewRequest("GET", rt.URL+api.PathGenerations+"?generation_id="+id+"&wait=25", nil)
		if err != nil {
			answers <- answer{err: err}
			return
		}
		req.Header.Set("Authorization", "Bearer "+keyA)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answers <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		a := answer{status: resp.StatusCode}
		a.err = json.NewDecoder(resp.Body).Decode(&a.body)
		answers <- a
	}()
	if r := call(t, "DELETE", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", ""); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	a := <-answers
	if a.err != nil {
		t.Fatal(a.err)
	}
	e, _ := a.body["error"].(map[string]any)
	if a.status != 200 || a.body["status"] != "error" || e["name"] != job.ErrNameCancelled || a.body["queue_position"] != nil {
		t.Errorf("long-poll: %d %v; want the cancelled job", a.status, a.body)
	}
}
