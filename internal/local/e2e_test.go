package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/boltkeys"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
)

const (
	keyA = "key-of-tenant-a"
	keyB = "key-of-tenant-b"
	// timeScale makes a 25 s generation take 25 ms; tests wait on the
	// execution itself, never on elapsed time.
	timeScale = 1000
)

func testConfig(t testing.TB) Config {
	t.Helper()
	return Config{
		Addr:      "127.0.0.1:0",
		APIKeys:   "tenantA:" + keyA + ",tenantB:" + keyB,
		TimeScale: timeScale,
		DataDir:   t.TempDir(),
		Template:  filepath.Join("..", "..", "template.yaml"),
		// A deadline no healthy job comes near, even on a loaded machine (30
		// min is 1.8 s of real time at timeScale): tests of the deadline set
		// their own.
		JobDeadline: 30 * time.Minute,
	}
}

func start(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	rt, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, method, url, key, contentType, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	checkContract(t, req, []byte(body), resp, raw)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, url, ct, raw)
	}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %s", method, url, raw)
	}
	return r
}

// submitAndFinish submits body on route and waits for the job's execution.
func submitAndFinish(t *testing.T, rt *Runtime, route, key, body string) (string, states.Execution) {
	t.Helper()
	r := call(t, "POST", rt.URL+route, key, "application/json", body)
	if r.status != 200 || r.body["status"] != "queued" {
		t.Fatalf("submit: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	return id, waitStarted(t, rt, id)
}

// stopOnceSubmitted waits for the upstream to accept job id and then stops
// the job's execution, leaving the job open with nothing driving it: an
// orphan, for the reconciler to resume.
func stopOnceSubmitted(t *testing.T, rt *Runtime, id string) {
	t.Helper()
	waitFor(t, func() bool { j, _ := rt.Store.Get(context.Background(), id); return j.UpstreamID != "" })
	rt.Engine.Stop(VideoJob, id, "stopped by the test")
	waitExecution(t, rt, VideoJob, id)
}

// submitOrphan submits body as tenant key and makes the job an orphan (see
// stopOnceSubmitted); it returns the job's id.
func submitOrphan(t *testing.T, rt *Runtime, key, body string) string {
	t.Helper()
	r := call(t, "POST", rt.URL+api.PathGenerations, key, "application/json", body)
	if r.status != 200 {
		t.Fatalf("submit: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	stopOnceSubmitted(t, rt, id)
	return id
}

// submitWithKey submits body as tenant key under an Idempotency-Key and
// answers the status and the job id. It reports rather than fails, so
// goroutines may call it; the API answers JSON even when it refuses.
func submitWithKey(rt *Runtime, key, idempotencyKey, body string) (status int, id string, err error) {
	req, err := http.NewRequest("POST", rt.URL+api.PathGenerations, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idempotencyKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return resp.StatusCode, "", fmt.Errorf("answer %d is not JSON: %w", resp.StatusCode, err)
	}
	return resp.StatusCode, out.ID, nil
}

// waitStarted waits for the execution of job id to start and then to end.
// Under admission caps the API answers before the dispatcher has started
// the job's execution, so it may not exist yet when the answer comes.
func waitStarted(t *testing.T, rt *Runtime, id string) states.Execution {
	t.Helper()
	waitFor(t, func() bool { _, err := rt.Engine.Describe(VideoJob, id); return err == nil })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exe, err := rt.Engine.Wait(ctx, VideoJob, id)
	if err != nil {
		t.Fatalf("wait for execution %s: %v", id, err)
	}
	return exe
}

func TestHappyPathBothRoutes(t *testing.T) {
	rt := start(t, testConfig(t))
	for _, tc := range []struct{ route, body string }{
		{api.PathGenerations, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"a dragon","aspect_ratio":"9:16","duration":10,"seed":7}`},
		{api.PathLegacy, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"a dragon","ratio":"16:9"}`},
	} {
		t.Run(tc.route, func(t *testing.T) {
			id, exe := submitAndFinish(t, rt, tc.route, keyA, tc.body)
			if exe.Status != states.Succeeded {
				t.Fatalf("execution %s: %+v", exe.Status, exe.Error)
			}
			for _, route := range []string{api.PathGenerations, api.PathLegacy} {
				r := call(t, "GET", rt.URL+route+"?generation_id="+id, keyA, "", "")
				if r.status != 200 || r.body["status"] != "completed" || r.body["id"] != id || r.body["error"] != nil {
					t.Fatalf("query: %d %s", r.status, r.raw)
				}
				for _, field := range []string{"created_at", "updated_at", "meta"} {
					if r.body[field] == nil {
						t.Errorf("query: no %s in %s", field, r.raw)
					}
				}
				// The answer links to vidgen's own copy, not the upstream's.
				video := r.body["video"].(map[string]any)
				if url := video["url"].(string); !strings.HasPrefix(url, rt.URL+"/files/videos/"+id+".mp4?expires=") {
					t.Errorf("query: video URL %s, want a signed link to the archived copy", url)
				}
				if _, ok := video["key"]; ok {
					t.Errorf("query: the archive key leaks into %s", r.raw)
				}
				assertMP4(t, video["url"].(string))
			}
			j, err := rt.Store.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if n := rt.Simulator.SubmissionsOf(j.Request); n != 1 {
				t.Fatalf("upstream saw %d submissions of the job, want 1", n)
			}
		})
	}
}

func assertMP4(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("video %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if len(data) < 1000 || !bytes.Equal(data[4:8], []byte("ftyp")) || !bytes.Contains(data, []byte("moov")) {
		t.Fatalf("video %s is not an MP4 (%d bytes)", url, len(data))
	}
}

func TestUpstreamErrorEndsJob(t *testing.T) {
	rt := start(t, testConfig(t))
	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:error"}`)
	r := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", "")
	errBody, _ := r.body["error"].(map[string]any)
	if r.body["status"] != "error" || errBody == nil || errBody["name"] == "" || r.body["video"] != nil {
		t.Fatalf("query: %s", r.raw)
	}
	// The execution fails with the job's own error name, and its record as
	// the cause, for a caller's Catch.
	var cause map[string]any
	json.Unmarshal([]byte(exe.Error.Cause), &cause)
	if exe.Status != states.Failed || exe.Error.Name != errBody["name"] || cause["id"] != id || cause["status"] != "error" {
		t.Fatalf("execution: %s %+v", exe.Status, exe.Error)
	}
}

func TestJobsEndAtTheirDeadline(t *testing.T) {
	cfg := testConfig(t)
	// A slower clock than the other tests: the job must poll more than once
	// before its deadline even on a loaded machine (2 min = 1.2 s here).
	cfg.TimeScale = 100
	cfg.JobDeadline = 2 * time.Minute
	rt := start(t, cfg)
	for _, prompt := range []string{"sim:never", "sim:never sim:status=rendering"} {
		t.Run(prompt, func(t *testing.T) {
			id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"`+prompt+`"}`)
			if exe.Status != states.Failed {
				t.Fatalf("execution %s", exe.Status)
			}
			j, _ := rt.Store.Get(context.Background(), id)
			if j.Status != job.Failed || j.Error.Name != job.ErrNameTimedOut || j.Polls < 2 {
				t.Fatalf("record: %+v", j)
			}
		})
	}
}

func TestUnknownStatusKeepsPolling(t *testing.T) {
	// A long generation, so polls surely see the unknown status first.
	cfg := testConfig(t)
	cfg.JobDeadline = 30 * time.Minute
	rt := start(t, cfg)
	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=600 sim:status=rendering"}`)
	j, _ := rt.Store.Get(context.Background(), id)
	if exe.Status != states.Succeeded || j.Status != job.Completed || j.Polls < 2 {
		t.Fatalf("execution %s, record %+v", exe.Status, j)
	}
}

func TestBadRequests(t *testing.T) {
	rt := start(t, testConfig(t))
	url := rt.URL + api.PathGenerations
	valid := `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`
	tests := []struct {
		name, method, url, key, ctype, body string
		status                              int
		errName                             string
		fields                              []string
	}{
		{"every bad field named", "POST", url, keyA, "application/json",
			`{"model":"gen3a_turbo","image_url":"ftp://x/a.png","duration":3,"aspect_ratio":"1:1","seed":-1,"prompt":"` + strings.Repeat("x", 1001) + `","colour":"red"}`,
			400, "ValidationError", []string{"aspect_ratio", "colour", "duration", "image_url", "prompt", "seed"}},
		{"unknown model", "POST", url, keyA, "application/json", `{"model":"gen4","image_url":"ftp://x/a.png","duration":3}`,
			400, "ValidationError", []string{"model"}},
		{"every bad field of a Kling request named", "POST", url, keyA, "application/json",
			`{"model":"klingai/v2-master-image-to-video","image_url":"http://x/a.png","duration":7,"aspect_ratio":"4:3","colour":"red"}`,
			400, "ValidationError", []string{"aspect_ratio", "colour", "duration", "image_url"}},
		{"malformed JSON", "POST", url, keyA, "application/json", `{"model":`, 400, "ValidationError", []string{"body"}},
		{"deep nesting", "POST", url, keyA, "application/json", `{"model":"gen3a_turbo","image_url":"https://e.com/a.png","prompt":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, 400, "ValidationError", []string{"body"}},
		{"duplicate keys", "POST", url, keyA, "application/json", `{"model":"gen3a_turbo","image_url":"https://e.com/a.png","image_url":"https://e.com/b.png"}`, 400, "ValidationError", []string{"image_url"}},
		{"a duplicate key named with every other problem", "POST", url, keyA, "application/json",
			`{"model":"klingai/v2-master-text-to-video","prompt":"a","prompt":"b","duration":7,"bogus":1}`, 400, "ValidationError", []string{"bogus", "duration", "prompt"}},
		{"a Luma keyframe that is no image or generation", "POST", url, keyA, "application/json",
			`{"model":"luma/ray-2","prompt":"a","keyframes":{"frame0":42}}`, 400, "ValidationError", []string{"keyframes.frame0"}},
		{"invalid UTF-8", "POST", url, keyA, "application/json", "{\"model\":\"gen3a_turbo\",\"image_url\":\"https://e.com/a.png\",\"prompt\":\"\xff\xfe\"}", 400, "ValidationError", []string{"body"}},
		{"huge numbers", "POST", url, keyA, "application/json", `{"model":"gen3a_turbo","image_url":"https://e.com/a.png","seed":1e999999,"duration":123456789012345678901234567890}`, 400, "ValidationError", []string{"duration", "seed"}},
		{"non-image data URI", "POST", url, keyA, "application/json", `{"model":"gen3a_turbo","image_url":"data:text/html;base64,PHNjcmlwdD4="}`, 400, "ValidationError", []string{"image_url"}},
		{"javascript, file and http URLs", "POST", url, keyA, "application/json", `{"model":"gen3a_turbo","image_url":"javascript:alert(1)","tail_image_url":"file:///etc/passwd"}`, 400, "ValidationError", []string{"image_url", "tail_image_url"}},
		{"http URL", "POST", url, keyA, "application/json", `{"model":"gen3a_turbo","image_url":"http://e.com/a.png"}`, 400, "ValidationError", []string{"image_url"}},
		{"wrong content type", "POST", url, keyA, "text/plain", valid, 415, "UnsupportedMediaType", nil},
		{"no content type", "POST", url, keyA, "", valid, 415, "UnsupportedMediaType", nil},
		{"too large", "POST", url, keyA, "application/json", `{"prompt":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, 413, "PayloadTooLarge", nil},
		{"no key", "POST", url, "", "application/json", valid, 401, "Unauthorized", nil},
		{"wrong key", "GET", url + "?generation_id=x", "nope", "", "", 401, "Unauthorized", nil},
		{"missing id on the legacy route", "GET", rt.URL + api.PathLegacy, keyA, "", "", 400, "ValidationError", []string{"generation_id"}},
		{"bad list parameters", "GET", url + "?limit=500&status=done", keyA, "", "", 400, "ValidationError", []string{"limit", "status"}},
		{"unknown id", "GET", url + "?generation_id=nope", keyA, "", "", 404, "NotFound", nil},
		{"unknown route", "GET", rt.URL + "/v1/other", keyA, "", "", 404, "NotFound", nil},
		{"wrong method", "PUT", url, keyA, "application/json", valid, 405, "MethodNotAllowed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, tt.url, tt.key, tt.ctype, tt.body)
			e, _ := r.body["error"].(map[string]any)
			if r.status != tt.status || e == nil || e["name"] != tt.errName || e["message"] == "" {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
			var fields []string
			if fs, ok := e["fields"].([]any); ok {
				for _, f := range fs {
					fields = append(fields, f.(map[string]any)["field"].(string))
				}
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("fields = %v, want %v", fields, tt.fields)
			}
		})
	}
	if n := rt.Simulator.Submissions(); n != 0 {
		t.Fatalf("bad requests reached the upstream %d times", n)
	}
}

func TestJobsAreVisibleOnlyToTheirTenant(t *testing.T) {
	rt := start(t, testConfig(t))
	id, _ := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
	other := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyB, "", "")
	missing := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id=does-not-exist", keyB, "", "")
	if other.status != 404 || missing.status != 404 {
		t.Fatalf("other tenant got %d %s", other.status, other.raw)
	}
	if strings.ReplaceAll(other.raw, id, "X") != strings.ReplaceAll(missing.raw, "does-not-exist", "X") {
		t.Fatalf("another tenant's job answers differently from a missing one:\n%s\n%s", other.raw, missing.raw)
	}
}

func TestRecordsSurviveRestart(t *testing.T) {
	cfg := testConfig(t)
	rt := start(t, cfg)
	id, _ := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
	before := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", "")
	oldURL := rt.URL
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	rt = start(t, cfg)
	after := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", "")
	// Each answer carries a fresh video link; the rest is the record.
	link := regexp.MustCompile(`"url":"[^"]*"`)
	if before.status != 200 || link.ReplaceAllString(after.raw, "") != link.ReplaceAllString(before.raw, "") {
		t.Fatalf("record changed across restart:\n%s\n%s", before.raw, after.raw)
	}
	// The signing key survives too: a link handed out before the restart
	// still works, at the new address.
	old := before.body["video"].(map[string]any)["url"].(string)
	assertMP4(t, rt.URL+strings.TrimPrefix(old, oldURL))
}

// TestReferenceClient runs the upstream documentation's Python client flow
// against the local runtime, as a newcomer would.
func TestReferenceClient(t *testing.T) {
	rt := start(t, testConfig(t))
	cmd := exec.Command("python3", filepath.Join("..", "..", "examples", "reference_client.py"))
	cmd.Env = append(os.Environ(), "VIDGEN_URL="+rt.URL, "VIDGEN_KEY="+keyA, "POLL_SECONDS=0.01", "TIMEOUT_SECONDS=60")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("reference client: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"status": "completed"`) {
		t.Fatalf("reference client did not see completed:\n%s", out)
	}
}

// Duplicate submits with one Idempotency-Key, all at once, make one job and
// one upstream submission.
func TestConcurrentIdempotentSubmitsEndToEnd(t *testing.T) {
	rt := start(t, testConfig(t))
	body := `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"one of a kind"}`
	const callers = 20
	ids := make(chan string, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, id, err := submitWithKey(rt, keyA, "same-key", body)
			if err != nil || status != 200 {
				t.Errorf("status %d: %v", status, err)
				return
			}
			ids <- id
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Fatalf("%d jobs for one idempotency key", len(seen))
	}
	for id := range seen {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if exe, err := rt.Engine.Wait(ctx, VideoJob, id); err != nil || exe.Status != states.Succeeded {
			t.Fatalf("execution: %+v %v", exe, err)
		}
		j, _ := rt.Store.Get(ctx, id)
		if n := rt.Simulator.SubmissionsOf(j.Request); n != 1 {
			t.Fatalf("%d upstream submissions, want 1", n)
		}
	}
}

func TestCancelEndToEnd(t *testing.T) {
	cfg := testConfig(t)
	cfg.JobDeadline = 30 * time.Minute
	rt := start(t, cfg)
	ctx := context.Background()
	r := call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=600"}`)
	id := r.body["id"].(string)
	waitFor(t, func() bool { j, _ := rt.Store.Get(ctx, id); return j.UpstreamID != "" })

	url := rt.URL + api.PathGenerations + "?generation_id=" + id
	if r := call(t, "DELETE", url, keyB, "", ""); r.status != 404 {
		t.Fatalf("another tenant cancelled: %d %s", r.status, r.raw)
	}
	r = call(t, "DELETE", url, keyA, "", "")
	if r.status != 200 || r.body["status"] != "error" || r.body["error"].(map[string]any)["name"] != "Cancelled" {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	// The execution finds the record final at its next step and fails with
	// the job's error name, so a parent workflow's Catch sees Cancelled; the
	// end is announced like any other.
	exe, err := rt.Engine.Wait(ctx, VideoJob, id)
	if err != nil || exe.Status != states.Failed || exe.Error.Name != job.ErrNameCancelled {
		t.Fatalf("execution after cancel: %+v %v", exe, err)
	}
	if n := len(busEvents(t, rt)); n != 1 {
		t.Fatalf("%d events after the cancel, want 1", n)
	}
	if j, _ := rt.Store.Get(ctx, id); j.Error == nil || j.Error.Name != job.ErrNameCancelled {
		t.Fatalf("record after cancel: %+v", j)
	}
	if r := call(t, "DELETE", url, keyA, "", ""); r.status != 200 {
		t.Fatalf("repeat cancel: %d %s", r.status, r.raw)
	}
	done, _ := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/b.jpg"}`)
	if r := call(t, "DELETE", rt.URL+api.PathGenerations+"?generation_id="+done, keyA, "", ""); r.status != 409 {
		t.Fatalf("cancel of a completed job: %d %s", r.status, r.raw)
	}
}

// TestAuthMatrix sends every route without a key, with a wrong or revoked
// key and as another tenant: the first two are 401, the third answers like a missing job.
func TestAuthMatrix(t *testing.T) {
	rt := start(t, testConfig(t))
	id, _ := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
	body := `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`
	// A revoked key of tenant A, stored as vidgen-keys stores keys.
	keys, err := boltkeys.New(rt.Store.DB())
	if err != nil {
		t.Fatal(err)
	}
	revoked, hash, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Put(context.Background(), apikey.Key{Hash: hash, Tenant: "tenantA", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Revoke(context.Background(), hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{api.PathGenerations, api.PathLegacy} {
		for _, route := range []struct{ method, query, body string }{
			{"POST", "", body}, {"GET", "?generation_id=" + id, ""}, {"DELETE", "?generation_id=" + id, ""},
		} {
			url := rt.URL + path + route.query
			ctype := ""
			if route.body != "" {
				ctype = "application/json"
			}
			for _, key := range []string{"", "wrong-key", "Basic " + keyA, revoked} {
				if r := call(t, route.method, url, key, ctype, route.body); r.status != 401 {
					t.Errorf("%s %s with key %q: %d %s", route.method, path, key, r.status, r.raw)
				}
			}
			if route.method != "POST" {
				if r := call(t, route.method, url, keyB, ctype, route.body); r.status != 404 {
					t.Errorf("%s %s as another tenant: %d %s", route.method, path, r.status, r.raw)
				}
			}
		}
	}
	if r := call(t, "GET", rt.URL+api.PathGenerations, "", "", ""); r.status != 401 {
		t.Errorf("list without key: %d", r.status)
	}
	r := call(t, "GET", rt.URL+api.PathGenerations, keyB, "", "")
	if r.status != 200 || len(r.body["data"].([]any)) != 0 {
		t.Errorf("another tenant's list shows jobs: %s", r.raw)
	}
	r = call(t, "GET", rt.URL+api.PathGenerations, keyA, "", "")
	if data := r.body["data"].([]any); r.status != 200 || len(data) != 1 || data[0].(map[string]any)["id"] != id {
		t.Errorf("own list: %s", r.raw)
	}
	if j, _ := rt.Store.Get(context.Background(), id); j.Status != job.Completed {
		t.Errorf("the job changed: %+v", j)
	}
}

// A restart of the runtime continues in-flight jobs with the built-in
// simulator too (its journal outlives the process), keeps finished videos
// downloadable, and never runs the clock backwards.
func TestRestartKeepsSimulatedUpstream(t *testing.T) {
	cfg := testConfig(t)
	cfg.Addr = freeAddr(t) // the same port after the restart, as make run has
	cfg.JobDeadline = 30 * time.Minute
	rt := start(t, cfg)
	ctx := context.Background()
	doneID, _ := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
	r := call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json",
		`{"model":"gen3a_turbo","image_url":"https://example.com/b.jpg","prompt":"sim:gen=300"}`)
	id := r.body["id"].(string)
	waitFor(t, func() bool { j, _ := rt.Store.Get(ctx, id); return j.Status == job.Generating })
	before, _ := rt.Store.Get(ctx, id)
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}

	rt = start(t, cfg)
	if now := rt.Clock.Now(); now.Before(before.UpdatedAt) {
		t.Fatalf("the clock ran backwards across the restart: %v < %v", now, before.UpdatedAt)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	exe, err := rt.Engine.Wait(wctx, VideoJob, id)
	if err != nil || exe.Status != states.Succeeded {
		t.Fatalf("execution after restart: %+v %v", exe, err)
	}
	j, _ := rt.Store.Get(ctx, id)
	if n := rt.Simulator.SubmissionsOf(j.Request); j.Status != job.Completed || n != 1 {
		t.Fatalf("after restart: %s with %d submissions", j.Status, n)
	}
	done := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+doneID, keyA, "", "")
	assertMP4(t, done.body["video"].(map[string]any)["url"].(string))
}
