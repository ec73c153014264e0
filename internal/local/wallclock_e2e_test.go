package local

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/states"
)

// A runtime on a scaled clock that an earlier run left two days ahead (the
// data dir's saved clock) still answers wall-clock times: created_at,
// updated_at, started_at and ended_at of a finished job, and the times of
// its event on the bus and of its webhook, all lie between the moments the
// test saw before submitting and after the job ended; its video link
// expires an hour of wall time after the answer.
func TestScaledRuntimeAnswersWallTimes(t *testing.T) {
	cfg := testConfig(t)
	ahead := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339Nano)
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "clock"), []byte(ahead), 0o600); err != nil {
		t.Fatal(err)
	}
	rt := start(t, cfg)
	if virtual := rt.Clock.Now(); virtual.Before(time.Now().Add(47 * time.Hour)) {
		t.Fatalf("the runtime's clock is at %v: it did not resume the saved clock", virtual)
	}
	before := time.Now().Add(-time.Second)
	rc, id := finishWithWebhook(t, rt)
	if hook := waitExecution(t, rt, webhookFlow, id); hook.Status != states.Succeeded {
		t.Fatalf("webhook execution: %s %+v", hook.Status, hook.Error)
	}
	after := time.Now().Add(time.Second)
	wall := func(field string, at time.Time) {
		t.Helper()
		if at.Before(before) || at.After(after) {
			t.Errorf("%s = %v, want a wall-clock time within [%v, %v]", field, at, before, after)
		}
	}
	r := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", "")
	for _, field := range []string{"created_at", "updated_at", "started_at", "ended_at"} {
		s, _ := r.body[field].(string)
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Errorf("%s = %q: %v", field, s, err)
		}
		wall(field, at)
	}
	// The video link lasts an hour of wall time, which its expires tells
	// as a wall-clock Unix time, not an hour of the fast clock.
	video, _ := r.body["video"].(map[string]any)
	link, _ := video["url"].(string)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("video url %q: %v", link, err)
	}
	expires, err := strconv.ParseInt(u.Query().Get("expires"), 10, 64)
	if err != nil {
		t.Fatalf("video url %q: expires: %v", link, err)
	}
	wall("video link's expires less an hour", time.Unix(expires, 0).Add(-api.DefaultLinkTTL))
	assertMP4(t, link)
	var events int
	for _, e := range busEvents(t, rt) {
		if e.Detail.ID == id {
			events++
			wall("event time", e.Time)
			wall("event detail.created_at", e.Detail.CreatedAt)
			wall("event detail.updated_at", e.Detail.UpdatedAt)
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if events != 1 || len(rc.deliveries) == 0 {
		t.Fatalf("%d events and %d webhook deliveries of job %s, want 1 and at least 1", events, len(rc.deliveries), id)
	}
	for _, d := range rc.deliveries {
		wall("webhook timestamp", d.payload.Timestamp)
		wall("webhook data.created_at", d.payload.Data.CreatedAt)
		wall("webhook data.updated_at", d.payload.Data.UpdatedAt)
	}
}

// Times an earlier run recorded map to the wall time that run read them
// at, whichever run answers: each start's mapping is kept in the data dir.
func TestWallTimesAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, runsFile)
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	first := clock.Run{From: t0, At: t0, Factor: 1000}
	// The second run started an hour of wall time later, where the first
	// left the virtual clock: 100 virtual hours in.
	second := clock.Run{From: t0.Add(100 * time.Hour), At: t0.Add(2 * time.Hour), Factor: 10}
	recordRun(path, first)
	walls := recordRun(path, second)
	for _, tc := range []struct{ virtual, wall time.Time }{
		{t0, t0},
		{t0.Add(1000 * time.Second), t0.Add(time.Second)},
		{t0.Add(100*time.Hour - 1000*time.Second), t0.Add(6*time.Minute - time.Second)},
		{t0.Add(100 * time.Hour), t0.Add(2 * time.Hour)},
		{t0.Add(100*time.Hour + 10*time.Second), t0.Add(2*time.Hour + time.Second)},
		// Before every run, unscaled back from the first's start.
		{t0.Add(-1000 * time.Second), t0.Add(-1000 * time.Second)},
		{t0.Add(-12 * time.Hour), t0.Add(-12 * time.Hour)},
	} {
		if got := walls.Wall(tc.virtual); !got.Equal(tc.wall) {
			t.Errorf("Wall(%v) = %v, want %v", tc.virtual, got, tc.wall)
		}
	}
}
