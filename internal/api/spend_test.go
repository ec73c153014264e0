package api

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
)

const kling = "klingai/v2.1-master-text-to-video"

// spent records a job of tenant and model whose record carries credits,
// as Submit records the create's answer: the store counts them.
func spent(t *testing.T, store *boltstore.Store, id, tenant, model string, credits float64, at time.Time) {
	t.Helper()
	j := job.Job{ID: id, Tenant: tenant, Status: job.Queued, Request: job.Request{Model: model, Prompt: "p", Duration: 5},
		CreatedAt: at, UpdatedAt: at, Deadline: at.Add(time.Hour)}
	if err := store.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(t.Context(), id, job.Change{At: at, UpstreamID: "up-" + id, CreditsUsed: &credits}); err != nil {
		t.Fatal(err)
	}
}

func list(t *testing.T, h *checkedHandler, key string, query map[string]string) (int, map[string]any) {
	t.Helper()
	req := request("GET", PathGenerations, key, "", "")
	req.QueryStringParameters = query
	resp, err := h.Handle(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, decode(t, resp)
}

// The list answers the tenant's credits today, in all and by model, from
// the store's counters; the model filter lists only that model's jobs; a
// job's answer carries its own credits.
func TestListReportsUsageAndFiltersByModel(t *testing.T) {
	h, _, store := newHandler(t)
	now := h.Clock.Now()
	spent(t, store, "a1", "tenantA", job.Model, 10, now.Add(-2*time.Minute))
	spent(t, store, "a2", "tenantA", kling, 40, now.Add(-time.Minute))
	spent(t, store, "b1", "tenantB", kling, 5, now)
	spent(t, store, "a0", "tenantA", kling, 7, now.Add(-24*time.Hour)) // yesterday

	code, page := list(t, h, "keyA", nil)
	if code != 200 || len(page["data"].([]any)) != 3 {
		t.Fatalf("list: %d %v", code, page)
	}
	usage := page["usage"].(map[string]any)
	want := `map[by_model:map[gen3a_turbo:10 klingai/v2.1-master-text-to-video:40] credits_used:50 day:2026-11-25 resets_at:2026-11-26T00:00:00Z]`
	if got := fmt.Sprint(usage); got != want {
		t.Errorf("usage = %s, want %s", got, want)
	}

	code, page = list(t, h, "keyA", map[string]string{"model": kling})
	data := page["data"].([]any)
	if code != 200 || len(data) != 2 || data[0].(map[string]any)["id"] != "a2" || data[1].(map[string]any)["id"] != "a0" {
		t.Fatalf("model filter: %d %v", code, page)
	}
	if got := fmt.Sprint(page["usage"]); got != want {
		t.Errorf("usage under a filter = %s, want the tenant's whole day %s", got, want)
	}
	code, page = list(t, h, "keyA", map[string]string{"model": kling, "status": "queued", "limit": "1"})
	if code != 200 || len(page["data"].([]any)) != 1 || page["next"] == nil {
		t.Fatalf("model and status filter, first page: %d %v", code, page)
	}
	// The cursor is bound to the model filter too.
	if code, _ := list(t, h, "keyA", map[string]string{"status": "queued", "limit": "1", "next": page["next"].(string)}); code != 400 {
		t.Errorf("a model-filtered cursor without the filter: %d, want 400", code)
	}

	code, page = list(t, h, "keyA", map[string]string{"usage_day": "2026-11-24"})
	if u := page["usage"].(map[string]any); code != 200 || u["credits_used"] != 7.0 || u["day"] != "2026-11-24" {
		t.Errorf("yesterday's usage: %d %v", code, u)
	}
	code, page = list(t, h, "keyA", map[string]string{"model": "no-such-model", "usage_day": "yesterday"})
	if code != 400 || fmt.Sprint(fieldNames(page)) != "[model usage_day]" {
		t.Errorf("bad model and day: %d %v", code, page)
	}

	req := request("GET", PathGenerations, "keyA", "", "")
	req.QueryStringParameters = map[string]string{"generation_id": "a2"}
	resp, _ := h.Handle(t.Context(), req)
	g := decode(t, resp)
	if meta, _ := g["meta"].(map[string]any); resp.StatusCode != 200 || fmt.Sprint(meta) != "map[usage:map[credits_used:40 tokens_used:40]]" {
		t.Errorf("job answer: %d meta %v", resp.StatusCode, g["meta"])
	}
}

func fieldNames(body map[string]any) []string {
	var names []string
	e, _ := body["error"].(map[string]any)
	fields, _ := e["fields"].([]any)
	for _, f := range fields {
		names = append(names, f.(map[string]any)["field"].(string))
	}
	return names
}

// A tenant whose credits today reached the cap gets 429 SpendCapReached,
// naming the cap, the credits spent and when they reset, and nothing is
// recorded or started; other tenants, and the same tenant the next UTC
// day, are accepted. The list shows the cap.
func TestSubmitRefusedAtTheSpendCap(t *testing.T) {
	h, st, store := newHandler(t)
	h.SpendCap = &admission.SpendCap{Credits: 50, Store: store}
	now := h.Clock.Now()
	spent(t, store, "a1", "tenantA", job.Model, 20, now)
	post := func(key string) (int, map[string]any, map[string]string) {
		resp, err := h.Handle(t.Context(), request("POST", PathGenerations, key, "application/json", validBody))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, decode(t, resp), resp.Headers
	}
	if code, body, _ := post("keyA"); code != 200 {
		t.Fatalf("under the cap: %d %v", code, body)
	}
	spent(t, store, "a2", "tenantA", kling, 30, now) // 50: the cap
	started := len(st.ids)
	code, body, headers := post("keyA")
	if code != http.StatusTooManyRequests {
		t.Fatalf("at the cap: %d %v", code, body)
	}
	e := body["error"].(map[string]any)
	wantMsg := "the daily spend cap of 50 credits is reached: 50 credits recorded on 2026-11-25 (UTC); new jobs are admitted again from 2026-11-26T00:00:00Z"
	if e["name"] != "SpendCapReached" || e["message"] != wantMsg ||
		fmt.Sprint(e["spend_cap"]) != "map[credits_used:50 daily_cap:50 day:2026-11-25 resets_at:2026-11-26T00:00:00Z]" {
		t.Errorf("429 body: %v", body)
	}
	if headers["Retry-After"] != "43200" {
		t.Errorf("Retry-After = %q, want the 12 h to midnight", headers["Retry-After"])
	}
	if len(st.ids) != started {
		t.Errorf("a refused submit started %v", st.ids[started:])
	}
	if _, page := list(t, h, "keyA", nil); len(page["data"].([]any)) != 3 || page["usage"].(map[string]any)["daily_cap"] != 50.0 {
		t.Errorf("after the refusal: %v", page)
	}
	if code, body, _ := post("keyB"); code != 200 {
		t.Errorf("another tenant: %d %v", code, body)
	}
	h.Clock.(*clock.Manual).Advance(12 * time.Hour)
	if code, body, _ := post("keyA"); code != 200 {
		t.Errorf("the next day: %d %v", code, body)
	}
}

// A retry of a submit accepted before the cap was reached gets its job
// back, as any replay does, while the cap refuses new keys; the same key
// with another request is still refused as reused, and nothing new is
// recorded.
func TestReplayAnsweredAtTheSpendCap(t *testing.T) {
	h, _, store := newHandler(t)
	h.SpendCap = &admission.SpendCap{Credits: 50, Store: store}
	now := h.Clock.Now()
	post := func(idem, body string) (int, map[string]any, map[string]string) {
		req := request("POST", PathGenerations, "keyA", "application/json", body)
		req.Headers["Idempotency-Key"] = idem
		resp, err := h.Handle(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, decode(t, resp), resp.Headers
	}
	code, first, _ := post("order-1", validBody)
	if code != 200 {
		t.Fatalf("under the cap: %d %v", code, first)
	}
	spent(t, store, "a1", "tenantA", kling, 50, now) // the cap
	code, again, headers := post("order-1", validBody)
	if code != 200 || again["id"] != first["id"] || headers["Idempotent-Replayed"] != "true" {
		t.Errorf("retry at the cap: %d %v %v, want the replay of %v", code, again, headers, first["id"])
	}
	if code, body, _ := post("order-1", `{"model":"gen3a_turbo","image_url":"https://example.com/b.jpg"}`); code != http.StatusUnprocessableEntity {
		t.Errorf("same key, other request, at the cap: %d %v", code, body)
	}
	if code, body, _ := post("order-2", validBody); code != http.StatusTooManyRequests {
		t.Errorf("new key at the cap: %d %v", code, body)
	}
	if _, page := list(t, h, "keyA", nil); len(page["data"].([]any)) != 2 {
		t.Errorf("jobs after the cap: %v, want the first and the spent one", page["data"])
	}
}

// On a scaled clock (a local runtime's VIDGEN_TIME_SCALE) the refusal's
// message, resets_at and Retry-After tell the same wall-clock reset: the
// scaled clock's midnight stamped as wall time, rounded up to a whole
// second, and the wall seconds until then; the list's usage.resets_at is
// the same time.
func TestSpendCapAnswersWallTimesOnAScaledClock(t *testing.T) {
	h, _, store := newHandler(t)
	h.SpendCap = &admission.SpendCap{Credits: 50, Store: store}
	now := h.Clock.Now() // 2026-11-25T12:00:00Z on the scaled clock
	// The scaled clock read 11:00 at wall 10:00:00.25 and runs 20 times
	// faster: its 12:00 is wall 10:03:00.25 and its midnight wall
	// 10:39:00.25.
	run := clock.Run{From: now.Add(-time.Hour), At: time.Date(2026, 11, 25, 10, 0, 0, 250_000_000, time.UTC), Factor: 20}
	h.Stamp = run.Wall
	spent(t, store, "a1", "tenantA", job.Model, 50, now)

	resp, err := h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody))
	if err != nil {
		t.Fatal(err)
	}
	body := decode(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("at the cap: %d %v", resp.StatusCode, body)
	}
	e := body["error"].(map[string]any)
	const resets = "2026-11-25T10:39:01Z"
	wantMsg := "the daily spend cap of 50 credits is reached: 50 credits recorded on 2026-11-25 (UTC); new jobs are admitted again from " + resets
	if e["message"] != wantMsg || e["spend_cap"].(map[string]any)["resets_at"] != resets {
		t.Errorf("429 body: %v, want the message and resets_at to say %s", body, resets)
	}
	// From wall 10:03:00.25 to 10:39:01, rounded up.
	if got := resp.Headers["Retry-After"]; got != "2161" {
		t.Errorf("Retry-After = %q, want 2161 wall seconds", got)
	}

	_, page := list(t, h, "keyA", nil)
	if got := page["usage"].(map[string]any)["resets_at"]; got != resets {
		t.Errorf("usage.resets_at = %v, want %s", got, resets)
	}
}
