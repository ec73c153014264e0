package steps_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// withoutCreateCredits takes meta out of the simulator's create answers,
// as some of the upstream's documented create answers lack it, so that a
// poll is first to report the credits.
func (e *env) withoutCreateCredits() {
	e.tr.setAfter(func(r *http.Request, resp *http.Response) {
		if r.Method != http.MethodPost || resp.StatusCode != http.StatusOK {
			return
		}
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			e.t.Errorf("decode create answer: %v", err)
		}
		resp.Body.Close()
		if _, ok := body["meta"]; !ok {
			e.t.Errorf("the simulator's create answer has no meta: %v", body)
		}
		delete(body, "meta")
		data, _ := json.Marshal(body)
		resp.Body = io.NopCloser(bytes.NewReader(data))
		resp.ContentLength = int64(len(data))
		resp.Header.Del("Content-Length")
	})
}

func (e *env) wantSpend(tenant string, at time.Time, credits float64, byModel map[string]float64) {
	e.t.Helper()
	sp, err := e.store.Spend(e.t.Context(), tenant, job.Day(at))
	if err != nil {
		e.t.Fatal(err)
	}
	if sp.Credits != credits || !maps.Equal(sp.ByModel, byModel) {
		e.t.Errorf("spend of %s on %s = %+v, want %v by model %v", tenant, job.Day(at), sp, credits, byModel)
	}
}

// The create's answer carries the credits (the simulator's: 100,000 a
// second of gen3a_turbo): Submit records them with the upstream id, and
// the tenant's spend counts them; the polls after it, the completing one
// included, carry the same credits and count nothing more.
func TestSubmitRecordsTheCreditsOfTheCreate(t *testing.T) {
	e := newEnv(t)
	j := e.submitted(validRequest("a cat surfing", 5), jobDeadline)
	if j.CreditsUsed == nil || *j.CreditsUsed != 500_000 || j.UpstreamID == "" {
		t.Fatalf("record after submit: credits %v, upstream id %q; want 500000 and an id", j.CreditsUsed, j.UpstreamID)
	}
	e.wantSpend("tenant-a", e.clk.Now(), 500_000, map[string]float64{job.Model: 500_000})
	in := steps.Input{JobID: j.ID}
	for _, at := range []time.Duration{10 * time.Second, 20 * time.Second, done5} {
		e.clk.Advance(at - e.clk.Now().Sub(t0))
		in = carry(t, e.poll(e.h, in))
	}
	if got := e.get(j.ID); got.Status != job.Completed || got.CreditsUsed == nil || *got.CreditsUsed != 500_000 {
		t.Fatalf("record after completion: %+v", got)
	}
	e.wantSpend("tenant-a", e.clk.Now(), 500_000, map[string]float64{job.Model: 500_000})
}

// Credits first reported by a poll (a create answer without them) are
// recorded and counted by that poll, once.
func TestPollRecordsTheCreditsOnce(t *testing.T) {
	e := newEnv(t)
	e.withoutCreateCredits()
	j := e.submitted(validRequest("a cat surfing", 5), jobDeadline)
	if j.CreditsUsed != nil {
		t.Fatalf("credits before any were reported: %v", *j.CreditsUsed)
	}
	e.wantSpend("tenant-a", e.clk.Now(), 0, map[string]float64{})
	in := steps.Input{JobID: j.ID}
	for _, at := range []time.Duration{10 * time.Second, 20 * time.Second, done5} {
		e.clk.Advance(at - e.clk.Now().Sub(t0))
		in = carry(t, e.poll(e.h, in))
	}
	if got := e.get(j.ID); got.Status != job.Completed || got.CreditsUsed == nil || *got.CreditsUsed != 500_000 {
		t.Fatalf("record: %+v", got)
	}
	e.wantSpend("tenant-a", e.clk.Now(), 500_000, map[string]float64{job.Model: 500_000})
}

// Once a tenant's recorded credits today reach the cap, Submit ends its
// next job as SpendCapReached without asking the upstream, and gives back
// the slot it held; other tenants, and the same tenant the next UTC day,
// are submitted. This is what becomes of a job accepted before the cap
// was reached: one that waited for a slot (here), a batch's item, a
// direct start.
func TestSubmitRefusesATenantAtItsSpendCap(t *testing.T) {
	e := newEnv(t)
	e.h.SpendCap = &admission.SpendCap{Credits: 1_000_000, Store: e.store}
	e.submitted(validRequest("first", 5), jobDeadline)  // 500,000: under the cap
	e.submitted(validRequest("second", 5), jobDeadline) // admitted at 500,000, then 1,000,000: the cap
	e.wantSpend("tenant-a", e.clk.Now(), 1_000_000, map[string]float64{job.Model: 1_000_000})

	// A job that waited for a slot, admitted now.
	waited := e.newTenantJob("tenant-a", validRequest("third", 5), true)
	limits := job.Limits{Global: 10, PerTenant: 10}
	if _, err := e.store.Admit(t.Context(), waited.ID, limits, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	posts := e.tr.requests(http.MethodPost)
	out := e.submit(e.h, steps.Input{JobID: waited.ID})
	if out.Status != job.Failed || out.Submitted {
		t.Fatalf("Submit at the cap: %+v, want failed, not submitted", out)
	}
	got := e.get(waited.ID)
	wantFailed(t, got, job.ErrNameSpendCap)
	for _, want := range []string{"cap of 1000000 credits", "1000000 credits recorded on 2026-03-01", "2026-03-02T00:00:00Z", "not submitted"} {
		if !strings.Contains(got.Error.Message, want) {
			t.Errorf("message %q does not say %q", got.Error.Message, want)
		}
	}
	if n := e.tr.requests(http.MethodPost); n != posts {
		t.Errorf("%d submits sent upstream at the cap", n-posts)
	}
	if got.SubmitStarted != nil || got.CreditsUsed != nil || got.Slot {
		t.Errorf("a refused job claimed a submit, holds credits or a slot: %+v", got)
	}
	if f, err := e.store.InFlight(t.Context()); err != nil || f.Total != 0 {
		t.Errorf("slots in flight after the refusal: %+v, %v; want 0", f, err)
	}

	// Another tenant is not held back.
	b := e.newTenantJob("tenant-b", validRequest("tenant b", 5), false)
	if out := e.submit(e.h, steps.Input{JobID: b.ID}); !out.Submitted {
		t.Fatalf("another tenant's job: %+v, want submitted", out)
	}

	// The next UTC day the count starts again.
	e.clk.Advance(12 * time.Hour)
	next := e.newTenantJob("tenant-a", validRequest("tomorrow", 5), false)
	if out := e.submit(e.h, steps.Input{JobID: next.ID}); !out.Submitted {
		t.Fatalf("the next day: %+v, want submitted", out)
	}
	e.wantSpend("tenant-a", e.clk.Now(), 500_000, map[string]float64{job.Model: 500_000})
}

// On a scaled clock (a local runtime's, Handlers.Stamp mapping its times
// to wall times) a SpendCapReached end names the reset as the wall-clock
// time the API's 429 names, in whole seconds, not the fast clock's
// midnight.
func TestSpendCapEndNamesTheWallClockReset(t *testing.T) {
	e := newEnv(t)
	e.h.SpendCap = &admission.SpendCap{Credits: 500_000, Store: e.store}
	// The clock runs 7 times faster than the wall clock, which read 09:00
	// when it read t0 (12:00): its midnight, 12 hours on, is 6171.43 wall
	// seconds on, 10:42:51.43, told as 10:42:52.
	e.h.Stamp = clock.Run{From: t0, At: t0.Add(-3 * time.Hour), Factor: 7}.Wall
	e.submitted(validRequest("first", 5), jobDeadline) // 500,000: the cap
	j := e.newTenantJob("tenant-a", validRequest("second", 5), false)
	if out := e.submit(e.h, steps.Input{JobID: j.ID}); out.Status != job.Failed || out.Submitted {
		t.Fatalf("Submit at the cap: %+v, want failed, not submitted", out)
	}
	got := e.get(j.ID)
	wantFailed(t, got, job.ErrNameSpendCap)
	wall := admission.WallReset(job.NextDay(e.clk.Now()), e.h.Stamp)
	if want := time.Date(2026, 3, 1, 10, 42, 52, 0, time.UTC); !wall.Equal(want) {
		t.Fatalf("WallReset = %v, want %v", wall, want)
	}
	if msg := got.Error.Message; !strings.Contains(msg, "admitted again from 2026-03-01T10:42:52Z;") || strings.Contains(msg, "2026-03-02") {
		t.Errorf("message %q, want the wall-clock reset 2026-03-01T10:42:52Z, not the scaled midnight", msg)
	}
}

// newTenantJob stores a queued job of tenant created now, waiting for a
// slot if waiting.
func (e *env) newTenantJob(tenant string, req job.Request, waiting bool) job.Job {
	e.t.Helper()
	e.n++
	now := e.clk.Now()
	j := job.Job{ID: fmt.Sprintf("job-%d", e.n), Tenant: tenant, Status: job.Queued, Request: req,
		CreatedAt: now, UpdatedAt: now, Deadline: now.Add(jobDeadline), Waiting: waiting}
	if err := e.store.Create(e.t.Context(), j); err != nil {
		e.t.Fatal(err)
	}
	return j
}
