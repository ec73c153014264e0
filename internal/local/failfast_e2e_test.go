package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/syncbuf"
)

const failfastBody = `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"a dragon"}`

// upstreamServer is the real simulator as a separate upstream, with the
// requests it got counted by method; afterSubmit runs after an accepted
// submit has been answered.
type upstreamServer struct {
	sim         *simulator.Server
	url         string
	posts, gets atomic.Int32
}

func newUpstreamServer(t *testing.T, key string, afterSubmit func(*simulator.Server)) *upstreamServer {
	t.Helper()
	u := &upstreamServer{sim: simulator.New(simulator.Config{Key: key})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		u.sim.ServeHTTP(rec, r)
		switch r.Method {
		case http.MethodPost:
			u.posts.Add(1)
			if rec.Code == http.StatusOK && afterSubmit != nil {
				afterSubmit(u.sim)
			}
		case http.MethodGet:
			u.gets.Add(1)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	u.url = srv.URL
	return u
}

// realUpstreamConfig runs the runtime against url with key, as make run
// does when AIMLAPI_KEY is set, logging JSON into logs.
func realUpstreamConfig(t *testing.T, url, key string, buf *syncbuf.Buffer) Config {
	cfg := testConfig(t)
	cfg.UpstreamURL, cfg.UpstreamKey = url, key
	// A slower clock than testConfig's: the reconciler's MinAge (2 min) is
	// 1.2 s, so however loaded the machine it never starts a second
	// execution of a job whose first is on its way.
	cfg.TimeScale = 100
	cfg.Log = logs.New(buf, slog.LevelInfo)
	return cfg
}

// An upstream 401 ends the job through the real state machine at once, as
// UpstreamAuth: for a wrong key at the submit, and for a key revoked at the
// upstream after it accepted the job, at the first poll (one poll cycle).
func TestUpstreamKeyRefusedEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name        string
		key         string // the runtime's; the upstream's is sk-right
		afterSubmit func(*simulator.Server)
		posts, gets int32
		polls       int
	}{
		{name: "wrong key at submit", key: "sk-wrong", posts: 1, gets: 0},
		{name: "key revoked after the submit", key: "sk-right", afterSubmit: func(s *simulator.Server) { s.SetKey("sk-rotated") }, posts: 1, gets: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstreamServer(t, "sk-right", tc.afterSubmit)
			logs := &syncbuf.Buffer{}
			rt := start(t, realUpstreamConfig(t, up.url, tc.key, logs))

			id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, failfastBody)

			if exe.Status != states.Failed || exe.Error == nil || exe.Error.Name != job.ErrNameUpstreamAuth {
				t.Fatalf("execution %s %+v, want states.Failed with %s", exe.Status, exe.Error, job.ErrNameUpstreamAuth)
			}
			r := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", "")
			errBody, _ := r.body["error"].(map[string]any)
			if r.body["status"] != "error" || errBody == nil || errBody["name"] != job.ErrNameUpstreamAuth ||
				!strings.Contains(errBody["message"].(string), "refused vidgen's key (HTTP 401") {
				t.Fatalf("query: %s", r.raw)
			}
			j, err := rt.Store.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Polls != tc.polls {
				t.Errorf("record has %d polls, want %d", j.Polls, tc.polls)
			}
			if p, g := up.posts.Load(), up.gets.Load(); p != tc.posts || g != tc.gets {
				t.Errorf("upstream got %d submits and %d polls, want %d and %d", p, g, tc.posts, tc.gets)
			}
			line := logLine(logs, id, "refused: fix the upstream key")
			if line["level"] != "ERROR" || !strings.Contains(fmt.Sprint(line["err"]), "key refused (HTTP 401)") {
				t.Errorf("the job's line saying the key was refused = %v; want it at ERROR with the error\n%s", line, logs)
			}
			// The count the UpstreamAuth alarm monitors (JobsEnded by Error).
			resp, err := http.Get(rt.URL + MetricsPath)
			if err != nil {
				t.Fatal(err)
			}
			metricsText, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := `vidgen_jobs_ended_total{stage="local",status="error",error="UpstreamAuth"} 1`; !strings.Contains(string(metricsText), want) {
				t.Errorf("GET %s lacks %s:\n%s", MetricsPath, want, metricsText)
			}
			for _, key := range []string{"sk-right", "sk-wrong", "sk-rotated"} {
				if strings.Contains(logs.String(), key) || strings.Contains(r.raw, key) {
					t.Errorf("a key appears in the logs or the record")
				}
			}
		})
	}
}

// GET /v1/health answers without a key through the runtime's gateway, and
// make run's banner prints the same checks and says the runtime is offline.
func TestHealthEndToEnd(t *testing.T) {
	rt := start(t, testConfig(t))
	r := call(t, "GET", rt.URL+api.PathHealth, "", "", "")
	want := map[string]any{"status": "ok", "failing": []any{},
		"checks": map[string]any{api.CheckStore: true, api.CheckStateMachines: true, api.CheckUpstreamKey: true}}
	if r.status != 200 || !jsonEqual(r.body, want) {
		t.Fatalf("GET %s: %d %s", api.PathHealth, r.status, r.raw)
	}
	banner := rt.Banner()
	for _, s := range []string{"upstream: OFFLINE, the built-in simulator at " + rt.URL + "/sim",
		"checks (GET /v1/health): store ok, state_machines ok, upstream_key ok"} {
		if !strings.Contains(banner, s) {
			t.Errorf("banner lacks %q:\n%s", s, banner)
		}
	}

	// A store that no longer answers fails the route and the checks.
	rt.Store.Close()
	r = call(t, "GET", rt.URL+api.PathHealth, "", "", "")
	if r.status != 503 || r.body["status"] != "failing" || !jsonEqual(r.body["failing"], []any{api.CheckStore}) {
		t.Errorf("with the store closed: %d %s", r.status, r.raw)
	}
}

// logLine is the first line of logs (JSON lines) whose msg ends with msg
// and which has a field whose value is id.
func logLine(logs *syncbuf.Buffer, id, msg string) map[string]any {
	for text := range strings.SplitSeq(logs.String(), "\n") {
		var line map[string]any
		if json.Unmarshal([]byte(text), &line) != nil {
			continue
		}
		if m, _ := line["msg"].(string); !strings.HasSuffix(m, msg) {
			continue
		}
		for _, v := range line {
			if v == id {
				return line
			}
		}
	}
	return nil
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// make run with AIMLAPI_KEY set and the upstream unreachable (no network
// here): the banner says so at start with the underlying error, and the
// first job's first submit logs, at ERROR, the URL it could not reach and
// why, long before the job's deadline ends it.
func TestUnreachableUpstreamEndToEnd(t *testing.T) {
	closed := "http://" + freeAddr(t) // nothing listens there
	logs := &syncbuf.Buffer{}
	cfg := realUpstreamConfig(t, closed, "sk-wrong", logs)
	// The first submit must come before the deadline (1.2 s here) ends
	// the job, even on a loaded machine.
	cfg.JobDeadline = 2 * time.Minute
	rt := start(t, cfg)

	banner := rt.Banner()
	if !strings.Contains(banner, "upstream: the real AI/ML API at "+closed+" (AIMLAPI_KEY is set), NOT REACHABLE: probe upstream: ") ||
		!strings.Contains(banner, "connection refused") {
		t.Errorf("banner does not say the upstream is unreachable and why:\n%s", banner)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"the upstream cannot be reached`) {
		t.Errorf("no start-up warning:\n%s", logs)
	}

	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, failfastBody)

	j, err := rt.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if exe.Status != states.Failed || j.Error == nil || j.Error.Name != job.ErrNameTimedOut {
		t.Fatalf("execution %s, record %+v; want it TimedOut", exe.Status, j.Error)
	}
	first := logLine(logs, id, "submit not accepted, will retry")
	errText, _ := first["err"].(string)
	if first["level"] != "ERROR" || first["msg"] != "submit not accepted, will retry" ||
		!strings.Contains(errText, closed+"/v2/video/generations") || !strings.Contains(errText, "connection refused") {
		t.Errorf("the job's first submit logged %v; want an ERROR naming the URL and the underlying error\n%s", first, logs)
	}
	if strings.Contains(logs.String(), "sk-wrong") {
		t.Error("the key appears in the logs")
	}
}
