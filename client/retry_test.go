package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/client"
	"github.com/vidgen/vidgen/webhook"
)

// fakeClock never blocks: Sleep records the wait and moves time on.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// scripted serves the answers in turn (the last one again once they run
// out) and records each request.
type scripted struct {
	mu       sync.Mutex
	answers  []func(w http.ResponseWriter)
	requests []*http.Request
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i := min(len(s.requests), len(s.answers)-1)
	s.requests = append(s.requests, r)
	answer := s.answers[i]
	s.mu.Unlock()
	answer(w)
}

func (s *scripted) seen() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func answer(status int, header map[string]string, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// hangUp drops the connection without an answer.
func hangUp(http.ResponseWriter) { panic(http.ErrAbortHandler) }

func serve(t *testing.T, answers ...func(http.ResponseWriter)) (*scripted, *fakeClock, *client.Client) {
	t.Helper()
	s := &scripted{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	clk := newFakeClock()
	c, err := client.New(srv.URL, "k", client.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	return s, clk, c
}

const queued = `{"id":"j1","status":"queued","video":null,"error":null,"meta":null,"created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:00:00Z"}`

// 429 and 503 are retried after exactly the Retry-After they give (seconds
// or an HTTP date); every attempt of a submit carries the same
// Idempotency-Key.
func TestRetryAfter(t *testing.T) {
	// The date is 42 s from the start: 35 s after the first wait.
	at := newFakeClock().now.Add(42 * time.Second).Format(http.TimeFormat)
	s, clk, c := serve(t,
		answer(503, map[string]string{"Retry-After": "7"}, `{"error":{"name":"ServiceUnavailable","message":"try later"}}`),
		answer(429, map[string]string{"Retry-After": at}, `{"message":"Too Many Requests"}`),
		answer(202, nil, queued))
	g, err := c.Submit(t.Context(), vidgen.Request{ImageURL: image})
	if err != nil || g.ID != "j1" {
		t.Fatalf("Submit = %+v, %v", g, err)
	}
	if got, want := clk.slept(), []time.Duration{7 * time.Second, 35 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
	reqs := s.seen()
	key := reqs[0].Header.Get(client.HeaderIdempotencyKey)
	for i, r := range reqs {
		if r.Header.Get(client.HeaderIdempotencyKey) != key || key == "" {
			t.Errorf("attempt %d: Idempotency-Key %q, first %q", i, r.Header.Get(client.HeaderIdempotencyKey), key)
		}
		if r.Header.Get("Authorization") != "Bearer k" {
			t.Errorf("attempt %d: Authorization %q", i, r.Header.Get("Authorization"))
		}
	}
}

// Without Retry-After, 5xx answers and dropped connections are retried
// after growing, jittered backoffs; after the last retry the error is the
// API's, typed.
func TestRetryBackoff(t *testing.T) {
	fail := answer(500, nil, `{"error":{"name":"InternalError","message":"boom"}}`)
	s, clk, c := serve(t, hangUp, fail)
	_, err := c.Get(t.Context(), "j1")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 500 || ae.Name != "InternalError" || ae.Message != "boom" {
		t.Fatalf("err = %v, want the 500 as an APIError", err)
	}
	if n := len(s.seen()); n != client.DefaultRetries+1 {
		t.Errorf("%d attempts, want %d", n, client.DefaultRetries+1)
	}
	waits := clk.slept()
	if len(waits) != client.DefaultRetries {
		t.Fatalf("waits = %v", waits)
	}
	for i, w := range waits {
		ceiling := client.DefaultMinBackoff << i
		if w < ceiling/2 || w > ceiling {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w, ceiling/2, ceiling)
		}
	}
}

// Answer keeps the submit's answer as the API sent it, which names fewer
// fields than the Generation Submit returns.
func TestSubmitAnswer(t *testing.T) {
	const sent = `{"id":"j1","status":"queued"}`
	_, _, c := serve(t, answer(200, nil, sent))
	var raw json.RawMessage
	g, err := c.Submit(t.Context(), vidgen.Request{ImageURL: image}, client.Answer(&raw))
	if err != nil || g.ID != "j1" || g.Status != vidgen.Queued || string(raw) != sent {
		t.Errorf("Submit = %+v, %v; answer %s, want %s", g, err, raw, sent)
	}
}

// A 429 SpendCapReached is not retried, whatever its Retry-After: the cap
// holds until UTC midnight, so Submit and SubmitBatch return it at once.
func TestNoRetryAtTheSpendCap(t *testing.T) {
	refusal := answer(429, map[string]string{"Retry-After": "43200"}, `{"error":{"name":"SpendCapReached",
		"message":"the daily spend cap of 50 credits is reached: 50 credits recorded on 2026-03-01 (UTC); new jobs are admitted again from 2026-03-02T00:00:00Z",
		"spend_cap":{"daily_cap":50,"credits_used":50,"day":"2026-03-01","resets_at":"2026-03-02T00:00:00Z"}}}`)
	s, clk, c := serve(t, refusal, answer(202, nil, queued))
	_, err := c.Submit(t.Context(), vidgen.Request{ImageURL: image})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 429 || ae.Name != client.ErrNameSpendCapReached || ae.Temporary() ||
		!strings.Contains(ae.Message, "admitted again from 2026-03-02T00:00:00Z") {
		t.Fatalf("Submit: %v, want the 429 SpendCapReached, permanent", err)
	}
	if len(s.seen()) != 1 || len(clk.slept()) != 0 {
		t.Errorf("Submit: %d attempts, waits %v: want one attempt, no wait", len(s.seen()), clk.slept())
	}

	s, clk, c = serve(t, refusal, answer(202, nil, queued))
	results := c.SubmitBatch(t.Context(), []vidgen.Request{{ImageURL: image}}, client.BatchOptions{})
	if len(results) != 1 || !errors.As(results[0].Err, &ae) || ae.Name != client.ErrNameSpendCapReached {
		t.Fatalf("SubmitBatch = %+v, want the item refused SpendCapReached", results)
	}
	if len(s.seen()) != 1 || len(clk.slept()) != 0 {
		t.Errorf("SubmitBatch: %d attempts, waits %v: want one attempt, no wait", len(s.seen()), clk.slept())
	}
}

// 4xx answers other than 429 are not retried; API Gateway's bare
// {"message"} refusals are typed too.
func TestNoRetryOnClientErrors(t *testing.T) {
	s, clk, c := serve(t, answer(400, nil, `{"error":{"name":"ValidationError","message":"invalid request: check duration",
		"fields":[{"field":"duration","message":"must be 5 or 10"}]}}`))
	_, err := c.Submit(t.Context(), vidgen.Request{ImageURL: image, Duration: 7})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Temporary() {
		t.Fatalf("err = %v, want a permanent APIError", err)
	}
	if msg, ok := ae.Field("duration"); !ok || msg != "must be 5 or 10" {
		t.Errorf("Field(duration) = %q, %v", msg, ok)
	}
	if len(s.seen()) != 1 || len(clk.slept()) != 0 {
		t.Errorf("%d attempts, waits %v: want one attempt, no wait", len(s.seen()), clk.slept())
	}

	_, _, c = serve(t, answer(403, nil, `{"message":"Forbidden"}`))
	if _, err := c.Get(t.Context(), "j1"); !errors.As(err, &ae) || ae.StatusCode != 403 || ae.Message != "Forbidden" || ae.Name != "" {
		t.Errorf("API Gateway refusal: err = %#v", err)
	}
}

// Against a server that ignores wait=N and answers at once, Wait pauses
// between unchanged answers, longer each time, and resets after a change;
// progress sees only the answers that changed.
func TestWaitBacksOffOnUnchangedAnswers(t *testing.T) {
	generating := `{"id":"j1","status":"generating","created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:00:05Z"}`
	completed := `{"id":"j1","status":"completed","video":{"url":"https://cdn.example.com/v.mp4"},"created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:00:30Z"}`
	q, gen := answer(200, nil, queued), answer(200, nil, generating)
	s, clk, c := serve(t, q, q, q, q, gen, gen, answer(200, nil, completed))
	var seen []vidgen.Status
	g, err := c.Wait(t.Context(), "j1", func(g vidgen.Generation) { seen = append(seen, g.Status) })
	if err != nil || g.Status != vidgen.Completed {
		t.Fatalf("Wait = %+v, %v", g, err)
	}
	if want := []vidgen.Status{vidgen.Queued, vidgen.Generating, vidgen.Completed}; !slices.Equal(seen, want) {
		t.Errorf("progress saw %v, want %v", seen, want)
	}
	s1 := client.DefaultMinPoll
	if got, want := clk.slept(), []time.Duration{s1, 2 * s1, 4 * s1, s1}; !slices.Equal(got, want) {
		t.Errorf("pauses = %v, want %v", got, want)
	}
	for _, r := range s.seen() {
		if r.URL.Query().Get("wait") != "20" || r.URL.Query().Get("generation_id") != "j1" {
			t.Errorf("query %s, want generation_id=j1&wait=20", r.URL.RawQuery)
		}
	}
}

// A server that holds each long-poll gets asked again at once, without a
// pause.
func TestWaitLongPoll(t *testing.T) {
	completed := `{"id":"j1","status":"completed","video":{"url":"https://cdn.example.com/v.mp4"},"updated_at":"2026-03-01T12:00:30Z"}`
	clk := newFakeClock()
	held := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if held < 3 {
			held++
			clk.mu.Lock()
			clk.now = clk.now.Add(20 * time.Second) // the server held the request
			clk.mu.Unlock()
			answer(200, nil, queued)(w)
			return
		}
		answer(200, nil, completed)(w)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, "k", client.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	if g, err := c.Wait(t.Context(), "j1", nil); err != nil || g.Status != vidgen.Completed {
		t.Fatalf("Wait = %+v, %v", g, err)
	}
	if len(clk.slept()) != 0 {
		t.Errorf("pauses %v against a long-polling server, want none", clk.slept())
	}
}

// VerifyWebhook accepts what vidgen signs and decodes it; it refuses a
// tampered body or another secret.
func TestVerifyWebhook(t *testing.T) {
	secret := webhook.SecretPrefix + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"type":"video.generation.completed","timestamp":"2026-03-01T12:00:00Z","data":{"id":"j1","tenant":"t","status":"completed"}}`)
	sig, err := webhook.Sign(secret, "msg_j1", at, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, "msg_j1")
	h.Set(webhook.HeaderTimestamp, fmt.Sprint(at.Unix()))
	h.Set(webhook.HeaderSignature, sig)
	p, err := client.VerifyWebhookAt(secret, h, body, at.Add(time.Minute), 0)
	if err != nil || p.Data.ID != "j1" || p.Type != webhook.TypeCompleted {
		t.Fatalf("VerifyWebhookAt = %+v, %v", p, err)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] = 'X'
	if _, err := client.VerifyWebhookAt(secret, h, tampered, at, 0); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("tampered body: err = %v, want ErrSignature", err)
	}
	if _, err := client.VerifyWebhook(secret, h, body); !errors.Is(err, webhook.ErrTimestamp) {
		t.Errorf("now, long after the signature: err = %v, want ErrTimestamp", err)
	}
}

// A new poll or a new place in line is progress, even when the status and
// updated_at stay: Wait reports it and asks again without a pause.
func TestWaitSeesPollsAndQueuePosition(t *testing.T) {
	at := `"created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:00:00Z"`
	s, clk, c := serve(t,
		answer(200, nil, `{"id":"j1","status":"queued","queue_position":2,"polls":0,`+at+`}`),
		answer(200, nil, `{"id":"j1","status":"queued","queue_position":1,"polls":0,`+at+`}`),
		answer(200, nil, `{"id":"j1","status":"queued","polls":1,`+at+`}`),
		answer(200, nil, `{"id":"j1","status":"queued","polls":2,`+at+`}`),
		answer(200, nil, `{"id":"j1","status":"completed","polls":3,"video":{"url":"https://cdn.example.com/v.mp4"},`+at+`}`))
	seen := 0
	if g, err := c.Wait(t.Context(), "j1", func(vidgen.Generation) { seen++ }); err != nil || g.Status != vidgen.Completed {
		t.Fatalf("Wait = %+v, %v", g, err)
	}
	if seen != 5 || len(s.seen()) != 5 || len(clk.slept()) != 0 {
		t.Errorf("progress saw %d of %d answers, pauses %v; want all 5, no pause", seen, len(s.seen()), clk.slept())
	}
}
