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
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// withCreateCredits makes the simulator's create answers carry
// meta.usage.credits_used, as the upstream's do, by adding it to the real
// answer on its way to the client.
func (e *env) withCreateCredits(credits float64) {
	e.tr.setAfter(func(r *http.Request, resp *http.Response) {
		if r.Method != http.MethodPost || resp.StatusCode != http.StatusOK {
			return
		}
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			e.t.Errorf("decode create answer: %v", err)
		}
		resp.Body.Close()
		body["meta"] = map[string]any{"usage": map[string]any{"credits_used": credits}}
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

// The create's answer carries the credits: Submit records them with the
// upstream id, and the tenant's spend counts them; the polls after it,
// which carry the same credits, count nothing more.
func TestSubmitRecordsTheCreditsOfTheCreate(t *testing.T) {
	e := newEnv(t)
	e.withCreateCredits(42)
	j := e.submitted(validRequest("a cat surfing", 5), jobDeadline)
	if j.CreditsUsed == nil || *j.CreditsUsed != 42 || j.UpstreamID == "" {
		t.Fatalf("record after submit: credits %v, upstream id %q; want 42 and an id", j.CreditsUsed, j.UpstreamID)
	}
	e.wantSpend("tenant-a", e.clk.Now(), 42, map[string]float64{job.Model: 42})
	e.clk.Advance(10 * time.Minute)
	out := e.poll(e.h, steps.Input{JobID: j.ID})
	if out.Status != job.Completed {
		t.Fatalf("poll: %+v, want completed", out)
	}
	// The simulator's poll reports 500,000 tokens at completion: the
	// record takes the last answer, and the counter its difference.
	if got := e.get(j.ID); got.CreditsUsed == nil || *got.CreditsUsed != 500_000 {
		t.Fatalf("credits after completion: %v", got.CreditsUsed)
	}
	e.wantSpend("tenant-a", e.clk.Now(), 500_000, map[string]float64{job.Model: 500_000})
}

// Credits first reported by a poll (the simulator reports them only at
// completion) are counted once.
func TestPollRecordsTheCreditsOnce(t *testing.T) {
	e := newEnv(t)
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
	e.withCreateCredits(60)
	e.h.SpendCap = &admission.SpendCap{Credits: 100, Store: e.store}
	e.submitted(validRequest("first", 5), jobDeadline)  // 60: under the cap
	e.submitted(validRequest("second", 5), jobDeadline) // admitted at 60, then 120: past it
	e.wantSpend("tenant-a", e.clk.Now(), 120, map[string]float64{job.Model: 120})

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
	for _, want := range []string{"cap of 100 credits", "120 credits recorded on 2026-03-01", "2026-03-02T00:00:00Z", "not submitted"} {
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
	e.wantSpend("tenant-a", e.clk.Now(), 60, map[string]float64{job.Model: 60})
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
