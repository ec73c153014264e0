package local

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/syncbuf"
)

// TestLogsHoldNoSecrets runs the flows that log the most (success, upstream
// faults, a rejected upstream key, bad input, a large data-URI image, list
// and cancel) with every component logging at debug level, and scans
// everything logged for the upstream key, the API keys and image data.
func TestLogsHoldNoSecrets(t *testing.T) {
	const upstreamKey = "upstream-secret-9f8e7d6c5b4a"
	sim := simulator.New(simulator.Config{Key: upstreamKey, Clock: clock.NewScaled(timeScale)})
	upstream := httptest.NewServer(sim)
	defer upstream.Close()

	var logs syncbuf.Buffer
	cfg := testConfig(t)
	cfg.UpstreamURL, cfg.UpstreamKey = upstream.URL, upstreamKey
	cfg.Log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
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

	out := logs.String()
	if !strings.Contains(out, `"msg":"request"`) || !strings.Contains(out, "job failed") {
		t.Fatalf("the flows logged too little to judge:\n%s", out)
	}
	for what, secret := range map[string]string{
		"the upstream key": upstreamKey, "an API key": keyA, "another API key": keyB,
		"image data": "UE5HREFUQSFQTkdEQVRB", "a data URI": "base64,", "an Authorization header": "Bearer",
	} {
		if strings.Contains(out, secret) {
			i := strings.Index(out, secret)
			t.Errorf("the logs hold %s: …%s…", what, out[max(0, i-200):min(len(out), i+100)])
		}
	}
}
