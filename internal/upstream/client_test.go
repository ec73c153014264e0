package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/syncbuf"
)

const testKey = "sk-upstream-test-SECRET-42"

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func validRequest() job.Request {
	return job.Request{Model: job.Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5}
}

type env struct {
	sim    *simulator.Server
	clock  *clock.Manual
	client *Client
	logs   *syncbuf.Buffer
	base   string // the simulator's URL
}

// newEnv runs a simulator and a client for it. The client reads Retry-After
// dates against t0, and its transport keeps no idle connections, so that it
// never transparently retries a poll on a new one.
func newEnv(t *testing.T, cfg Config) env {
	t.Helper()
	return newSimEnv(t, cfg, simulator.Config{})
}

// newSimEnv is newEnv with the simulator configured by simCfg (its key and
// clock are the env's).
func newSimEnv(t *testing.T, cfg Config, simCfg simulator.Config) env {
	t.Helper()
	c := clock.NewManual(t0)
	simCfg.Key, simCfg.Clock = testKey, c
	sim := simulator.New(simCfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	logs := &syncbuf.Buffer{}
	if cfg.BaseURL == "" {
		cfg.BaseURL = srv.URL
	}
	if cfg.Key == "" {
		cfg.Key = testKey
	}
	cfg.HTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	cfg.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Clock = clock.NewManual(t0)
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testKey) {
			t.Errorf("the key appears in the logs:\n%s", logs)
		}
	})
	return env{sim: sim, clock: c, client: New(cfg), logs: logs, base: srv.URL}
}

func (e env) submit(t *testing.T, prompt string) string {
	t.Helper()
	req := validRequest()
	req.Prompt = prompt
	g, err := e.client.Submit(t.Context(), req)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if g.Status != job.Queued || g.RawStatus != "queued" || g.ID == "" {
		t.Fatalf("Submit = %+v, want a queued generation", g)
	}
	return g.ID
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestErrors(t *testing.T) {
	submit := func(t *testing.T, e env) error {
		_, err := e.client.Submit(t.Context(), validRequest())
		return err
	}
	poll := func(t *testing.T, e env) error {
		id := e.submit(t, "")
		_, err := e.client.Get(t.Context(), id)
		return err
	}
	faulty := func(ep simulator.Endpoint, f simulator.Fault, op func(*testing.T, env) error) func(*testing.T, env) error {
		return func(t *testing.T, e env) error {
			e.sim.Inject(ep, f)
			return op(t, e)
		}
	}
	tests := []struct {
		name       string
		cfg        Config
		run        func(*testing.T, env) error
		kind       Kind
		status     int
		retryAfter time.Duration
		is         error // in the chain, if set
		accepted   int   // submits the simulator accepted
	}{
		{name: "429 with seconds", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Status: 429, RetryAfter: "7"}, submit),
			kind: KindThrottled, status: 429, retryAfter: 7 * time.Second},
		{name: "429 with a date", run: faulty(simulator.PollEndpoint, simulator.Fault{Status: 429, RetryAfter: t0.Add(90 * time.Second).Format(http.TimeFormat)}, poll),
			kind: KindThrottled, status: 429, retryAfter: 90 * time.Second, accepted: 1},
		{name: "429 with a past date", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Status: 429, RetryAfter: t0.Add(-time.Hour).Format(http.TimeFormat)}, submit),
			kind: KindThrottled, status: 429},
		{name: "429 with garbage", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Status: 429, RetryAfter: "soon"}, submit),
			kind: KindThrottled, status: 429},
		{name: "500", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Status: 500}, submit), kind: KindUnavailable, status: 500},
		{name: "500 after accept", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Status: 500, AfterAccept: true}, submit),
			kind: KindUnavailable, status: 500, accepted: 1},
		{name: "502", run: faulty(simulator.PollEndpoint, simulator.Fault{Status: 502}, poll), kind: KindUnavailable, status: 502, accepted: 1},
		{name: "503 with Retry-After", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Status: 503, RetryAfter: "3"}, submit),
			kind: KindUnavailable, status: 503, retryAfter: 3 * time.Second},
		{name: "slower than the timeout", cfg: Config{Timeout: 50 * time.Millisecond},
			run:  faulty(simulator.SubmitEndpoint, simulator.Fault{Delay: time.Minute}, submit),
			kind: KindInterrupted, is: context.DeadlineExceeded},
		{name: "poll slower than the timeout", cfg: Config{Timeout: 50 * time.Millisecond},
			run:  faulty(simulator.PollEndpoint, simulator.Fault{Delay: time.Minute}, poll),
			kind: KindInterrupted, is: context.DeadlineExceeded, accepted: 1},
		{name: "accepted, then slower than the timeout", cfg: Config{Timeout: 50 * time.Millisecond},
			run:  faulty(simulator.SubmitEndpoint, simulator.Fault{Delay: time.Minute, AfterAccept: true}, submit),
			kind: KindInterrupted, is: context.DeadlineExceeded, accepted: 1},
		{name: "connection reset", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Reset: true}, submit), kind: KindInterrupted},
		{name: "accepted, then connection reset", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Reset: true, AfterAccept: true}, submit),
			kind: KindInterrupted, accepted: 1},
		{name: "poll connection reset", run: faulty(simulator.PollEndpoint, simulator.Fault{Reset: true}, poll), kind: KindInterrupted, accepted: 1},
		{name: "malformed body", run: faulty(simulator.PollEndpoint, simulator.Fault{Malformed: true}, poll),
			kind: KindMalformed, status: 200, accepted: 1},
		{name: "truncated body", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Truncated: true, AfterAccept: true}, submit),
			kind: KindInterrupted, status: 200, is: io.ErrUnexpectedEOF, accepted: 1},
		{name: "truncated poll", run: faulty(simulator.PollEndpoint, simulator.Fault{Truncated: true, AfterAccept: true}, poll),
			kind: KindInterrupted, status: 200, is: io.ErrUnexpectedEOF, accepted: 1},
		{name: "404", run: func(t *testing.T, e env) error {
			_, err := e.client.Get(t.Context(), "no-such-generation")
			return err
		}, kind: KindNotFound, status: 404},
		{name: "vanished", run: func(t *testing.T, e env) error {
			id := e.submit(t, "sim:vanish")
			_, err := e.client.Get(t.Context(), id)
			return err
		}, kind: KindNotFound, status: 404, accepted: 1},
		{name: "400 validation", run: func(t *testing.T, e env) error {
			_, err := e.client.Submit(t.Context(), job.Request{Model: "gen4", ImageURL: "http://example.com/a.jpg", AspectRatio: "4:3", Duration: 7})
			return err
		}, kind: KindRejected, status: 400},
		{name: "401 wrong key", cfg: Config{Key: "sk-wrong"}, run: submit, kind: KindKeyRefused, status: 401},
		{name: "401 wrong key on poll", cfg: Config{Key: "sk-wrong"}, run: func(t *testing.T, e env) error {
			_, err := e.client.Get(t.Context(), "whatever")
			return err
		}, kind: KindKeyRefused, status: 401},
		{name: "403 on submit", run: faulty(simulator.SubmitEndpoint, simulator.Fault{Status: 403}, submit), kind: KindKeyRefused, status: 403},
		{name: "403 on poll", run: faulty(simulator.PollEndpoint, simulator.Fault{Status: 403}, poll), kind: KindKeyRefused, status: 403, accepted: 1},
		{name: "empty id", run: func(t *testing.T, e env) error {
			_, err := e.client.Get(t.Context(), "")
			return err
		}, kind: KindRejected},
		{name: "unreachable", cfg: Config{BaseURL: closedPort(t)}, run: submit, kind: KindUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			err := tt.run(t, e)
			t.Log(err)
			ue, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if ue.Kind != tt.kind || ue.StatusCode != tt.status || ue.RetryAfter != tt.retryAfter {
				t.Fatalf("got kind %v, status %d, retry after %v; want %v, %d, %v (%v)",
					ue.Kind, ue.StatusCode, ue.RetryAfter, tt.kind, tt.status, tt.retryAfter, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v in its chain", err, tt.is)
			}
			if tt.status >= 400 && ue.Message == "" {
				t.Errorf("no message from the upstream: %v", err)
			}
			if len(ue.Message) > maxMessage+len("…") {
				t.Errorf("message is %d bytes long: %q", len(ue.Message), ue.Message)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the key appears in the error: %v", err)
			}
			if got := e.sim.Submissions(); got != tt.accepted {
				t.Errorf("simulator accepted %d submits, want %d", got, tt.accepted)
			}
		})
	}
}

// TestKeyNeverEchoed covers an upstream that repeats the key it was sent,
// which the simulator never does.
func TestKeyNeverEchoed(t *testing.T) {
	echo := func(status int, shape string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, strings.ReplaceAll(shape, "AUTH", r.Header.Get("Authorization")))
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"error message", echo(401, `{"error":{"name":"Unauthorized","message":"bad key AUTH"}}`)},
		{"error body as text", echo(403, `forbidden: AUTH`)},
		{"malformed answer", echo(200, `<p>AUTH</p>`)},
		{"generation error", echo(200, `{"id":"g","status":"error","error":{"name":"AUTH","message":"AUTH"}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			logs := &syncbuf.Buffer{}
			c := New(Config{BaseURL: srv.URL, Key: testKey,
				Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			g, err := c.Get(t.Context(), "g")
			text := logs.String()
			if err != nil {
				text += err.Error()
			}
			if g.Error != nil {
				text += g.Error.Name + g.Error.Message
			}
			if strings.Contains(text, testKey) {
				t.Fatalf("the key leaked: %s", text)
			}
			if !strings.Contains(text, "[redacted]") {
				t.Fatalf("expected a redaction in %q", text)
			}
		})
	}
}

func TestGenerations(t *testing.T) {
	five := 5.0
	tests := []struct {
		prompt   string
		at       time.Duration
		status   job.Status
		raw      string
		video    bool
		duration *float64
		credits  *float64
		errName  string
	}{
		{prompt: "", at: 0, status: job.Queued, raw: "queued"},
		{prompt: "", at: 3 * time.Second, status: job.Generating, raw: "generating"},
		{prompt: "", at: time.Minute, status: job.Completed, raw: "completed", video: true, duration: &five, credits: ptr(500000.0)},
		{prompt: "sim:legacy", at: 0, status: job.Queued, raw: "waiting"},
		{prompt: "sim:legacy", at: time.Minute, status: job.Completed, raw: "complete", video: true, duration: &five, credits: ptr(500000.0)},
		{prompt: "sim:error", at: time.Minute, status: job.Failed, raw: "error", errName: "ContentModeration"},
		{prompt: "sim:legacy sim:error", at: time.Minute, status: job.Failed, raw: "error", errName: job.ErrNameGenerationFailed},
		{prompt: "sim:status=processing", at: 3 * time.Second, status: job.Generating, raw: "processing"},
		{prompt: "sim:status=in_progress", at: 3 * time.Second, status: job.Generating, raw: "in_progress"},
		{prompt: "sim:status=paused", at: 3 * time.Second, status: "", raw: "paused"},
		{prompt: "sim:never", at: 1000 * time.Hour, status: job.Generating, raw: "generating"},
	}
	for _, tt := range tests {
		t.Run(tt.prompt+"@"+tt.at.String(), func(t *testing.T) {
			e := newEnv(t, Config{})
			id := e.submit(t, tt.prompt)
			e.clock.Advance(tt.at)
			g, err := e.client.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if g.ID != id || g.Status != tt.status || g.RawStatus != tt.raw {
				t.Fatalf("got %+v, want %q (%q)", g, tt.status, tt.raw)
			}
			if (g.Video != nil) != tt.video {
				t.Fatalf("video = %+v, want one: %v", g.Video, tt.video)
			}
			if tt.video {
				if !strings.Contains(g.Video.URL, "/files/"+id+".mp4?expires=") || !equalPtr(g.Video.Duration, tt.duration) {
					t.Errorf("video = %s lasting %v", g.Video.URL, deref(g.Video.Duration))
				}
			}
			if !equalPtr(g.CreditsUsed, tt.credits) {
				t.Errorf("credits = %v, want %v", deref(g.CreditsUsed), deref(tt.credits))
			}
			if tt.errName != "" && (g.Error == nil || g.Error.Name != tt.errName || g.Error.Message == "") {
				t.Errorf("error = %+v, want name %s and a message", g.Error, tt.errName)
			}
			if unknown := strings.Contains(e.logs.String(), `"level":"WARN","msg":"upstream sent an unknown status"`); unknown != (tt.status == "") {
				t.Errorf("unknown status logged at Warn: %v, want %v", unknown, tt.status == "")
			}
		})
	}
}

func TestRequests(t *testing.T) {
	type seen struct {
		method, path, query, auth, contentType string
		body                                   []byte
	}
	var (
		mu  sync.Mutex
		got []seen
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seen{r.Method, r.URL.Path, r.URL.Query().Get("generation_id"), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
		io.WriteString(w, `{"id":"a b&c/d","status":"queued"}`)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/", Key: testKey})

	seed := int64(9)
	req := validRequest()
	req.Seed = &seed
	if _, err := c.Submit(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(t.Context(), "a b&c/d"); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(req)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("server saw %d requests", len(got))
	}
	if s := got[0]; s.method != "POST" || s.path != "/v2/video/generations" || s.auth != "Bearer "+testKey ||
		s.contentType != "application/json" || !bytes.Equal(s.body, want) {
		t.Errorf("submit sent %+v", s)
	}
	if s := got[1]; s.method != "GET" || s.path != "/v2/video/generations" || s.query != "a b&c/d" || s.auth != "Bearer "+testKey {
		t.Errorf("get sent %+v", s)
	}
}

func TestCancelledBeforeSending(t *testing.T) {
	e := newEnv(t, Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.client.Submit(ctx, validRequest()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := e.sim.Submissions(); n != 0 {
		t.Fatalf("%d submits reached the simulator", n)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		KindThrottled: "throttled", KindUnavailable: "unavailable", KindUnreachable: "unreachable",
		KindInterrupted: "interrupted", KindRejected: "rejected", KindNotFound: "not found",
		KindMalformed: "malformed", KindKeyRefused: "key refused", 0: "Kind(0)", 99: "Kind(99)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestErrorText(t *testing.T) {
	err := error(&Error{Kind: KindThrottled, StatusCode: 429, RetryAfter: 2 * time.Second, Message: "slow down", Err: io.EOF})
	if got, want := err.Error(), "throttled (HTTP 429), retry after 2s: slow down: EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, io.EOF) {
		t.Error("Unwrap does not reach the cause")
	}
}

func ptr[T any](v T) *T { return &v }

func equalPtr(a, b *float64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
