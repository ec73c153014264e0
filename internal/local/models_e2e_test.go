package local

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/catalog/catalogtest"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/simulator"
)

// recorder is an upstream in front of a simulator that keeps every create
// body it is sent, as sent.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
	sim    *simulator.Server
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		rec.bodies = append(rec.bodies, b)
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	rec.sim.ServeHTTP(w, r)
}

// received are the create bodies sent for model id.
func (rec *recorder) received(id string) []map[string]any {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []map[string]any
	for _, b := range rec.bodies {
		if body := catalogtest.Decode(b); body["model"] == id {
			out = append(out, body)
		}
	}
	return out
}

// For one model of every provider (and gen3a_turbo), a request goes from
// the API through the state machine to the upstream (the simulator, over
// HTTP) and completes; the upstream receives exactly the body the client
// sent (gen3a_turbo's with its defaults made explicit), once, and the
// record keeps the model.
func TestEveryProvidersModelEndToEnd(t *testing.T) {
	rec := &recorder{sim: simulator.New(simulator.Config{Key: "upstream-key", QueueTime: -1, GenerationTime: 20 * time.Millisecond})}
	front := httptest.NewServer(rec)
	t.Cleanup(front.Close)
	cfg := testConfig(t)
	cfg.UpstreamURL, cfg.UpstreamKey = front.URL, "upstream-key"
	// Kling master's 10-s prior is over 12 min: room for any first poll.
	cfg.JobDeadline = 2 * time.Hour
	rt := start(t, cfg)

	gen3, _ := catalogtest.Builtin(t).Lookup(job.Model)
	models := append(catalogtest.ByProvider(t, "klingai/v2-master-text-to-video", "google/veo-3.1-t2v", "runway/gen4_turbo"), gen3)
	for _, m := range models {
		t.Run(m.ID, func(t *testing.T) {
			sent := catalogtest.Body(m, "https://media.example.com/")
			raw, _ := json.Marshal(sent)
			// call checks the request and the answer against the OpenAPI
			// document, which describes every model's request.
			id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, string(raw))
			if exe.Status != states.Succeeded {
				t.Fatalf("execution %s: %+v", exe.Status, exe.Error)
			}
			j, err := rt.Store.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status != job.Completed || j.Video == nil || j.Request.Model != m.ID {
				t.Fatalf("job %s: %+v", id, j)
			}
			want := expected(m, sent)
			got := rec.received(m.ID)
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Errorf("upstream received %v, want once %v", got, want)
			}
			if r := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", ""); r.status != 200 || r.body["status"] != "completed" {
				t.Errorf("GET: %d %s", r.status, r.raw)
			}
		})
	}
}

// expected is what the upstream must receive for a request body sent: the
// body itself, but for gen3a_turbo's defaults, which vidgen records.
func expected(m *catalog.Model, sent map[string]any) map[string]any {
	want := maps.Clone(sent)
	if m.ID == job.Model {
		for k, v := range map[string]any{"aspect_ratio": job.DefaultAspectRatio, "duration": json.Number("5")} {
			if _, ok := want[k]; !ok {
				want[k] = v
			}
		}
	}
	return want
}

// A batch of one request per provider's model, and one for a model the
// catalogue does not have: the real video_batch machine starts a job per
// item, each model's completes with its body received upstream as given,
// and the unknown model's item is refused without a job.
func TestBatchOfEveryProvidersModel(t *testing.T) {
	rec := &recorder{sim: simulator.New(simulator.Config{Key: "upstream-key", QueueTime: -1, GenerationTime: 20 * time.Millisecond})}
	front := httptest.NewServer(rec)
	t.Cleanup(front.Close)
	cfg := testConfig(t)
	cfg.UpstreamURL, cfg.UpstreamKey = front.URL, "upstream-key"
	cfg.JobDeadline = 2 * time.Hour
	rt := start(t, cfg)

	models := catalogtest.ByProvider(t, "klingai/v2-master-text-to-video", "google/veo-3.1-t2v")
	var items []map[string]any
	for _, m := range models {
		items = append(items, catalogtest.Body(m, "https://media.example.com/"))
	}
	items = append(items, map[string]any{"model": "acme/unknown", "prompt": "p"})
	runBatch(t, rt, "models", 4, items)
	jobs, _, err := rt.Store.List(t.Context(), "tenantA", job.Filter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	byItem := map[int]job.Job{}
	for _, j := range jobs {
		if j.Batch != nil && j.Batch.ID == "models" {
			byItem[j.Batch.Item] = j
		}
	}
	for i, m := range models {
		j, ok := byItem[i]
		if !ok || j.Status != job.Completed || j.Request.Model != m.ID {
			t.Errorf("item %d (%s): job %+v", i, m.ID, j)
		}
		if got := rec.received(m.ID); len(got) != 1 || !reflect.DeepEqual(got[0], expected(m, items[i])) {
			t.Errorf("item %d (%s): upstream received %v, want once %v", i, m.ID, got, items[i])
		}
	}
	if j, ok := byItem[len(models)]; ok {
		t.Errorf("the unknown model's item has job %s", j.ID)
	}
}

// A batch whose every item names a model the catalogue lacks (a mistyped
// id in a daily manifest): each refusal names every supported model, and
// the real video_batch machine still ends with its summary, within Step
// Functions' 256 KiB state output, as it failed with
// States.DataLimitExceeded at 60 such items.
func TestBatchOfUnknownModelsEndsWithItsSummary(t *testing.T) {
	rt := start(t, testConfig(t))
	const n = 120
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"model": "klingai/v2.1-master-text2video", "prompt": "p"}
	}
	exe := runBatch(t, rt, "typo", 10, items)
	var out struct {
		FailedTotal int `json:"failed_total"`
		Failed      []struct {
			Error job.Error `json:"error"`
		} `json:"failed"`
	}
	if err := json.Unmarshal(exe.Output, &out); err != nil {
		t.Fatalf("output %s: %v", exe.Output, err)
	}
	if out.FailedTotal != n || len(out.Failed) != batch.MaxListed {
		t.Fatalf("failed_total %d, %d listed; want %d and %d", out.FailedTotal, len(out.Failed), n, batch.MaxListed)
	}
	if msg := out.Failed[0].Error.Message; !strings.Contains(msg, "unknown model") {
		t.Errorf("first failure %q does not name the unknown model", msg)
	}
}

// runBatch runs items as tenantA's inline batch name on the real
// video_batch machine and returns its execution, which must succeed.
func runBatch(t *testing.T, rt *Runtime, name string, concurrency int, items []map[string]any) states.Execution {
	t.Helper()
	input, _ := json.Marshal(map[string]any{"batch_id": name, "tenant": "tenantA", "max_concurrency": concurrency, "jobs": items})
	if err := rt.Engine.Start(t.Context(), videoBatch, name, input); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), faultBatchWait)
	defer cancel()
	exe, err := rt.Engine.Wait(ctx, videoBatch, name)
	if err != nil || exe.Status != states.Succeeded {
		t.Fatalf("batch %s: %v %s %+v", name, err, exe.Status, exe.Error)
	}
	return exe
}
