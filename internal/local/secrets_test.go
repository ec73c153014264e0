package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/syncbuf"
)

// TestLogsHoldNoSecrets runs the flows that log the most (success, upstream
// faults, a rejected upstream key, bad input, a large data-URI image, a
// signed webhook, a listing paged by cursor and cancel) with the runtime's
// logger at DEBUG, and scans everything logged for the upstream key, the
// API keys, the webhook secrets, the cursor key and image data.
func TestLogsHoldNoSecrets(t *testing.T) {
	const upstreamKey = "upstream-secret-9f8e7d6c5b4a"
	sim := simulator.New(simulator.Config{Key: upstreamKey, Clock: clock.NewScaled(timeScale)})
	upstream := httptest.NewServer(sim)
	defer upstream.Close()

	var buf syncbuf.Buffer
	cfg := testConfig(t)
	cfg.UpstreamURL, cfg.UpstreamKey = upstream.URL, upstreamKey
	log, err := logs.FromEnv(func(k string) string { return map[string]string{logs.EnvLevel: "DEBUG"}[k] }, &buf)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Log = log
	rt := start(t, cfg)

	image := "data:image/png;base64," + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("PNGDATA!"), 128<<10))
	bodies := []string{
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg?token=abc"}`,
		`{"model":"gen3a_turbo","image_url":"` + image + `","prompt":"large image"}`,
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:error"}`,
	}
	for _, b := range bodies {
		submitAndFinish(t, rt, api.PathGenerations, keyA, b)
	}
	sim.Inject(simulator.SubmitEndpoint, simulator.Fault{Status: 401}, simulator.Fault{Status: 500})
	submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/b.jpg"}`)
	submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/c.jpg"}`)
	call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json", `{"model":"gen3a_turbo","image_url":"data:text/html;base64,PHNjcmlwdD4="}`)
	call(t, "POST", rt.URL+api.PathGenerations, "wrong-"+keyA, "application/json", bodies[0])
	r := call(t, "GET", rt.URL+api.PathGenerations+"?limit=2", keyB, "", "")
	if r.status != 200 {
		t.Fatalf("list: %s", r.raw)
	}
	r = call(t, "POST", rt.URL+api.PathGenerations, keyB, "application/json", `{"model":"gen3a_turbo","image_url":"https://example.com/d.jpg","prompt":"sim:gen=600"}`)
	call(t, "DELETE", rt.URL+api.PathGenerations+"?generation_id="+r.body["id"].(string), keyB, "", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt.Engine.Wait(ctx, VideoJob, r.body["id"].(string))
	// A webhook signed with tenant A's secret, which the API hands out.
	rc, hook := hookReceiver(t, rt)
	hooked, _ := submitAndFinish(t, rt, api.PathGenerations, keyA,
		`{"model":"gen3a_turbo","image_url":"https://example.com/e.jpg","callback_url":"`+hook+`"}`)
	if w := waitExecution(t, rt, webhookFlow, hooked); w.Status != states.Succeeded || len(rc.deliveries) == 0 {
		t.Fatalf("webhook execution %s, %d deliveries", w.Status, len(rc.deliveries))
	}
	// A listing paged by signed cursors.
	next := ""
	for pages := 0; pages == 0 || next != ""; pages++ {
		r = call(t, "GET", rt.URL+api.PathGenerations+"?limit=1&next="+url.QueryEscape(next), keyA, "", "")
		if r.status != 200 || pages > 20 {
			t.Fatalf("list page %d: %s", pages, r.raw)
		}
		next, _ = r.body["next"].(string)
		if pages == 0 && next == "" {
			t.Fatalf("the first page of one has no cursor: %s", r.raw)
		}
	}

	out := buf.String()
	for _, want := range []string{`"msg":"request"`, "job failed", "webhook delivered", `"level":"DEBUG"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("the flows logged too little to judge (no %s):\n%s", want, out)
		}
	}
	secrets := map[string]string{
		"the upstream key": upstreamKey, "an API key": keyA, "another API key": keyB,
		"image data": "UE5HREFUQSFQTkdEQVRB", "a data URI": "base64,", "an Authorization header": "Bearer",
		"the webhook secret": rc.secret,
	}
	// The keys the runtime keeps in its data dir, in every encoding a
	// careless line could use.
	for _, file := range []string{"cursor.key", "webhook.key"} {
		key, err := os.ReadFile(filepath.Join(rt.dataDir, file))
		if err != nil || len(key) == 0 {
			t.Fatalf("%s: %v", file, err)
		}
		secrets[file] = string(key)
		secrets[file+" in hex"] = hex.EncodeToString(key)
		secrets[file+" in base64"] = base64.StdEncoding.EncodeToString(key)[:40]
		secrets[file+" in base64url"] = base64.RawURLEncoding.EncodeToString(key)[:40]
	}
	for what, secret := range secrets {
		if strings.Contains(out, secret) {
			i := strings.Index(out, secret)
			t.Errorf("the logs hold %s: …%s…", what, out[max(0, i-200):min(len(out), i+100)])
		}
	}
}
