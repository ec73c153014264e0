package local

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
)

// TestBurstStaysUnderTheCaps submits 12 jobs of tenant A at once, then 4 of
// tenant B over HTTP and 2 of B as direct starts of the state machine,
// against a simulator that refuses more than 4 generations in progress,
// with caps of 4 in all and 3 per tenant: every job completes, the
// simulator never refuses one and never has more than 4 in progress, and B
// does not wait for A's backlog.
func TestBurstStaysUnderTheCaps(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits = job.Limits{Global: 4, PerTenant: 3}
	cfg.SimMaxActive = 4
	cfg.JobDeadline = time.Hour // at ×1000 each HTTP call costs seconds of virtual time
	// Generations long enough (0.3 s of real time each) that the slots
	// fill however slowly a loaded machine runs the steps in between: the
	// peak in progress below must reach the caps.
	cfg.SimGenerationTime = 5 * time.Minute
	rt := start(t, cfg)
	ctx := context.Background()
	submit := func(key string, i int) string {
		r := call(t, "POST", rt.URL+api.PathGenerations, key, "application/json",
			fmt.Sprintf(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"scene %d"}`, i))
		if r.status != 200 || r.body["status"] != "queued" {
			t.Fatalf("submit: %d %s", r.status, r.raw)
		}
		return r.body["id"].(string)
	}
	var a, b []string
	for i := range 12 {
		a = append(a, submit(keyA, i))
	}
	for i := range 4 {
		b = append(b, submit(keyB, i))
	}
	for i := range 2 {
		name := fmt.Sprintf("direct-b-%d", i)
		resp := call(t, "POST", rt.URL+"/local/state-machines/"+VideoJob+"/executions?name="+name, "", "application/json",
			fmt.Sprintf(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"direct %d","tenant":"tenantB"}`, i))
		if resp.status/100 != 2 {
			t.Fatalf("direct start: %d %s", resp.status, resp.raw)
		}
		b = append(b, name)
	}
	all := append(append([]string(nil), a...), b...)
	waitFor(t, func() bool {
		for _, id := range all {
			if j, err := rt.Store.Get(ctx, id); err != nil || !j.Status.Terminal() {
				return false
			}
		}
		return true
	})
	submitted := map[string]time.Time{}
	for _, id := range all {
		j, _ := rt.Store.Get(ctx, id)
		if j.Status != job.Completed || j.Slot || j.Waiting || j.SubmitStarted == nil {
			t.Fatalf("job %s ended %+v", id, j)
		}
		submitted[id] = *j.SubmitStarted
	}
	st := rt.Simulator.Stats()
	if st.Submissions != len(all) || st.Throttled != 0 || st.PeakActive > 4 || st.PeakActive < 3 {
		t.Fatalf("simulator: %+v; want %d submissions, none refused, at most 4 (and at least 3) in progress", st, len(all))
	}
	if f, _ := rt.Store.InFlight(ctx); f.Total != 0 || len(f.ByTenant) != 0 {
		t.Fatalf("slots still held after every job ended: %+v", f)
	}
	// Fair order: B's first job went upstream before A's last ones did,
	// though all of A's were waiting first.
	firstB, lastA := submitted[b[0]], submitted[a[len(a)-1]]
	for _, id := range b {
		firstB = minTime(firstB, submitted[id])
	}
	if !firstB.Before(lastA) {
		t.Fatalf("tenant B's first submit %s came after A's last %s", firstB, lastA)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// TestCancelWaitingJob cancels a job that waits for a slot: it ends
// Cancelled without ever going upstream, its end is announced like any
// other, and the slot it never had is not given back.
func TestCancelWaitingJob(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits = job.Limits{Global: 1}
	cfg.JobDeadline = time.Hour
	rt := start(t, cfg)
	ctx := context.Background()
	busy := call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=600"}`)
	waiting := call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"second"}`)
	id := waiting.body["id"].(string)
	if j, _ := rt.Store.Get(ctx, id); !j.Waiting || busy.status != 200 {
		t.Fatalf("second job: %+v (first: %s)", j, busy.raw)
	}
	r := call(t, "DELETE", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", "")
	if r.status != 200 || r.body["status"] != "error" {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	exe := waitExecution(t, rt, VideoJob, id)
	if exe.Status != states.Failed || exe.Error.Name != job.ErrNameCancelled || len(busEvents(t, rt)) != 1 {
		t.Fatalf("announcement: %s %+v, %d events", exe.Status, exe.Error, len(busEvents(t, rt)))
	}
	if f, _ := rt.Store.InFlight(ctx); f.Total != 1 {
		t.Fatalf("in flight %+v, want the first job's slot only", f)
	}
	if n := rt.Simulator.Stats().Submissions; n != 1 {
		t.Fatalf("%d submissions, want only the first job's", n)
	}
}
