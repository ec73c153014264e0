package local

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
)

// VIDGEN_SPEND_CAP_CREDITS_PER_DAY sets the runtime's spend cap; anything
// but a number of credits ≥ 0 stops the start, naming the variable.
func TestSpendCapFromEnv(t *testing.T) {
	for value, want := range map[string]float64{"": 0, "0": 0, "2500000": 2_500_000} {
		cfg, err := ConfigFromEnv(func(k string) string {
			if k == "VIDGEN_SPEND_CAP_CREDITS_PER_DAY" {
				return value
			}
			return ""
		})
		if err != nil || cfg.SpendCap != want {
			t.Errorf("%q: cap %v, %v; want %v", value, cfg.SpendCap, err, want)
		}
	}
	for _, bad := range []string{"-5", "many", "+Inf", "-Inf", "NaN", "nan"} {
		_, err := ConfigFromEnv(func(k string) string {
			if k == "VIDGEN_SPEND_CAP_CREDITS_PER_DAY" {
				return bad
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), "VIDGEN_SPEND_CAP_CREDITS_PER_DAY") {
			t.Errorf("%q: %v, want an error naming the variable", bad, err)
		}
	}
}

// End to end over HTTP: a completed job's credits show in its answer and
// in its tenant's usage of the list, counted once; a tenant at the cap
// gets 429 SpendCapReached and nothing is recorded for it, and its job
// started directly ends SpendCapReached; both name a wall-clock reset.
func TestSpendCapEndToEnd(t *testing.T) {
	cfg := testConfig(t)
	cfg.SpendCap = 1_000_000
	rt := start(t, cfg)
	ctx := context.Background()

	// tenantB's job completes: the simulator charges a 5-s video 500,000.
	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyB, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"a dragon"}`)
	if exe.Status != states.Succeeded {
		t.Fatalf("execution %s: %+v", exe.Status, exe.Error)
	}
	r := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyB, "", "")
	meta, _ := r.body["meta"].(map[string]any)
	usage, _ := meta["usage"].(map[string]any)
	if r.status != 200 || usage["credits_used"] != 500_000.0 {
		t.Fatalf("job answer: %d %s", r.status, r.raw)
	}
	j, err := rt.Store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	day := job.Day(j.UpdatedAt) // the completing poll recorded the credits
	r = call(t, "GET", rt.URL+api.PathGenerations+"?usage_day="+day+"&model=gen3a_turbo", keyB, "", "")
	u, _ := r.body["usage"].(map[string]any)
	byModel, _ := u["by_model"].(map[string]any)
	if r.status != 200 || u["credits_used"] != 500_000.0 || byModel["gen3a_turbo"] != 500_000.0 || u["daily_cap"] != 1_000_000.0 || len(r.body["data"].([]any)) != 1 {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}

	// tenantA spent its cap: recorded today and tomorrow (virtual time), so
	// that a midnight passing during the test changes nothing.
	now := rt.Clock.Now()
	for i, at := range []time.Time{now, now.Add(24 * time.Hour)} {
		credits := 1_000_000.0
		jid := "spent-" + string(rune('a'+i))
		if err := rt.Store.Create(ctx, job.Job{ID: jid, Tenant: "tenantA", Status: job.Queued, Request: j.Request,
			CreatedAt: at, UpdatedAt: at, Deadline: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := rt.Store.Update(ctx, jid, job.Change{At: at, Status: job.Failed, Error: &job.Error{Name: "GenerationFailed", Message: "x"}, CreditsUsed: &credits}); err != nil {
			t.Fatal(err)
		}
	}
	before, _, _ := rt.Store.List(ctx, "tenantA", job.Filter{}, 100, "")
	wallBefore := time.Now()
	r = call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
	e, _ := r.body["error"].(map[string]any)
	if r.status != 429 || e["name"] != "SpendCapReached" || !strings.Contains(e["message"].(string), "cap of 1000000 credits") || e["spend_cap"] == nil {
		t.Fatalf("submit at the cap: %d %s", r.status, r.raw)
	}
	// On the scaled clock the refusal tells one wall-clock reset, in whole
	// seconds, within a scaled day (86.4 s) of now, and Retry-After is the
	// wall seconds until it.
	resets, _ := e["spend_cap"].(map[string]any)["resets_at"].(string)
	at, err := time.Parse(time.RFC3339, resets)
	scaledDay := time.Duration(float64(24*time.Hour) / timeScale)
	if err != nil || at.Nanosecond() != 0 || at.Before(wallBefore) || at.After(time.Now().Add(scaledDay+time.Second)) ||
		!strings.HasSuffix(e["message"].(string), "admitted again from "+resets) {
		t.Errorf("resets_at %q and message %q, want one wall-clock time in whole seconds within %v", resets, e["message"], scaledDay)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || time.Duration(ra)*time.Second > scaledDay+time.Second ||
		wallBefore.Add(time.Duration(ra)*time.Second).Before(at.Add(-time.Second)) {
		t.Errorf("Retry-After %q, want the wall seconds until %s", r.header.Get("Retry-After"), resets)
	}
	// The refused day's usage, which a midnight passing since cannot change.
	r = call(t, "GET", rt.URL+api.PathGenerations+"?usage_day="+e["spend_cap"].(map[string]any)["day"].(string), keyA, "", "")
	if u, _ := r.body["usage"].(map[string]any); r.status != 200 || u["resets_at"] != resets {
		t.Errorf("usage: %d %s, want resets_at %s", r.status, r.raw, resets)
	}
	if after, _, _ := rt.Store.List(ctx, "tenantA", job.Filter{}, 100, ""); len(after) != len(before) {
		t.Errorf("a refused submit recorded a job: %d jobs, had %d", len(after), len(before))
	}

	// A job started directly, which no 429 refuses, ends SpendCapReached
	// in its Submit step, naming the reset as a wall-clock time too.
	const direct = "direct-at-cap"
	if err := rt.Engine.Start(ctx, VideoJob, direct, json.RawMessage(
		`{"tenant":"tenantA","model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)); err != nil {
		t.Fatal(err)
	}
	if exe := waitExecution(t, rt, VideoJob, direct); exe.Status != states.Failed || exe.Error.Name != job.ErrNameSpendCap {
		t.Fatalf("direct start at the cap: %s %+v", exe.Status, exe.Error)
	}
	dj, err := rt.Store.Get(ctx, direct)
	if err != nil || dj.Error == nil {
		t.Fatalf("direct job: %+v %v", dj, err)
	}
	msg := dj.Error.Message
	_, told, ok := strings.Cut(msg, "admitted again from ")
	told, _, _ = strings.Cut(told, ";")
	at, err = time.Parse(time.RFC3339, told)
	if !ok || err != nil || at.Nanosecond() != 0 || at.Before(wallBefore) || at.After(time.Now().Add(scaledDay+time.Second)) {
		t.Errorf("direct job's message %q, want a wall-clock reset in whole seconds within %v", msg, scaledDay)
	}
}
