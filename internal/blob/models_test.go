package blob_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/catalog/catalogtest"
	"github.com/vidgen/vidgen/internal/job"
)

// Every media field of every provider's model is offloaded and restored
// as gen3a_turbo's images are: each large data URI leaves the record for
// the store, keyed by its own path, and comes back exactly as sent;
// nested ones (elements[0].frontal_image_url) too.
func TestOffloadRestoreEveryProvidersMedia(t *testing.T) {
	models := catalogtest.ByProvider(t, "klingai/video-o1-reference-to-video", "alibaba/wan2.2-vace-fun-a14b-inpainting",
		"krea/krea-wan-14b/video-to-video", "luma/ray-2")
	ctx := t.Context()
	for _, m := range models {
		if len(m.Media) == 0 {
			continue // Sber's models make video from text alone
		}
		t.Run(m.ID, func(t *testing.T) {
			body := catalogtest.Body(m, "https://media.example.com/")
			if m.ID == "klingai/video-o1-reference-to-video" {
				body["image_list"] = []any{"https://a.example/1.png", "https://a.example/2.png"}
				body["elements"] = []any{map[string]any{"frontal_image_url": "https://a.example/f.png", "reference_image_urls": []any{"https://a.example/r.png"}}}
			}
			if m.ID == "luma/ray-2" {
				body["keyframes"] = map[string]any{"frame0": map[string]any{"type": "image", "url": "https://a.example/0.png"},
					"frame1": map[string]any{"type": "image", "url": "https://a.example/1.png"}}
			}
			_ = m.EachMedia(body, func(_ string, kind catalog.MediaKind, _ string) (string, error) {
				return dataURI(kind, 64<<10), nil
			})
			raw, _ := json.Marshal(body)
			req, err := job.ParseRequest(raw, job.ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(req.Media()) == 0 || !blob.Offloads(req) {
				t.Fatalf("no media to offload in %.200s", raw)
			}
			sent := catalogtest.Decode(mustJSON(t, req)) // gen3a_turbo's with its defaults
			s := newMem()
			stored, err := blob.Offload(ctx, s, "job-1", req)
			if err != nil {
				t.Fatal(err)
			}
			for _, md := range stored.Media() {
				if want := "blob:images/job-1/" + strings.NewReplacer("[", ".", "]", "").Replace(md.Path); md.Value != want {
					t.Errorf("%s: %q, want %q", md.Path, md.Value, want)
				}
			}
			if s.puts != len(req.Media()) {
				t.Errorf("%d puts, want one per media value (%d)", s.puts, len(req.Media()))
			}
			if rec, _ := json.Marshal(stored); len(rec) > 4096 {
				t.Errorf("the offloaded request is %d bytes as JSON", len(rec))
			}
			if !reflect.DeepEqual(catalogtest.Decode(mustJSON(t, req)), sent) {
				t.Error("Offload changed its argument")
			}
			restored, err := blob.Restore(ctx, s, stored)
			if err != nil {
				t.Fatal(err)
			}
			if got := catalogtest.Decode(mustJSON(t, restored)); !reflect.DeepEqual(got, sent) {
				t.Error("the restored request is not the one sent")
			}
		})
	}
}

func dataURI(kind catalog.MediaKind, n int) string {
	switch kind {
	case catalog.Video:
		return "data:video/mp4;base64," + base64.StdEncoding.EncodeToString(make([]byte, n))
	case catalog.Audio:
		return "data:audio/mpeg;base64," + base64.StdEncoding.EncodeToString(make([]byte, n))
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(blobtest.PNG(n))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// DescribeMedia names each media value by its path, as Describe renders
// it: no data URI payload, no URL query.
func TestDescribeMedia(t *testing.T) {
	req, err := job.ParseRequest([]byte(`{"model":"klingai/video-o1-reference-to-video","prompt":"p","image_list":["https://a.example/1.png?X-Amz-Signature=s","`+
		dataURI(catalog.Image, 100)+`"]}`), job.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := blob.DescribeMedia(req)
	if want := "image_list[0]=https://a.example/1.png image_list[1]=data:image/png ("; !strings.HasPrefix(got, want) || strings.Contains(got, "base64") {
		t.Errorf("DescribeMedia = %q, want it to start %q", got, want)
	}
}
