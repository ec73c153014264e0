package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/syncbuf"
)

const (
	testKey  = "sk-sim-test-0123456789"
	newRoute = "/v2/video/generations"
	oldRoute = "/v2/generate/video/runway/generation"
	validReq = `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type fixture struct {
	sim   *Server
	clock *clock.Manual
	logs  *syncbuf.Buffer
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	logs := &syncbuf.Buffer{}
	c := clock.NewManual(t0)
	sim := New(Config{
		Key:   testKey,
		Clock: c,
		Log:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testKey) {
			t.Errorf("the key appears in the logs:\n%s", logs)
		}
	})
	return fixture{sim: sim, clock: c, logs: logs}
}

// openJournaled opens a simulator on clock c that keeps its journal at
// path, as one run of the local runtime does; calling it again is a
// restart.
func openJournaled(t *testing.T, path string, c *clock.Manual) fixture {
	t.Helper()
	sim, err := Open(Config{Key: testKey, Clock: c, Journal: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return fixture{sim: sim, clock: c}
}

// call sends a request straight to the handler.
func (f fixture) call(t *testing.T, method, target, key, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	w := httptest.NewRecorder()
	f.sim.ServeHTTP(w, r)
	return w
}

// validated is body as the catalogue validates it, for accept.
func (f fixture) validated(t *testing.T, body string) (*catalog.Model, map[string]any) {
	t.Helper()
	m, v, problems := f.sim.catalog.Validate([]byte(body))
	if len(problems) > 0 {
		t.Fatalf("%s: %v", body, problems)
	}
	return m, v
}

func (f fixture) submit(t *testing.T, body string) string {
	t.Helper()
	w := f.call(t, http.MethodPost, newRoute, testKey, body)
	if w.Code != http.StatusOK {
		t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	var got created
	decode(t, w.Body.Bytes(), &got)
	return got.ID
}

// pollResult is a poll's answer with every shape the simulator may send.
type pollResult struct {
	ID       string          `json:"id"`
	Status   string          `json:"status"`
	Video    json.RawMessage `json:"video"`
	Duration *float64        `json:"duration"`
	Error    json.RawMessage `json:"error"`
	Meta     json.RawMessage `json:"meta"`
}

func (f fixture) poll(t *testing.T, id string) pollResult {
	t.Helper()
	w := f.call(t, http.MethodGet, newRoute+"?generation_id="+url.QueryEscape(id), testKey, "")
	if w.Code != http.StatusOK {
		t.Fatalf("poll: %d %s", w.Code, w.Body)
	}
	var got pollResult
	decode(t, w.Body.Bytes(), &got)
	return got
}

func decode(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

type errorResult struct {
	Error apiError `json:"error"`
}

func errorOf(t *testing.T, w *httptest.ResponseRecorder) apiError {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got errorResult
	decode(t, w.Body.Bytes(), &got)
	return got.Error
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRoutesAndAuth(t *testing.T) {
	f := newFixture(t)
	id := f.submit(t, validReq)
	tests := []struct {
		name     string
		method   string
		target   string
		key      string
		body     string
		code     int
		errName  string // for error answers
		wantBody string // substring, for the others
	}{
		{name: "submit", method: "POST", target: newRoute, key: testKey, body: validReq, code: 200, wantBody: `"status":"queued"`},
		{name: "legacy submit with ratio", method: "POST", target: oldRoute, key: testKey,
			body: `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","ratio":"9:16"}`, code: 200, wantBody: `"status":"queued"`},
		{name: "ratio refused on the new route", method: "POST", target: newRoute, key: testKey,
			body: `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","ratio":"9:16"}`, code: 400, errName: "ValidationError"},
		{name: "poll", method: "GET", target: newRoute + "?generation_id=" + id, key: testKey, code: 200, wantBody: `"id":"` + id + `"`},
		{name: "legacy poll", method: "GET", target: oldRoute + "?generation_id=" + id, key: testKey, code: 200, wantBody: `"id":"` + id + `"`},
		{name: "poll without id", method: "GET", target: newRoute, key: testKey, code: 400, errName: "ValidationError"},
		{name: "poll unknown id", method: "GET", target: newRoute + "?generation_id=nope", key: testKey, code: 404, errName: "NotFound"},
		{name: "submit without key", method: "POST", target: newRoute, body: validReq, code: 401, errName: "Unauthorized"},
		{name: "submit with wrong key", method: "POST", target: newRoute, key: "sk-wrong", body: validReq, code: 401, errName: "Unauthorized"},
		{name: "legacy submit with wrong key", method: "POST", target: oldRoute, key: "sk-wrong", body: validReq, code: 401, errName: "Unauthorized"},
		{name: "poll with wrong key", method: "GET", target: newRoute + "?generation_id=" + id, key: "sk-wrong", code: 401, errName: "Unauthorized"},
		{name: "key is case-sensitive", method: "GET", target: newRoute + "?generation_id=" + id, key: strings.ToUpper(testKey), code: 401, errName: "Unauthorized"},
		{name: "health needs no key", method: "GET", target: "/health", code: 200, wantBody: `"ok"`},
		{name: "wrong method", method: "DELETE", target: newRoute, key: testKey, code: 405},
		{name: "unknown route", method: "GET", target: "/v1/nothing", key: testKey, code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.call(t, tt.method, tt.target, tt.key, tt.body)
			if w.Code != tt.code {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.code, w.Body)
			}
			if tt.errName != "" {
				if got := errorOf(t, w); got.Name != tt.errName || got.Message == "" {
					t.Fatalf("error = %+v, want name %s and a message", got, tt.errName)
				}
			}
			if !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Fatalf("body %s lacks %s", w.Body, tt.wantBody)
			}
			if tt.code == 401 && w.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
		})
	}
	if got := f.sim.Submissions(); got != 3 {
		t.Errorf("Submissions = %d, want 3 (only accepted POSTs)", got)
	}
}

func TestSubmitAnswersUUIDv4(t *testing.T) {
	f := newFixture(t)
	seen := make(map[string]bool)
	for range 20 {
		id := f.submit(t, validReq)
		if !uuidV4.MatchString(id) {
			t.Fatalf("id %q is not a UUID v4", id)
		}
		if seen[id] {
			t.Fatalf("id %q given twice", id)
		}
		seen[id] = true
	}
}

// A key rotated or revoked at the upstream refuses the old one at once,
// on submit and on poll of a generation it accepted before.
func TestSetKey(t *testing.T) {
	f := newFixture(t)
	id := f.submit(t, validReq)
	f.sim.SetKey("sk-rotated")
	for _, tt := range []struct{ method, target, body string }{
		{http.MethodPost, newRoute, validReq},
		{http.MethodGet, newRoute + "?generation_id=" + id, ""},
	} {
		w := f.call(t, tt.method, tt.target, testKey, tt.body)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "invalid API key") {
			t.Errorf("%s with the old key: %d %s, want 401 invalid API key", tt.method, w.Code, w.Body)
		}
		if w := f.call(t, tt.method, tt.target, "sk-rotated", tt.body); w.Code != http.StatusOK {
			t.Errorf("%s with the new key: %d %s, want 200", tt.method, w.Code, w.Body)
		}
	}
}

func TestAnyKeyWhenNoneConfigured(t *testing.T) {
	sim := New(Config{})
	for _, tt := range []struct {
		auth string
		code int
	}{
		{"Bearer anything", 200},
		{"Bearer ", 401},
		{"", 401},
		{"Basic dXNlcjpwYXNz", 401},
	} {
		r := httptest.NewRequest("POST", newRoute, strings.NewReader(validReq))
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, r)
		if w.Code != tt.code {
			t.Errorf("Authorization %q: status %d, want %d", tt.auth, w.Code, tt.code)
		}
	}
}

func TestValidationReportsEveryField(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		body   string
		fields []string
		says   string // in the message
	}{
		{body: `{"model":"gen3a_turbo","image_url":"not a url","aspect_ratio":"4:3","duration":7,"seed":-1,"extra":1}`,
			fields: []string{"aspect_ratio", "duration", "extra", "image_url", "seed"}, says: `duration: must be one of 5, 10`},
		{body: `{"model":"gen3a_turbo"}`, fields: []string{"image_url"}, says: "image_url: is required"},
		{body: `{"model":"gen4","image_url":"https://example.com/a.png"}`, fields: []string{"model"}, says: `unknown model "gen4"; supported models: `},
		{body: `{"model":"openai/sora-2-t2v","duration":7,"aspect_ratio":"4:3"}`,
			fields: []string{"aspect_ratio", "duration", "prompt"}, says: "prompt: is required"},
		{body: `{"model":"gen3a_turbo","image_url":"https://example.com/a.png","image_url":"https://example.com/b.png","duration":7}`,
			fields: []string{"duration", "image_url"}, says: "image_url: appears more than once"},
	}
	for _, tt := range tests {
		w := f.call(t, http.MethodPost, newRoute, testKey, tt.body)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("%s: status = %d, want 400", tt.body, w.Code)
		}
		got := errorOf(t, w)
		var fields []string
		for _, fe := range got.Fields {
			fields = append(fields, fe.Field)
			if fe.Message == "" {
				t.Errorf("%s: field %s has no message", tt.body, fe.Field)
			}
		}
		if fmt.Sprint(fields) != fmt.Sprint(tt.fields) || got.Name != "ValidationError" || !strings.Contains(got.Message, tt.says) {
			t.Errorf("%s: error = %+v, want ValidationError on %v saying %q", tt.body, got, tt.fields, tt.says)
		}
	}
	if w := f.call(t, http.MethodPost, newRoute, testKey, `{"model":"gen4"}`); !strings.Contains(errorOf(t, w).Message, "gen3a_turbo, google/") {
		t.Errorf("unknown model: %s, want the supported models named", w.Body)
	}
	for _, bad := range []string{``, `not json`, `[]`, `{"model":"gen3a_turbo"}`} {
		if w := f.call(t, http.MethodPost, newRoute, testKey, bad); w.Code != http.StatusBadRequest {
			t.Errorf("body %q: status %d, want 400", bad, w.Code)
		}
	}
	if n := f.sim.Submissions(); n != 0 {
		t.Fatalf("rejected submits counted: %d", n)
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	body := `{"model":"gen3a_turbo","image_url":"` + strings.Repeat("a", maxRequestBody) + `"}`
	w := f.call(t, http.MethodPost, newRoute, testKey, body)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", w.Code)
	}
}

func TestStatusFollowsTheClock(t *testing.T) {
	f := newFixture(t)
	five := f.submit(t, validReq)
	ten := f.submit(t, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","duration":10}`)
	steps := []struct {
		at        time.Duration
		five, ten string
	}{
		{0, "queued", "queued"},
		{3*time.Second - 1, "queued", "queued"},
		{3 * time.Second, "generating", "generating"},
		{28*time.Second - 1, "generating", "generating"},
		{28 * time.Second, "completed", "generating"},
		{48*time.Second - 1, "completed", "generating"}, // 3 s + 25 s × 1.8
		{48 * time.Second, "completed", "completed"},
		{24 * time.Hour, "completed", "completed"},
	}
	for _, step := range steps {
		f.clock.Advance(t0.Add(step.at).Sub(f.clock.Now()))
		for _, c := range []struct{ id, want string }{{five, step.five}, {ten, step.ten}} {
			if got := f.poll(t, c.id); got.Status != c.want {
				t.Errorf("at %v: status %q, want %q", step.at, got.Status, c.want)
			}
		}
	}

	got := f.poll(t, five)
	var v video
	decode(t, got.Video, &v)
	wantLink(t, v.URL, "http://example.com/files/"+five+".mp4", f.clock.Now().Add(DefaultVideoURLTTL))
	if v.Duration != 5 {
		t.Errorf("video = %+v, want one lasting 5 s", v)
	}
	if string(got.Error) != "null" {
		t.Errorf("error = %s, want null", got.Error)
	}
	if want := `{"usage":{"credits_used":500000,"tokens_used":500000}}`; string(got.Meta) != want {
		t.Errorf("meta = %s, want %s", got.Meta, want)
	}
	got = f.poll(t, ten)
	decode(t, got.Video, &v)
	if v.Duration != 10 {
		t.Errorf("10-s video reports duration %v", v.Duration)
	}
}

func TestInProgressShape(t *testing.T) {
	f := newFixture(t)
	id := f.submit(t, validReq)
	w := f.call(t, http.MethodGet, newRoute+"?generation_id="+id, testKey, "")
	want := `{"id":"` + id + `","status":"queued","video":null,"error":null,"meta":null}` + "\n"
	if w.Body.String() != want {
		t.Fatalf("body = %s, want %s", w.Body, want)
	}
}

func TestConfig(t *testing.T) {
	c := clock.NewManual(t0)
	sim := New(Config{Clock: c, QueueTime: -1, GenerationTime: time.Minute, PublicURL: "https://cdn.test/", VideoURLTTL: 10 * time.Minute})
	f := fixture{sim: sim, clock: c}
	id := f.submit(t, validReq)
	if got := f.poll(t, id).Status; got != "generating" {
		t.Fatalf("with no queue time: %q, want generating", got)
	}
	c.Advance(time.Minute)
	got := f.poll(t, id)
	var v video
	decode(t, got.Video, &v)
	if got.Status != "completed" {
		t.Fatalf("got %+v, want completed", got)
	}
	wantLink(t, v.URL, "https://cdn.test/files/"+id+".mp4", t0.Add(11*time.Minute))
}

func TestDirectives(t *testing.T) {
	type step struct {
		at     time.Duration
		status string // "404" for a not-found answer
	}
	tests := []struct {
		prompt string
		steps  []step
		check  func(t *testing.T, last pollResult)
	}{
		{prompt: "a dragon sim:error", steps: []step{{0, "queued"}, {3 * time.Second, "generating"}, {28 * time.Second, "error"}},
			check: func(t *testing.T, last pollResult) {
				var e job.Error
				decode(t, last.Error, &e)
				if e.Name != "ContentModeration" || e.Message == "" || string(last.Video) != "null" {
					t.Errorf("error = %s, video = %s", last.Error, last.Video)
				}
			}},
		{prompt: "sim:never", steps: []step{{0, "queued"}, {3 * time.Second, "generating"}, {1000 * time.Hour, "generating"}}},
		{prompt: "sim:vanish", steps: []step{{0, "404"}, {time.Hour, "404"}}},
		{prompt: "x sim:status=paused y", steps: []step{{0, "queued"}, {3 * time.Second, "paused"}, {28 * time.Second, "completed"}}},
		{prompt: "sim:gen=1.5", steps: []step{{3 * time.Second, "generating"}, {4500*time.Millisecond - 1, "generating"}, {4500 * time.Millisecond, "completed"}}},
		{prompt: "sim:never sim:error", steps: []step{{time.Hour, "generating"}}},
		{prompt: "sim:legacy", steps: []step{{0, "waiting"}, {3 * time.Second, "generating"}, {28 * time.Second, "complete"}},
			check: func(t *testing.T, last pollResult) {
				var urls []string
				decode(t, last.Video, &urls)
				if len(urls) != 1 {
					t.Fatalf("video = %s, want an array of one URL", last.Video)
				}
				wantLink(t, urls[0], "http://example.com/files/"+last.ID+".mp4", t0.Add(28*time.Second+DefaultVideoURLTTL))
				if last.Duration == nil || *last.Duration != 5 {
					t.Errorf("top-level duration = %v, want 5", last.Duration)
				}
				if want := `{"usage":{"credits_used":500000}}`; string(last.Meta) != want {
					t.Errorf("meta = %s, want %s", last.Meta, want)
				}
			}},
		{prompt: "sim:legacy sim:error", steps: []step{{28 * time.Second, "error"}},
			check: func(t *testing.T, last pollResult) {
				var msg string
				decode(t, last.Error, &msg)
				if msg == "" {
					t.Errorf("legacy error = %s, want a string", last.Error)
				}
			}},
		{prompt: "sim:bogus sim:gen=x sim:gen=-1 sim:error=1 normal words", steps: []step{{0, "queued"}, {28 * time.Second, "completed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.prompt, func(t *testing.T) {
			f := newFixture(t)
			body := fmt.Sprintf(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":%q}`, tt.prompt)
			id := f.submit(t, body)
			var last pollResult
			for _, s := range tt.steps {
				f.clock.Advance(t0.Add(s.at).Sub(f.clock.Now()))
				w := f.call(t, http.MethodGet, newRoute+"?generation_id="+id, testKey, "")
				if s.status == "404" {
					if w.Code != http.StatusNotFound {
						t.Fatalf("at %v: status %d, want 404", s.at, w.Code)
					}
					continue
				}
				decode(t, w.Body.Bytes(), &last)
				if last.Status != s.status {
					t.Fatalf("at %v: status %q, want %q", s.at, last.Status, s.status)
				}
			}
			if tt.check != nil {
				tt.check(t, last)
			}
		})
	}
}

func TestUnknownDirectivesAreLogged(t *testing.T) {
	f := newFixture(t)
	f.submit(t, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:bogus"}`)
	if !strings.Contains(f.logs.String(), "sim:bogus") {
		t.Fatalf("unknown directive not logged:\n%s", f.logs)
	}
}

func TestSubmissionsOf(t *testing.T) {
	f := newFixture(t)
	seed := int64(7)
	minimal := job.Request{Model: job.Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5}
	seeded := minimal
	seeded.Seed = &seed

	f.submit(t, validReq)
	f.submit(t, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","aspect_ratio":"16:9","duration":5}`)
	f.call(t, http.MethodPost, oldRoute, testKey, `{"image_url":"https://example.com/a.jpg","ratio":"16:9","model":"gen3a_turbo"}`)
	f.submit(t, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","seed":7}`)
	f.call(t, http.MethodPost, newRoute, "sk-wrong", validReq)
	f.sim.Inject(SubmitEndpoint, Fault{Status: 503})
	f.call(t, http.MethodPost, newRoute, testKey, validReq)

	if got := f.sim.SubmissionsOf(minimal); got != 3 {
		t.Errorf("SubmissionsOf(minimal) = %d, want 3 (defaults spelled out or not, either route)", got)
	}
	if got := f.sim.SubmissionsOf(seeded); got != 1 {
		t.Errorf("SubmissionsOf(seeded) = %d, want 1", got)
	}
	other := minimal
	other.Prompt = "never sent"
	if got := f.sim.SubmissionsOf(other); got != 0 {
		t.Errorf("SubmissionsOf(other) = %d, want 0", got)
	}
	if got := f.sim.Submissions(); got != 4 {
		t.Errorf("Submissions = %d, want 4", got)
	}
}

func TestConcurrentSubmits(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			r := httptest.NewRequest("POST", newRoute, strings.NewReader(validReq))
			r.Header.Set("Authorization", "Bearer "+testKey)
			f.sim.ServeHTTP(httptest.NewRecorder(), r)
		})
	}
	wg.Wait()
	req, _ := job.ParseRequest([]byte(validReq), job.ParseOptions{})
	if got, of := f.sim.Submissions(), f.sim.SubmissionsOf(req); got != 50 || of != 50 {
		t.Fatalf("Submissions = %d, SubmissionsOf = %d, want 50", got, of)
	}
}

func TestFiles(t *testing.T) {
	f := newFixture(t)
	id := f.submit(t, validReq)
	failing := f.submit(t, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:error"}`)
	vanished := f.submit(t, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:vanish"}`)

	// A genuine link, which no poll hands out before completion.
	if w := f.call(t, http.MethodGet, f.sim.videoURL("", id), "", ""); w.Code != http.StatusNotFound || errorOf(t, w).Name != "NotFound" {
		t.Fatalf("before completion: status %d, want 404", w.Code)
	}
	f.clock.Advance(time.Hour)

	file := f.videoURL(t, id)
	w := f.call(t, http.MethodGet, file, "", "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "video/mp4" || w.Body.String() != sampleVideo(5) {
		t.Fatalf("full file: status %d, type %q, %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
	if w.Header().Get("Accept-Ranges") != "bytes" {
		t.Errorf("Accept-Ranges = %q, want bytes", w.Header().Get("Accept-Ranges"))
	}

	r := httptest.NewRequest(http.MethodGet, file, nil)
	r.Header.Set("Range", "bytes=4-11")
	w = httptest.NewRecorder()
	f.sim.ServeHTTP(w, r)
	wantRange := fmt.Sprintf("bytes 4-11/%d", len(sampleVideo(5)))
	if w.Code != http.StatusPartialContent || w.Body.String() != "ftypisom" || w.Header().Get("Content-Range") != wantRange {
		t.Fatalf("range: status %d, Content-Range %q, body %q", w.Code, w.Header().Get("Content-Range"), w.Body)
	}

	// Signed links to videos that do not exist.
	for _, target := range []string{
		f.sim.videoURL("", failing),
		f.sim.videoURL("", vanished),
		f.sim.videoURL("", "unknown"),
	} {
		if w := f.call(t, http.MethodGet, target, "", ""); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, w.Code)
		}
	}
	// Other names, even with the query of a genuine link, are forgeries.
	query := file[strings.Index(file, "?"):]
	for _, target := range []string{
		"/files/" + id + ".mov" + query,
		"/files/" + id + query,
	} {
		if w := f.call(t, http.MethodGet, target, "", ""); w.Code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", target, w.Code)
		}
	}
}

// serve runs the simulator behind a real listener, for faults that need a
// connection. Keep-alives are off so that the transport never retries a
// poll on a fresh connection behind the test's back.
func serve(t *testing.T, sim *Server) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return srv, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func send(ctx context.Context, c *http.Client, method, target, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		endpoint  Endpoint
		fault     Fault
		timeout   time.Duration // of the client; 0 for none
		submitted int           // accepted submits afterwards
		check     func(t *testing.T, resp *http.Response, body []byte, err error)
	}{
		{name: "throttled with seconds", endpoint: SubmitEndpoint, fault: Fault{Status: 429, RetryAfter: "7"},
			check: wantStatus(429, "7", "RateLimitError")},
		{name: "throttled with a date", endpoint: PollEndpoint, fault: Fault{Status: 429, RetryAfter: "Wed, 25 Nov 2026 12:01:00 GMT"},
			check: wantStatus(429, "Wed, 25 Nov 2026 12:01:00 GMT", "RateLimitError")},
		{name: "500", endpoint: SubmitEndpoint, fault: Fault{Status: 500}, check: wantStatus(500, "", "ServiceUnavailable")},
		{name: "502", endpoint: PollEndpoint, fault: Fault{Status: 502}, check: wantStatus(502, "", "ServiceUnavailable")},
		{name: "503", endpoint: SubmitEndpoint, fault: Fault{Status: 503, RetryAfter: "2"}, check: wantStatus(503, "2", "ServiceUnavailable")},
		{name: "500 after accept", endpoint: SubmitEndpoint, fault: Fault{Status: 500, AfterAccept: true}, submitted: 1,
			check: wantStatus(500, "", "ServiceUnavailable")},
		{name: "reset", endpoint: SubmitEndpoint, fault: Fault{Reset: true}, check: wantErr(nil)},
		{name: "reset after accept", endpoint: SubmitEndpoint, fault: Fault{Reset: true, AfterAccept: true}, submitted: 1, check: wantErr(nil)},
		{name: "reset poll", endpoint: PollEndpoint, fault: Fault{Reset: true}, check: wantErr(nil)},
		{name: "malformed", endpoint: PollEndpoint, fault: Fault{Malformed: true},
			check: func(t *testing.T, resp *http.Response, body []byte, err error) {
				if err != nil || resp.StatusCode != 200 || json.Valid(body) {
					t.Fatalf("got %v %q, want 200 with a body that is not JSON", err, body)
				}
			}},
		{name: "truncated", endpoint: SubmitEndpoint, fault: Fault{Truncated: true}, check: wantErr(io.ErrUnexpectedEOF)},
		{name: "truncated after accept", endpoint: SubmitEndpoint, fault: Fault{Truncated: true, AfterAccept: true}, submitted: 1,
			check: wantErr(io.ErrUnexpectedEOF)},
		{name: "slower than the client", endpoint: SubmitEndpoint, fault: Fault{Delay: time.Minute}, timeout: 50 * time.Millisecond,
			check: wantErr(context.DeadlineExceeded)},
		{name: "slow after accept", endpoint: SubmitEndpoint, fault: Fault{Delay: time.Minute, AfterAccept: true}, timeout: 50 * time.Millisecond,
			submitted: 1, check: wantErr(context.DeadlineExceeded)},
		{name: "short delay then a normal answer", endpoint: SubmitEndpoint, fault: Fault{Delay: time.Millisecond}, submitted: 1,
			check: func(t *testing.T, resp *http.Response, body []byte, err error) {
				if err != nil || resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"queued"`)) {
					t.Fatalf("got %v %s, want a normal answer", err, body)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			srv, client := serve(t, f.sim)
			id := f.submit(t, validReq) // straight to the handler: no fault yet
			f.sim.Inject(tt.endpoint, tt.fault)

			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			method, target, body := http.MethodPost, srv.URL+newRoute, validReq
			if tt.endpoint == PollEndpoint {
				method, target, body = http.MethodGet, srv.URL+newRoute+"?generation_id="+id, ""
			}
			resp, data, err := send(ctx, client, method, target, body)
			tt.check(t, resp, data, err)
			if got := f.sim.Submissions() - 1; got != tt.submitted {
				t.Errorf("accepted submits = %d, want %d", got, tt.submitted)
			}

			// The fault is spent: the next request is answered normally.
			resp, data, err = send(t.Context(), client, method, target, body)
			if err != nil || resp.StatusCode != 200 || !json.Valid(data) {
				t.Fatalf("after the fault: %v, %v, %s", err, resp, data)
			}
		})
	}
}

func wantStatus(code int, retryAfter, name string) func(*testing.T, *http.Response, []byte, error) {
	return func(t *testing.T, resp *http.Response, body []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var got errorResult
		decode(t, body, &got)
		if resp.StatusCode != code || resp.Header.Get("Retry-After") != retryAfter || got.Error.Name != name {
			t.Fatalf("got %d, Retry-After %q, %s; want %d, %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body, code, retryAfter, name)
		}
	}
}

// wantErr expects the exchange to fail, with target in the chain if given.
func wantErr(target error) func(*testing.T, *http.Response, []byte, error) {
	return func(t *testing.T, resp *http.Response, body []byte, err error) {
		t.Helper()
		if err == nil || (target != nil && !errors.Is(err, target)) {
			t.Fatalf("got %v, %s; want an error matching %v", err, body, target)
		}
	}
}

func TestFaultsAreUsedInOrderPerEndpoint(t *testing.T) {
	f := newFixture(t)
	id := f.submit(t, validReq)
	f.sim.Inject(SubmitEndpoint, Fault{Status: 429}, Fault{Status: 503})
	f.sim.Inject(PollEndpoint, Fault{Status: 502})

	poll := newRoute + "?generation_id=" + id
	for i, want := range []struct {
		method, target string
		code           int
	}{
		{"GET", poll, 502},
		{"POST", oldRoute, 429}, // the legacy route shares the endpoint
		{"GET", oldRoute + "?generation_id=" + id, 200},
		{"POST", newRoute, 503},
		{"POST", newRoute, 200},
	} {
		if w := f.call(t, want.method, want.target, testKey, validReq); w.Code != want.code {
			t.Fatalf("request %d (%s %s): status %d, want %d", i, want.method, want.target, w.Code, want.code)
		}
	}
}

func TestParseDirectives(t *testing.T) {
	tests := []struct {
		prompt  string
		want    directives
		unknown int
	}{
		{"", directives{}, 0},
		{"a calm sea, sim: not quite", directives{}, 1},
		{"sim:error sim:never sim:vanish sim:legacy", directives{fail: true, never: true, vanish: true, legacy: true}, 0},
		{"sim:status=in_progress sim:gen=2", directives{status: "in_progress", gen: 2 * time.Second}, 0},
		{"sim:gen=0 sim:gen=1e300 sim:status= SIM:error", directives{}, 3},
	}
	for _, tt := range tests {
		got, unknown := parseDirectives(tt.prompt)
		if got != tt.want || len(unknown) != tt.unknown {
			t.Errorf("parseDirectives(%q) = %+v, %v; want %+v and %d unknown", tt.prompt, got, unknown, tt.want, tt.unknown)
		}
	}
}
