package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/notify/notifytest"
)

// starts records the executions the handler starts, or fails them all.
type starts struct {
	mu  sync.Mutex
	ids []string
	err error
}

func (s *starts) Start(_ context.Context, _, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.ids = append(s.ids, id)
	return nil
}

// keyMap resolves keys from a map; the real resolver (internal/apikey)
// has its own tests and depends on this package.
type keyMap map[string]string

func (k keyMap) Tenant(_ context.Context, key string) (string, error) {
	if tenant, ok := k[key]; ok {
		return tenant, nil
	}
	return "", apikey.ErrUnknown
}

// brokenKeys fails every lookup, as a key store outage would.
type brokenKeys struct{}

func (brokenKeys) Tenant(context.Context, string) (string, error) {
	return "", errors.New("key store unavailable")
}

// newHandler is a Handler whose every exchange is checked against the
// OpenAPI document (contract_test.go).
func newHandler(t *testing.T) (*checkedHandler, *starts, *boltstore.Store) {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys := keyMap{"keyA": "tenantA", "keyB": "tenantB"}
	st := &starts{}
	n := 0
	clk := clock.NewManual(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	return checked(t, &Handler{
		Log:   slog.New(slog.DiscardHandler),
		Store: store, Starter: st, Keys: keys, Deadline: 30 * time.Minute,
		CursorKey: func(context.Context) ([]byte, error) { return []byte("test cursor key"), nil },
		Clock:     clk,
		Sleeper:   clk, // retries of a failed start wait on the test's clock
		NewID:     func() string { n++; return "job-" + string(rune('0'+n)) },
	}), st, store
}

func request(method, path, key, ctype, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{RawPath: path, Headers: map[string]string{}, Body: body}
	req.RequestContext.HTTP.Method = method
	if key != "" {
		req.Headers["Authorization"] = "Bearer " + key // mixed case on purpose
	}
	if ctype != "" {
		req.Headers["content-type"] = ctype
	}
	return req
}

const validBody = `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`

func decode(t *testing.T, resp events.APIGatewayV2HTTPResponse) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	if resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("Content-Type = %q", resp.Headers["Content-Type"])
	}
	return m
}

func TestSubmitRecordsAndStarts(t *testing.T) {
	h, st, store := newHandler(t)
	resp, err := h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json; charset=utf-8", validBody))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s %v", resp.StatusCode, resp.Body, err)
	}
	if got := decode(t, resp); got["id"] != "job-1" || got["status"] != "queued" || len(got) != 2 {
		t.Fatalf("body = %v", got)
	}
	j, err := store.Get(t.Context(), "job-1")
	if err != nil {
		t.Fatal(err)
	}
	if j.Tenant != "tenantA" || j.Status != job.Queued || j.Deadline.Sub(j.CreatedAt) != 30*time.Minute || j.Request.Duration != 5 {
		t.Fatalf("record = %+v", j)
	}
	if len(st.ids) != 1 || st.ids[0] != "job-1" {
		t.Fatalf("started %v", st.ids)
	}
}

func TestBase64Body(t *testing.T) {
	h, _, _ := newHandler(t)
	req := request("POST", PathLegacy, "keyB", "application/json", base64.StdEncoding.EncodeToString([]byte(validBody)))
	req.IsBase64Encoded = true
	resp, _ := h.Handle(t.Context(), req)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	req.Body = "!!!"
	if resp, _ := h.Handle(t.Context(), req); resp.StatusCode != 400 {
		t.Fatalf("bad base64: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestStartFailureEndsTheJob(t *testing.T) {
	h, st, store := newHandler(t)
	st.err = errors.New("throttled")
	resp, _ := h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody))
	if resp.StatusCode != 503 || decode(t, resp)["error"].(map[string]any)["name"] != "ServiceUnavailable" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	j, err := store.Get(t.Context(), "job-1")
	if err != nil || j.Status != job.Failed || j.Error.Name != job.ErrNameInternal {
		t.Fatalf("an unstarted job must not stay queued: %+v %v", j, err)
	}
}

func TestKeyStoreOutageIs503(t *testing.T) {
	h, _, _ := newHandler(t)
	h.Keys = brokenKeys{}
	resp, _ := h.Handle(t.Context(), request("GET", PathGenerations, "keyA", "", ""))
	if resp.StatusCode != 503 || strings.Contains(resp.Body, "keyA") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
}

// Behind API Gateway the authorizer's tenant in the request context wins
// and no key is looked up; without a usable one the key is checked.
func TestAuthorizerContext(t *testing.T) {
	h, _, store := newHandler(t)
	h.Keys = brokenKeys{} // a lookup would fail the request
	req := request("POST", PathGenerations, "", "application/json", validBody)
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		Lambda: map[string]any{apikey.ContextTenant: "tenantB"},
	}
	if resp, _ := h.Handle(t.Context(), req); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if j, err := store.Get(t.Context(), "job-1"); err != nil || j.Tenant != "tenantB" {
		t.Fatalf("record = %+v, %v; want tenantB's job", j, err)
	}
	for _, lambda := range []map[string]any{nil, {apikey.ContextTenant: ""}, {apikey.ContextTenant: 42}, {"other": "tenantB"}} {
		req.RequestContext.Authorizer.Lambda = lambda
		if resp, _ := h.Handle(t.Context(), req); resp.StatusCode != 401 {
			t.Errorf("context %v without a key: %d %s, want 401", lambda, resp.StatusCode, resp.Body)
		}
	}
}

func TestQueryRendersTheUpstreamShape(t *testing.T) {
	h, _, store := newHandler(t)
	h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody))
	dur, credits := 5.0, 42.0
	at := time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC)
	if _, err := store.Update(t.Context(), "job-1", job.Change{At: at, Status: job.Completed, UpstreamID: "u",
		Video: &job.Video{URL: "https://cdn.example/v.mp4", Duration: &dur}, CreditsUsed: &credits}); err != nil {
		t.Fatal(err)
	}
	req := request("GET", PathGenerations+"/", "keyA", "", "")
	req.QueryStringParameters = map[string]string{"generation_id": "job-1"}
	resp, _ := h.Handle(t.Context(), req)
	want := `{"id":"job-1","status":"completed","video":{"url":"https://cdn.example/v.mp4","duration":5},"error":null,` +
		`"meta":{"usage":{"credits_used":42,"tokens_used":42}},"created_at":"2026-11-25T12:00:00Z","updated_at":"2026-11-25T12:01:00Z",` +
		`"model":"gen3a_turbo","polls":0,"ended_at":"2026-11-25T12:01:00Z"}`
	if resp.StatusCode != 200 || resp.Body != want {
		t.Fatalf("got  %s\nwant %s", resp.Body, want)
	}
	if strings.Contains(resp.Body, "tenant") || strings.Contains(resp.Body, "upstream_id") {
		t.Fatal("internal fields leak into the response")
	}
}

// Every answer of a job names the model it was submitted with: a query on
// each of its three paths, a list item and a cancel, for a gen3a_turbo job
// sent to the legacy route and another model's.
func TestAnswersNameTheModel(t *testing.T) {
	h, _, _ := newHandler(t)
	const kling = "klingai/v2.1-master-text-to-video"
	for _, sub := range []struct{ path, body string }{
		{PathLegacy, validBody},
		{PathGenerations, `{"model":"` + kling + `","prompt":"a fox in the snow"}`},
	} {
		if resp, _ := h.Handle(t.Context(), request("POST", sub.path, "keyA", "application/json", sub.body)); resp.StatusCode != 200 {
			t.Fatalf("submit %s to %s: %d %s", sub.body, sub.path, resp.StatusCode, resp.Body)
		}
	}
	want := map[string]string{"job-1": job.Model, "job-2": kling}
	for id, model := range want {
		for _, path := range []string{PathGenerations, PathLegacy, PathJobs + id} {
			req := request("GET", path, "keyA", "", "")
			if path != PathJobs+id {
				req.QueryStringParameters = map[string]string{"generation_id": id}
			}
			resp, _ := h.Handle(t.Context(), req)
			if got := decode(t, resp)["model"]; resp.StatusCode != 200 || got != model {
				t.Errorf("GET %s of %s: %d, model %v, want %s", path, id, resp.StatusCode, got, model)
			}
		}
	}
	req := request("GET", PathGenerations, "keyA", "", "")
	resp, _ := h.Handle(t.Context(), req)
	var page Page
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || len(page.Data) != 2 {
		t.Fatalf("list: %d %s", resp.StatusCode, resp.Body)
	}
	for _, g := range page.Data {
		if g.Model != want[g.ID] {
			t.Errorf("list item %s: model %q, want %s", g.ID, g.Model, want[g.ID])
		}
	}
	req = request("DELETE", PathGenerations, "keyA", "", "")
	req.QueryStringParameters = map[string]string{"generation_id": "job-2"}
	resp, _ = h.Handle(t.Context(), req)
	if got := decode(t, resp)["model"]; resp.StatusCode != 200 || got != kling {
		t.Errorf("cancel: %d, model %v, want %s", resp.StatusCode, got, kling)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h, st, store := newHandler(t)
	clk := h.Clock.(*clock.Manual)
	submit := func(key, idem, body string) events.APIGatewayV2HTTPResponse {
		req := request("POST", PathGenerations, key, "application/json", body)
		if idem != "" {
			req.Headers["Idempotency-Key"] = idem
		}
		resp, _ := h.Handle(t.Context(), req)
		return resp
	}
	first := submit("keyA", "order-17", validBody)
	// The same request with other whitespace, order and explicit defaults.
	same := `{ "image_url":"https://example.com/a.jpg", "duration":5, "model":"gen3a_turbo" }`
	again := submit("keyA", "order-17", same)
	if first.StatusCode != 200 || again.StatusCode != 200 || again.Body != first.Body || again.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("replay:\n%d %s\n%d %s %v", first.StatusCode, first.Body, again.StatusCode, again.Body, again.Headers)
	}
	if _, err := store.Get(t.Context(), "job-2"); !errors.Is(err, job.ErrNotFound) {
		t.Fatal("a replay created a second job")
	}
	other := submit("keyA", "order-17", `{"model":"gen3a_turbo","image_url":"https://example.com/b.jpg"}`)
	if other.StatusCode != 422 || decode(t, other)["error"].(map[string]any)["name"] != "IdempotencyKeyReused" {
		t.Fatalf("different body: %d %s", other.StatusCode, other.Body)
	}
	if resp := submit("keyB", "order-17", validBody); resp.StatusCode != 200 || resp.Body == first.Body {
		t.Fatalf("another tenant's key must make its own job: %s", resp.Body)
	}
	clk.Advance(job.IdempotencyTTL)
	if resp := submit("keyA", "order-17", validBody); resp.StatusCode != 200 || resp.Body == first.Body {
		t.Fatalf("an expired key must make a new job: %s", resp.Body)
	}
	for _, bad := range []string{strings.Repeat("k", job.MaxIdempotencyKey+1), "has space", "ünï"} {
		if resp := submit("keyA", bad, validBody); resp.StatusCode != 400 || !strings.Contains(resp.Body, "Idempotency-Key") {
			t.Errorf("key %q: %d %s", bad, resp.StatusCode, resp.Body)
		}
	}
	// Replays start the job again (harmless), so a job whose first submit
	// died before starting it still runs.
	if len(st.ids) != 4 || st.ids[0] != st.ids[1] {
		t.Fatalf("starts = %v", st.ids)
	}
}

func TestConcurrentDuplicateSubmits(t *testing.T) {
	h, _, _ := newHandler(t)
	var mu sync.Mutex
	n := 0
	h.NewID = func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("job-%d", n) }
	const callers = 32
	var wg sync.WaitGroup
	bodies := make(chan string, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := request("POST", PathGenerations, "keyA", "application/json", validBody)
			req.Headers["idempotency-key"] = "burst"
			resp, _ := h.Handle(context.Background(), req)
			if resp.StatusCode != 200 {
				t.Errorf("%d %s", resp.StatusCode, resp.Body)
			}
			bodies <- resp.Body
		}()
	}
	wg.Wait()
	close(bodies)
	seen := map[string]bool{}
	for b := range bodies {
		seen[b] = true
	}
	if len(seen) != 1 {
		t.Fatalf("%d different answers to one idempotent request: %v", len(seen), seen)
	}
}

func TestListAndCursors(t *testing.T) {
	h, _, store := newHandler(t)
	clk := h.Clock.(*clock.Manual)
	for range 5 {
		h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody))
		clk.Advance(time.Second)
	}
	h.Handle(t.Context(), request("POST", PathGenerations, "keyB", "application/json", validBody))
	if _, err := store.Update(t.Context(), "job-2", job.Fail(clk.Now(), job.ErrNameCancelled, "x")); err != nil {
		t.Fatal(err)
	}
	list := func(key string, q map[string]string) (int, Page, string) {
		req := request("GET", PathGenerations, key, "", "")
		req.QueryStringParameters = q
		resp, _ := h.Handle(t.Context(), req)
		var p Page
		json.Unmarshal([]byte(resp.Body), &p)
		return resp.StatusCode, p, resp.Body
	}
	var ids []string
	q := map[string]string{"limit": "2"}
	for range 4 {
		code, p, body := list("keyA", q)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		for _, g := range p.Data {
			ids = append(ids, g.ID)
		}
		if p.Next == nil {
			break
		}
		q = map[string]string{"limit": "2", "next": *p.Next}
	}
	if strings.Join(ids, ",") != "job-5,job-4,job-3,job-2,job-1" {
		t.Fatalf("listed %v", ids)
	}
	if _, p, _ := list("keyA", map[string]string{"status": "error"}); len(p.Data) != 1 || p.Data[0].ID != "job-2" || p.Next != nil {
		t.Fatalf("status filter: %+v", p)
	}
	if _, p, _ := list("keyB", nil); len(p.Data) != 1 || p.Data[0].ID != "job-6" {
		t.Fatalf("tenant B sees %+v", p)
	}
	if code, _, body := list("keyA", map[string]string{"limit": "0", "status": "done"}); code != 400 ||
		!strings.Contains(body, `"field":"limit"`) || !strings.Contains(body, `"field":"status"`) {
		t.Fatalf("bad parameters: %d %s", code, body)
	}

	_, first, _ := list("keyA", map[string]string{"limit": "2"})
	cursor := *first.Next
	payload, sig, _ := strings.Cut(cursor, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	raw[len(raw)/2] ^= 1
	altered := base64.RawURLEncoding.EncodeToString(raw) + "." + sig
	for name, tc := range map[string]struct {
		key string
		q   map[string]string
	}{
		"altered payload":       {"keyA", map[string]string{"next": altered}},
		"altered signature":     {"keyA", map[string]string{"next": payload + "." + sig[:len(sig)-2] + "AA"}},
		"no signature":          {"keyA", map[string]string{"next": payload}},
		"garbage":               {"keyA", map[string]string{"next": "%%%"}},
		"another tenant":        {"keyB", map[string]string{"next": cursor}},
		"another status filter": {"keyA", map[string]string{"next": cursor, "status": "queued"}},
	} {
		if code, _, body := list(tc.key, tc.q); code != 400 || !strings.Contains(body, `"field":"next"`) {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
}

func TestCancel(t *testing.T) {
	h, st, store := newHandler(t)
	h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody))
	h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody))
	cancel := func(key, id string) (int, map[string]any) {
		req := request("DELETE", PathGenerations, key, "", "")
		req.QueryStringParameters = map[string]string{"generation_id": id}
		resp, _ := h.Handle(t.Context(), req)
		return resp.StatusCode, decode(t, resp)
	}
	if code, _ := cancel("keyB", "job-1"); code != 404 {
		t.Fatalf("another tenant cancelled a job: %d", code)
	}
	code, body := cancel("keyA", "job-1")
	if code != 200 || body["status"] != "error" || body["error"].(map[string]any)["name"] != "Cancelled" {
		t.Fatalf("cancel: %d %v", code, body)
	}
	// The execution is left running: it finds the job ended and announces it.
	if len(st.ids) != 2 {
		t.Fatalf("starts %v", st.ids)
	}
	if code, body := cancel("keyA", "job-1"); code != 200 || body["error"].(map[string]any)["name"] != "Cancelled" {
		t.Fatalf("repeat cancel: %d %v", code, body)
	}
	if _, err := store.Update(t.Context(), "job-2", job.Change{At: time.Now(), Status: job.Completed, Video: &job.Video{URL: "https://v"}}); err != nil {
		t.Fatal(err)
	}
	if code, body := cancel("keyA", "job-2"); code != 409 || body["error"].(map[string]any)["name"] != "Conflict" {
		t.Fatalf("cancel finished job: %d %v", code, body)
	}
	if code, _ := cancel("keyA", ""); code != 400 {
		t.Fatalf("cancel without id: %d", code)
	}
}

// With an idempotency key, a submit whose start failed leaves the job
// queued, and the client's retry starts it instead of finding it dead.
func TestIdempotentRetryStartsAJobThatFailedToStart(t *testing.T) {
	h, st, store := newHandler(t)
	req := request("POST", PathGenerations, "keyA", "application/json", validBody)
	req.Headers["Idempotency-Key"] = "retry-me"
	st.err = errors.New("throttled")
	if resp, _ := h.Handle(t.Context(), req); resp.StatusCode != 503 {
		t.Fatalf("first submit: %d %s", resp.StatusCode, resp.Body)
	}
	if j, _ := store.Get(t.Context(), "job-1"); j.Status != job.Queued {
		t.Fatalf("the unstarted job must stay queued for the retry: %+v", j)
	}
	st.err = nil
	resp, _ := h.Handle(t.Context(), req)
	if resp.StatusCode != 200 || decode(t, resp)["id"] != "job-1" || len(st.ids) != 1 {
		t.Fatalf("retry: %d %s, started %v", resp.StatusCode, resp.Body, st.ids)
	}
}

// webhookMaster is the master key of the webhook secret tests.
var webhookMaster = []byte("api-test-webhook-master-key-0123456789")

func TestWebhookSecretRoute(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secrets Secrets // nil: the deployment has no webhooks
		req     events.APIGatewayV2HTTPRequest
		code    int
		errName string // of an error answer
		tenant  string // whose secret a 200 answers
	}{
		{name: "tenant A", secrets: notify.DerivedSecrets{Master: webhookMaster},
			req: request("GET", PathWebhookSecret, "keyA", "", ""), code: 200, tenant: "tenantA"},
		{name: "tenant B, trailing slash", secrets: notify.DerivedSecrets{Master: webhookMaster},
			req: request("GET", PathWebhookSecret+"/", "keyB", "", ""), code: 200, tenant: "tenantB"},
		{name: "no key", secrets: notify.DerivedSecrets{Master: webhookMaster},
			req: request("GET", PathWebhookSecret, "", "", ""), code: 401, errName: "Unauthorized"},
		{name: "unknown key", secrets: notify.DerivedSecrets{Master: webhookMaster},
			req: request("GET", PathWebhookSecret, "keyZ", "", ""), code: 401, errName: "Unauthorized"},
		{name: "POST", secrets: notify.DerivedSecrets{Master: webhookMaster},
			req: request("POST", PathWebhookSecret, "keyA", "application/json", "{}"), code: 405, errName: "MethodNotAllowed"},
		{name: "no webhooks", secrets: nil,
			req: request("GET", PathWebhookSecret, "keyA", "", ""), code: 404, errName: "NotFound"},
		{name: "secret unavailable", secrets: notify.DerivedSecrets{Master: []byte("short")},
			req: request("GET", PathWebhookSecret, "keyA", "", ""), code: 503, errName: "ServiceUnavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, st, _ := newHandler(t)
			h.WebhookSecrets = tc.secrets
			resp, err := h.Handle(t.Context(), tc.req)
			if err != nil || resp.StatusCode != tc.code {
				t.Fatalf("%d %s %v; want %d", resp.StatusCode, resp.Body, err, tc.code)
			}
			body := decode(t, resp)
			if len(st.ids) != 0 {
				t.Errorf("started %v", st.ids)
			}
			if tc.code != 200 {
				if body["error"].(map[string]any)["name"] != tc.errName {
					t.Errorf("error = %v, want %s", body["error"], tc.errName)
				}
				if strings.Contains(resp.Body, "whsec_") {
					t.Errorf("an error answer holds a secret: %s", resp.Body)
				}
				if tc.code == 405 && resp.Headers["Allow"] != "GET" {
					t.Errorf("Allow = %q, want GET", resp.Headers["Allow"])
				}
				return
			}
			if body["tenant"] != tc.tenant || body["secret"] != notifytest.Secret(t, webhookMaster, tc.tenant) {
				t.Errorf("body = %v, want %s's secret %s", body, tc.tenant, notifytest.Secret(t, webhookMaster, tc.tenant))
			}
			if resp.Headers["Cache-Control"] != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", resp.Headers["Cache-Control"])
			}
		})
	}
	// Behind API Gateway the authorizer's tenant names whose secret it is.
	h, _, _ := newHandler(t)
	h.WebhookSecrets = notify.DerivedSecrets{Master: webhookMaster}
	h.Keys = brokenKeys{}
	req := request("GET", PathWebhookSecret, "", "", "")
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		Lambda: map[string]any{apikey.ContextTenant: "tenantB"},
	}
	resp, _ := h.Handle(t.Context(), req)
	if resp.StatusCode != 200 || decode(t, resp)["secret"] != notifytest.Secret(t, webhookMaster, "tenantB") {
		t.Errorf("authorizer tenant: %d %s", resp.StatusCode, resp.Body)
	}
	if notifytest.Secret(t, webhookMaster, "tenantA") == notifytest.Secret(t, webhookMaster, "tenantB") {
		t.Error("two tenants share a secret")
	}
}

func TestSubmitCallbackURL(t *testing.T) {
	public := func(u string) error { return notify.CheckURL(u, false) }
	for _, tc := range []struct {
		name     string
		check    func(string) error
		callback string
		code     int
		message  string // of the callback_url field error
	}{
		{name: "accepted", check: public, callback: "https://hooks.example.com/v?token=abc", code: 200},
		{name: "refused by the check", check: public, callback: "http://127.0.0.1:9/hook", code: 400,
			message: "webhook destination not allowed: must use https"},
		{name: "loopback over https", check: public, callback: "https://127.0.0.1/hook", code: 400,
			message: "webhook destination not allowed"},
		{name: "no webhooks", check: nil, callback: "https://hooks.example.com/v", code: 400, message: "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, st, store := newHandler(t)
			h.CheckCallback = tc.check
			body := `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","callback_url":"` + tc.callback + `"}`
			resp, _ := h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", body))
			if resp.StatusCode != tc.code {
				t.Fatalf("%d %s, want %d", resp.StatusCode, resp.Body, tc.code)
			}
			got := decode(t, resp)
			if tc.code != 200 {
				e := got["error"].(map[string]any)
				fields, _ := e["fields"].([]any)
				if e["name"] != "ValidationError" || len(fields) != 1 {
					t.Fatalf("error = %v, want one field error", e)
				}
				f := fields[0].(map[string]any)
				if f["field"] != "callback_url" || !strings.HasPrefix(f["message"].(string), tc.message) {
					t.Errorf("field error = %v, want callback_url: %s", f, tc.message)
				}
				if _, err := store.Get(t.Context(), "job-1"); !errors.Is(err, job.ErrNotFound) || len(st.ids) != 0 {
					t.Errorf("a refused submit recorded or started a job: %v, %v", err, st.ids)
				}
				return
			}
			if got["id"] != "job-1" || len(got) != 2 {
				t.Errorf("body = %v", got)
			}
			j, err := store.Get(t.Context(), "job-1")
			if err != nil || j.CallbackURL != tc.callback || j.Tenant != "tenantA" {
				t.Fatalf("record = %+v, %v; want callback %s", j, err, tc.callback)
			}
			// A query answers the public view, which never shows the callback.
			q := request("GET", PathGenerations, "keyA", "", "")
			q.QueryStringParameters = map[string]string{"generation_id": "job-1"}
			if qr, _ := h.Handle(t.Context(), q); qr.StatusCode != 200 || strings.Contains(qr.Body, "hooks.example.com") {
				t.Errorf("query: %d %s", qr.StatusCode, qr.Body)
			}
		})
	}
}

// An idempotency key binds the callback too: a retry must send the same
// one.
func TestIdempotencyKeyWithCallback(t *testing.T) {
	h, st, store := newHandler(t)
	h.CheckCallback = func(u string) error { return notify.CheckURL(u, false) }
	submit := func(callback string) events.APIGatewayV2HTTPResponse {
		body := validBody
		if callback != "" {
			body = `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","callback_url":"` + callback + `"}`
		}
		req := request("POST", PathGenerations, "keyA", "application/json", body)
		req.Headers["Idempotency-Key"] = "order-42"
		resp, _ := h.Handle(t.Context(), req)
		return resp
	}
	first := submit("https://hooks.example.com/a")
	if first.StatusCode != 200 || decode(t, first)["id"] != "job-1" {
		t.Fatalf("first: %d %s", first.StatusCode, first.Body)
	}
	for _, tc := range []struct {
		name, callback string
		code           int
	}{
		{"same callback replays", "https://hooks.example.com/a", 200},
		{"another callback", "https://hooks.example.com/b", 422},
		{"no callback", "", 422},
	} {
		resp := submit(tc.callback)
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, resp.Body, tc.code)
			continue
		}
		if tc.code == 422 {
			if name := decode(t, resp)["error"].(map[string]any)["name"]; name != "IdempotencyKeyReused" {
				t.Errorf("%s: error %v, want IdempotencyKeyReused", tc.name, name)
			}
		} else if resp.Body != first.Body || resp.Headers["Idempotent-Replayed"] != "true" {
			t.Errorf("%s: %s %v, want the replay of %s", tc.name, resp.Body, resp.Headers, first.Body)
		}
	}
	if _, err := store.Get(t.Context(), "job-2"); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("a second job was recorded: %v", err)
	}
	if j, err := store.Get(t.Context(), "job-1"); err != nil || j.CallbackURL != "https://hooks.example.com/a" {
		t.Errorf("record = %+v, %v", j, err)
	}
	if len(st.ids) != 2 {
		t.Errorf("starts = %v, want the first and the replay", st.ids)
	}
}

// A key claimed without a callback still matches the same request without
// one: Submission.Hash equals HashRequest then.
func TestIdempotencyKeyWithoutCallbackStillMatches(t *testing.T) {
	h, _, store := newHandler(t)
	r, err := job.ParseRequest([]byte(validBody), job.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := h.Clock.Now().UTC()
	// A claim as one made before callbacks existed: over the request alone.
	old := job.Job{ID: "old-job", Tenant: "tenantA", Status: job.Queued, Request: r, CreatedAt: now, UpdatedAt: now, Deadline: now.Add(time.Hour)}
	claim := job.Claim{Tenant: "tenantA", Key: "legacy-key", RequestHash: job.HashRequest(r), JobID: old.ID, ExpiresAt: now.Add(job.IdempotencyTTL)}
	if _, err := store.CreateClaimed(t.Context(), old, claim, now); err != nil {
		t.Fatal(err)
	}
	h.CheckCallback = func(u string) error { return notify.CheckURL(u, false) }
	req := request("POST", PathGenerations, "keyA", "application/json", validBody)
	req.Headers["Idempotency-Key"] = "legacy-key"
	resp, _ := h.Handle(t.Context(), req)
	if resp.StatusCode != 200 || decode(t, resp)["id"] != "old-job" || resp.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("%d %s %v, want the replay of old-job", resp.StatusCode, resp.Body, resp.Headers)
	}
}

// The console's page and assets answer without a key, as their routes in
// template.yaml have no authorizer; other methods are refused in JSON.
func TestConsoleRoutes(t *testing.T) {
	h, _, _ := newHandler(t)
	// Each request, and the status and Content-Type it is answered with.
	for req, want := range map[[2]string]string{
		{"GET", "/"}:                   "200 text/html; charset=utf-8",
		{"GET", "/console/console.js"}: "200 text/javascript; charset=utf-8",
		{"GET", "/console/nothing.js"}: "404 application/json",
		{"POST", "/"}:                  "405 application/json",
	} {
		resp, err := h.Handle(t.Context(), request(req[0], req[1], "", "", ""))
		got := fmt.Sprintf("%d %s", resp.StatusCode, resp.Headers["Content-Type"])
		if err != nil || got != want || resp.Body == "" {
			t.Errorf("%s %s: %s %.60q %v, want %s", req[0], req[1], got, resp.Body, err, want)
		}
	}
}
