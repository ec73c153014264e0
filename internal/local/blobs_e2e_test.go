package local

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
)

// A 1 MB data-URI image is kept under <DataDir>/blobs, out of the record,
// and the upstream receives exactly the data URI the client sent.
func TestLargeImageEndToEnd(t *testing.T) {
	cfg := testConfig(t)
	// Parsing a megabyte under -race takes real time, which the test's
	// clock scales into minutes.
	cfg.JobDeadline = 2 * time.Hour
	rt := start(t, cfg)
	body, err := json.Marshal(map[string]any{
		"model": job.Model, "prompt": "a dragon",
		"image_url": "data:image/png;base64," + base64.StdEncoding.EncodeToString(blobtest.PNG(1<<20)),
	})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := job.ParseRequest(body, job.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}

	id, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, string(body))

	if exe.Status != states.Succeeded {
		t.Fatalf("execution %s: %+v", exe.Status, exe.Error)
	}
	j, err := rt.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if want := "blob:images/" + id + "/image_url"; j.Request.ImageURL != want || j.Status != job.Completed {
		t.Errorf("record: status %s, image_url %s; want completed with %s", j.Status, blob.Describe(j.Request.ImageURL), want)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "blobs", "images", id, "image_url")); err != nil {
		t.Errorf("the image is not under the data dir: %v", err)
	}
	if n := rt.Simulator.SubmissionsOf(sent); n != 1 {
		t.Errorf("upstream saw %d submissions of the request as sent, want 1", n)
	}
}
