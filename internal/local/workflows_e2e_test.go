package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/webhook"
)

// The logical ids of the template's other state machines.
const (
	videoBatch    = "VideoBatchStateMachine"
	exampleParent = "ExampleParentStateMachine"
	webhookFlow   = "WebhookStateMachine"
)

// runExecution starts machine with input through the admin route, as a
// user of make run would, and waits for it to end.
func runExecution(t *testing.T, rt *Runtime, machine, input string) states.Execution {
	t.Helper()
	resp, err := http.Post(rt.URL+"/local/state-machines/"+machine+"/executions", "application/json", strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var started struct{ Name string }
	if err := json.NewDecoder(resp.Body).Decode(&started); err != nil || resp.StatusCode/100 != 2 || started.Name == "" {
		t.Fatalf("start %s: %d %+v %v", machine, resp.StatusCode, started, err)
	}
	return waitExecution(t, rt, machine, started.Name)
}

func waitExecution(t *testing.T, rt *Runtime, machine, name string) states.Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	exe, err := rt.Engine.Wait(ctx, machine, name)
	if err != nil {
		t.Fatalf("wait for %s %s: %v", machine, name, err)
	}
	return exe
}

// batchRequests makes n valid requests, each with a prompt naming it.
func batchRequests(n int) []map[string]any {
	reqs := make([]map[string]any, n)
	for i := range reqs {
		reqs[i] = map[string]any{"model": job.Model, "image_url": "https://example.com/a.jpg", "prompt": fmt.Sprintf("scene %d", i)}
	}
	return reqs
}

// TestBatchHoldsMaxConcurrencyAndRunsOnce runs a batch of 8 jobs with
// max_concurrency 3 through the batch state machine: the simulator never
// sees more than 3 generations in flight, every job ends and is queryable
// by the batch's tenant, one bad item is reported with its field, and
// running the same batch again submits nothing.
func TestBatchHoldsMaxConcurrencyAndRunsOnce(t *testing.T) {
	rt := start(t, testConfig(t))
	items := batchRequests(8)
	items[5]["duration"] = 7 // refused by Register, naming the field
	body, _ := json.Marshal(map[string]any{"batch_id": "nightly-1", "tenant": "tenantA", "max_concurrency": 3, "jobs": items})

	exe := runExecution(t, rt, videoBatch, string(body))
	if exe.Status != states.Succeeded {
		t.Fatalf("batch: %s %+v", exe.Status, exe.Error)
	}
	var sum batch.Summary
	if err := json.Unmarshal(exe.Output, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.BatchID != "nightly-1" || sum.Total != 8 || sum.Counts["completed"] != 7 || sum.Counts[batch.NotRegistered] != 1 || sum.FailedTotal != 1 {
		t.Fatalf("summary %s", exe.Output)
	}
	if f := sum.Failed[0]; f.Item != 5 || f.Error.Name != "ValidationError" || !strings.Contains(f.Error.Message, "duration") {
		t.Fatalf("failed item %+v", f)
	}
	stats := rt.Simulator.Stats()
	if stats.Submissions != 7 || stats.PeakActive > 3 || stats.PeakActive < 2 {
		t.Fatalf("simulator: %d submissions, peak %d in flight; want 7 and at most max_concurrency 3 (and some overlap)", stats.Submissions, stats.PeakActive)
	}
	// Each item is a normal job of the batch's tenant.
	list := call(t, "GET", rt.URL+api.PathGenerations+"?limit=100", keyA, "", "")
	if data, _ := list.body["data"].([]any); len(data) != 7 {
		t.Fatalf("tenant A lists %d jobs, want 7: %s", len(data), list.raw)
	}
	j, err := rt.Store.Get(context.Background(), firstJobID(t, rt, "nightly-1", 0))
	if err != nil || j.Batch == nil || j.Batch.ID != "nightly-1" || j.Batch.Item != 0 || j.Status != job.Completed {
		t.Fatalf("item 0's job: %+v %v", j, err)
	}

	// The same tick again (a retried schedule): every item follows the job
	// its idempotency key names; nothing is submitted twice.
	again := runExecution(t, rt, videoBatch, string(body))
	var sum2 batch.Summary
	json.Unmarshal(again.Output, &sum2)
	if again.Status != states.Succeeded || sum2.Counts["completed"] != 7 || sum2.Counts[batch.NotRegistered] != 1 {
		t.Fatalf("second run: %s %s", again.Status, again.Output)
	}
	if n := rt.Simulator.Stats().Submissions; n != 7 {
		t.Fatalf("a repeated tick submitted again: %d submissions, want 7", n)
	}
	// One event per job, though two executions saw each end.
	if n := len(busEvents(t, rt)); n != 7 {
		t.Fatalf("%d events, want one per job (7)", n)
	}
}

// firstJobID finds the job of a batch item among the recorded jobs.
func firstJobID(t *testing.T, rt *Runtime, batchID string, item int) string {
	t.Helper()
	jobs, _, err := rt.Store.List(context.Background(), "tenantA", job.Filter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Batch != nil && j.Batch.ID == batchID && j.Batch.Item == item {
			return j.ID
		}
	}
	t.Fatalf("no job for item %d of batch %s", item, batchID)
	return ""
}

// busEvents reads the local event bus; every line must be a vidgen event of
// a job.
func busEvents(t *testing.T, rt *Runtime) []notify.Event {
	t.Helper()
	f, err := os.Open(filepath.Join(rt.dataDir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []notify.Event
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var e notify.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Source != notify.Source || e.Detail.ID == "" {
			t.Fatalf("event line %q: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	return events
}

// TestScheduledBatchFromManifest fires the template's BatchSchedule (disabled
// by default, as deployed) over a JSON Lines manifest in the data dir, where
// the distributed Map reads it locally.
func TestScheduledBatchFromManifest(t *testing.T) {
	cfg := testConfig(t)
	manifest, err := os.ReadFile(filepath.Join("..", "..", "events", "batch-manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "batches"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "batches", "daily.jsonl"), manifest, 0o600); err != nil {
		t.Fatal(err)
	}
	rt := start(t, cfg)
	resp, err := http.Post(rt.URL+"/local/schedules/BatchSchedule/fire", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var fired struct{ Machine, Name string }
	json.NewDecoder(resp.Body).Decode(&fired)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || fired.Machine != videoBatch {
		t.Fatalf("fire: %d %+v", resp.StatusCode, fired)
	}
	exe := waitExecution(t, rt, videoBatch, fired.Name)
	var sum batch.Summary
	json.Unmarshal(exe.Output, &sum)
	lines := bytes.Count(bytes.TrimSpace(manifest), []byte("\n")) + 1
	if exe.Status != states.Succeeded || sum.Total != lines || sum.Counts["completed"] != lines {
		t.Fatalf("scheduled batch: %s %s", exe.Status, exe.Output)
	}
	// The schedule's tenant (BatchTenant's default) owns the jobs.
	jobs, _, err := rt.Store.List(context.Background(), "batch", job.Filter{}, 100, "")
	if err != nil || len(jobs) != lines {
		t.Fatalf("tenant batch has %d jobs (%v), want %d", len(jobs), err, lines)
	}
}

// TestParentWorkflow runs the repository's example parent workflow, which
// starts video_job with startExecution.sync:2: a good request ends with the
// finished job's record, one the upstream fails makes the parent fail with
// the job's error name, and an invalid one with ValidationError naming the
// field.
func TestParentWorkflow(t *testing.T) {
	rt := start(t, testConfig(t))

	exe := runExecution(t, rt, exampleParent, `{"request":{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"a calm sea","tenant":"tenantA"}}`)
	var out struct {
		JobID  string `json:"job_id"`
		Status string
		Video  *job.Video
	}
	json.Unmarshal(exe.Output, &out)
	if exe.Status != states.Succeeded || out.Status != "completed" || out.Video == nil || out.Video.Key == "" {
		t.Fatalf("parent: %s %s %+v", exe.Status, exe.Output, exe.Error)
	}
	// The child's job is an ordinary job, queryable by its tenant, and its
	// id is the child execution's name.
	q := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+out.JobID, keyA, "", "")
	if q.status != 200 || q.body["status"] != "completed" {
		t.Fatalf("query the child's job: %s", q.raw)
	}
	if child, err := rt.Engine.Describe(VideoJob, out.JobID); err != nil || child.Status != states.Succeeded {
		t.Fatalf("child execution %s: %+v %v", out.JobID, child, err)
	}

	exe = runExecution(t, rt, exampleParent, `{"request":{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:error"}}`)
	var cause notify.Detail
	if exe.Error != nil {
		json.Unmarshal([]byte(exe.Error.Cause), &cause)
	}
	if exe.Status != states.Failed || exe.Error.Name != "ContentModeration" || cause.Status != job.Failed || cause.Tenant != "workflow" {
		t.Fatalf("failing job: %s %+v", exe.Status, exe.Error)
	}

	exe = runExecution(t, rt, exampleParent, `{"request":{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","duration":7}}`)
	if exe.Status != states.Failed || exe.Error.Name != "ValidationError" || !strings.Contains(exe.Error.Cause, "duration") {
		t.Fatalf("invalid request: %s %+v", exe.Status, exe.Error)
	}
}

// receiver is a webhook endpoint that verifies every delivery and fails
// the first ones.
type receiver struct {
	secret string
	fail   int // answer 503 to this many deliveries first

	mu         sync.Mutex
	deliveries []delivery
}

type delivery struct {
	id, verify string // webhook-id, and the verification error ("" if good)
	payload    notify.Payload
	status     int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d := delivery{id: r.Header.Get(notify.HeaderID), status: http.StatusNoContent}
	if err := webhook.Verify(rc.secret, r.Header, body, time.Now(), webhook.DefaultTolerance); err != nil {
		d.verify = err.Error()
	}
	json.Unmarshal(body, &d.payload)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.deliveries) < rc.fail {
		d.status = http.StatusServiceUnavailable
	}
	rc.deliveries = append(rc.deliveries, d)
	w.WriteHeader(d.status)
}

// TestWebhookRetriedAndSigned submits a job with a callback_url whose
// receiver is down for its first two deliveries: the webhook state machine
// retries, every attempt carries the same webhook-id and a signature that
// verifies with the tenant's secret from GET /v2/webhooks/secret.
func TestWebhookRetriedAndSigned(t *testing.T) {
	rt := start(t, testConfig(t))
	sec := call(t, "GET", rt.URL+api.PathWebhookSecret, keyA, "", "")
	secret, _ := sec.body["secret"].(string)
	if sec.status != 200 || !strings.HasPrefix(secret, notify.SecretPrefix) {
		t.Fatalf("webhook secret: %s", sec.raw)
	}
	rc := &receiver{secret: secret, fail: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA,
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","callback_url":"`+srv.URL+`/hooks?token=abc"}`)
	if exe.Status != states.Succeeded {
		t.Fatalf("job execution: %s %+v", exe.Status, exe.Error)
	}
	// The job's execution handed the webhook to its own state machine.
	hooks := executionsOf(t, rt, webhookFlow)
	if len(hooks) != 1 {
		t.Fatalf("%d webhook executions, want 1", len(hooks))
	}
	if hook := waitExecution(t, rt, webhookFlow, hooks[0]); hook.Status != states.Succeeded {
		t.Fatalf("webhook execution: %s %+v", hook.Status, hook.Error)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.deliveries) != 3 {
		t.Fatalf("%d deliveries, want 2 refused and 1 accepted", len(rc.deliveries))
	}
	for i, d := range rc.deliveries {
		if d.verify != "" || d.id != "msg_"+id || d.payload.Type != notify.TypeCompleted || d.payload.Data.ID != id {
			t.Errorf("delivery %d: %+v", i, d)
		}
	}
	// A wrong secret does not verify the same deliveries.
	other := call(t, "GET", rt.URL+api.PathWebhookSecret, keyB, "", "")
	if other.body["secret"] == secret {
		t.Fatal("two tenants share a webhook secret")
	}
}

// executionsOf lists the names of a machine's executions.
func executionsOf(t *testing.T, rt *Runtime, machine string) []string {
	t.Helper()
	resp, err := http.Get(rt.URL + "/local/state-machines/" + machine + "/executions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Executions []struct{ Name string } `json:"executions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("list executions of %s: %d %v", machine, resp.StatusCode, err)
	}
	var names []string
	for _, e := range list.Executions {
		names = append(names, e.Name)
	}
	return names
}

// TestArchivedVideoOutlivesUpstreamLink lets the upstream's signed video
// link expire (the simulator's, like a CDN's) and checks that the job's
// video is still served: the API links vidgen's own copy.
func TestArchivedVideoOutlivesUpstreamLink(t *testing.T) {
	cfg := testConfig(t)
	cfg.SimVideoURLTTL = 10 * time.Minute
	rt := start(t, cfg)
	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
	if exe.Status != states.Succeeded {
		t.Fatalf("execution: %s %+v", exe.Status, exe.Error)
	}
	j, err := rt.Store.Get(context.Background(), id)
	if err != nil || j.Video == nil || j.Video.Key == "" || !strings.Contains(j.Video.URL, "/sim/") {
		t.Fatalf("record: %+v %v", j, err)
	}
	// Past the link's lifetime on the runtime's clock, the upstream refuses
	// the URL the record keeps as its source.
	if err := rt.Clock.Sleep(context.Background(), cfg.SimVideoURLTTL+time.Minute); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(j.Video.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the upstream's link after it expired: %d, want 403", resp.StatusCode)
	}
	q := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", "")
	video, _ := q.body["video"].(map[string]any)
	link, _ := video["url"].(string)
	if !strings.HasPrefix(link, rt.URL+"/files/") {
		t.Fatalf("query: %s", q.raw)
	}
	assertMP4(t, link)
}
