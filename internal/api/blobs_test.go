package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/fsblob/fsblobtest"
	"github.com/vidgen/vidgen/internal/job"
)

func imageBody(t *testing.T, image, tail string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"model": job.Model, "image_url": image, "tail_image_url": tail})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSubmitOffloadsLargeImages(t *testing.T) {
	h, _, store := newHandler(t)
	blobs := fsblobtest.New(t)
	h.Blobs = blobs
	large := "data:image/png;base64," + base64.StdEncoding.EncodeToString(blobtest.PNG(1<<20))
	small := "data:image/png;base64," + base64.StdEncoding.EncodeToString(blobtest.PNG(1<<10))
	body := imageBody(t, large, small)
	req := request("POST", PathGenerations, "keyA", "application/json", body)
	req.Headers["Idempotency-Key"] = "k1"

	resp, _ := h.Handle(t.Context(), req)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	j, err := store.Get(t.Context(), "job-1")
	if err != nil {
		t.Fatal(err)
	}
	if j.Request.ImageURL != "blob:images/job-1/image_url" || j.Request.TailImageURL != small {
		t.Errorf("record holds image_url %s, tail_image_url %s; want the large one by reference, the small one inline",
			blob.Describe(j.Request.ImageURL), blob.Describe(j.Request.TailImageURL))
	}
	restored, err := blob.Restore(t.Context(), blobs, j.Request)
	if err != nil || restored.ImageURL != large {
		t.Errorf("restored image_url differs from the one sent (%v)", err)
	}

	// The same request under the same key is a replay, not a reuse: the
	// idempotency hash is of the request as sent.
	again, _ := h.Handle(t.Context(), req)
	if again.StatusCode != 200 || again.Headers["Idempotent-Replayed"] != "true" || decode(t, again)["id"] != "job-1" {
		t.Errorf("retry = %d %s %v; want a replay of job-1", again.StatusCode, again.Body, again.Headers)
	}
}

type failingBlobs struct{}

func (failingBlobs) Put(context.Context, string, []byte, string) error {
	return errors.New("bucket unavailable")
}

// A job whose image could not be stored is not recorded or started, and
// the log says which image without printing it.
func TestSubmitOffloadFailureRecordsNothing(t *testing.T) {
	h, st, store := newHandler(t)
	var logs bytes.Buffer
	h.Log = slog.New(slog.NewTextHandler(&logs, nil))
	h.Blobs = failingBlobs{}
	payload := base64.StdEncoding.EncodeToString(blobtest.PNG(100 << 10))

	resp, _ := h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json",
		imageBody(t, "data:image/png;base64,"+payload, "https://example.com/tail.png")))

	if resp.StatusCode != 503 {
		t.Errorf("status = %d %s, want 503", resp.StatusCode, resp.Body)
	}
	if _, err := store.Get(t.Context(), "job-1"); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("Get(job-1) = %v, want ErrNotFound", err)
	}
	if len(st.ids) != 0 {
		t.Errorf("started %v, want nothing", st.ids)
	}
	if !strings.Contains(logs.String(), "data:image/png (102400 bytes)") || strings.Contains(logs.String(), payload[:64]) {
		t.Errorf("log = %.300q; want the image described, never printed", logs.String())
	}
}
