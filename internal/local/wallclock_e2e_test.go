package local

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/states"
)

// A runtime on a scaled clock that an earlier run left two days ahead (the
// data dir's saved clock) still answers wall-clock times: created_at,
// updated_at, started_at and ended_at of a finished job all lie between
// the moments the test saw before submitting and after the job ended.
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
	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`)
	if exe.Status != states.Succeeded {
		t.Fatalf("job execution: %s %+v", exe.Status, exe.Error)
	}
	after := time.Now().Add(time.Second)
	r := call(t, "GET", rt.URL+api.PathGenerations+"?generation_id="+id, keyA, "", "")
	for _, field := range []string{"created_at", "updated_at", "started_at", "ended_at"} {
		s, _ := r.body[field].(string)
		at, err := time.Parse(time.RFC3339, s)
		if err != nil || at.Before(before) || at.After(after) {
			t.Errorf("%s = %q, want a wall-clock time within [%v, %v]", field, s, before, after)
		}
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
		{t0.Add(-1000 * time.Second), t0.Add(-time.Second)}, // before every run: the first's mapping
	} {
		if got := walls.Wall(tc.virtual); !got.Equal(tc.wall) {
			t.Errorf("Wall(%v) = %v, want %v", tc.virtual, got, tc.wall)
		}
	}
}
