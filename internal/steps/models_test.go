package steps_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/fsblob/fsblobtest"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/catalog/catalogtest"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// bodies is an upstream in front of another that keeps every create body
// it is sent, as sent.
type bodies struct {
	next http.Handler
	mu   sync.Mutex
	got  []map[string]any
}

func (b *bodies) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		raw, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.got = append(b.got, catalogtest.Decode(raw))
		b.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(raw))
	}
	b.next.ServeHTTP(w, r)
}

func (b *bodies) last() (map[string]any, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.got) == 0 {
		return nil, 0
	}
	return b.got[len(b.got)-1], len(b.got)
}

// A direct start of the state machine (another workflow, a batch item) of
// one model of every provider: Register validates and records it, its
// large media offloaded to the blob store under their own paths; Submit
// restores them and the upstream receives exactly the body given (but
// vidgen's own fields); Poll sees it complete.
func TestDirectStartOfEveryProvidersModel(t *testing.T) {
	e := newEnv(t)
	rec := &bodies{next: e.sim}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	blobs := fsblobtest.New(t)
	h := e.handlers(e.client(srv.URL, simKey, normalTimeout, nil))
	h.Blobs = blobs
	r := e.registrar(h)
	r.Blobs = blobs

	gen3, _ := catalogtest.Builtin(t).Lookup(job.Model)
	models := append(catalogtest.ByProvider(t, "klingai/video-o1-reference-to-video", "alibaba/wan2.2-vace-fun-a14b-inpainting",
		"krea/krea-wan-14b/video-to-video", "google/veo-3.1-i2v", "runway/gen4_turbo"), gen3)
	for i, m := range models {
		t.Run(m.ID, func(t *testing.T) {
			sent := catalogtest.Body(m, "https://media.example.com/")
			if m.ID == "klingai/video-o1-reference-to-video" {
				sent["elements"] = []any{map[string]any{"frontal_image_url": "https://a.example/f.png", "reference_image_urls": []any{"https://a.example/r.png"}}}
			}
			_ = m.EachMedia(sent, func(_ string, kind catalog.MediaKind, _ string) (string, error) { return largeDataURI(kind), nil })
			input := maps.Clone(sent)
			input["tenant"] = "tenant-a"
			raw, _ := json.Marshal(input)
			exec := fmt.Sprintf("direct-model-%d", i)
			reg, err := r.Register(t.Context(), steps.RegisterInput{Request: raw, Execution: exec})
			if err != nil || !reg.Step.Submitted {
				t.Fatalf("Register = %+v, %v; want it submitted", reg, err)
			}
			j := e.get(exec)
			if j.Request.Model != m.ID || j.Tenant != "tenant-a" {
				t.Errorf("record: model %q tenant %q", j.Request.Model, j.Tenant)
			}
			for _, md := range j.Request.Media() {
				if !strings.HasPrefix(md.Value, blob.RefPrefix+"images/"+exec+"/") {
					t.Errorf("record's %s = %.60q, want a blob reference", md.Path, md.Value)
				}
			}
			want := maps.Clone(sent)
			if m.ID == job.Model {
				want["aspect_ratio"], want["duration"] = job.DefaultAspectRatio, json.Number("5")
			}
			if got, _ := rec.last(); !reflect.DeepEqual(got, want) {
				t.Errorf("upstream received a body other than the one given (%d members, want %d)", len(got), len(want))
			}
			out := reg.Step
			for n := 0; !out.Status.Terminal(); n++ {
				if n > 100 {
					t.Fatalf("not ended after %d polls: %+v", n, out)
				}
				e.clk.Advance(time.Duration(max(out.WaitSeconds, 1)) * time.Second)
				out = e.poll(h, steps.Input{JobID: exec, Execution: exec})
			}
			if j := e.get(exec); j.Status != job.Completed || j.Video == nil {
				t.Errorf("job ended %s (%+v), want completed with a video", j.Status, j.Error)
			}
		})
	}
}

// largeDataURI is a data URI of the kind past blob.InlineLimit.
func largeDataURI(kind catalog.MediaKind) string {
	switch kind {
	case catalog.Video:
		return "data:video/mp4;base64," + base64.StdEncoding.EncodeToString(make([]byte, 8<<10))
	case catalog.Audio:
		return "data:audio/mpeg;base64," + base64.StdEncoding.EncodeToString(make([]byte, 8<<10))
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(blobtest.PNG(8<<10))
}
