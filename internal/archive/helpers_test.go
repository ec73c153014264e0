package archive_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/blob/fsblob"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/simulator"
)

// The stores and linkers vidgen wires in satisfy the interfaces here.
var (
	_ archive.Putter = (*fsblob.Store)(nil)
	_ archive.Putter = (*s3blob.Store)(nil)
	_ archive.Opener = (*fsblob.Store)(nil)
	_ archive.Linker = (*archive.LocalLinks)(nil)
	_ archive.Linker = (*s3blob.Links)(nil)
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const simKey = "sk-sim-archive-test"

// simulatedVideo runs the upstream simulator, completes a generation on a
// manual clock and returns the video URL its poll answers, on 127.0.0.1,
// with the bytes a plain GET of it downloads.
func simulatedVideo(t *testing.T) (videoURL string, data []byte) {
	t.Helper()
	clk := clock.NewManual(t0)
	srv := httptest.NewServer(simulator.New(simulator.Config{Key: simKey, Clock: clk}))
	t.Cleanup(srv.Close)

	var submitted struct{ ID string }
	call(t, http.MethodPost, srv.URL+"/v2/video/generations",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"archive me"}`, &submitted)
	clk.Advance(time.Hour)
	var polled struct {
		Status string
		Video  struct{ URL string }
	}
	call(t, http.MethodGet, srv.URL+"/v2/video/generations?generation_id="+submitted.ID, "", &polled)
	if polled.Status != "completed" || !strings.HasPrefix(polled.Video.URL, srv.URL+"/files/") {
		t.Fatalf("poll after an hour = %+v, want completed with a video under %s/files/", polled, srv.URL)
	}
	return polled.Video.URL, get(t, polled.Video.URL)
}

func call(t *testing.T, method, url, body string, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+simKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// get downloads url and fails t unless it answers 200.
func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, data := awstest.Fetch(t, http.MethodGet, url, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return data
}

// newBucket makes a moto bucket of t's own, emptied and dropped when t ends.
func newBucket(t *testing.T) (*s3.Client, string) {
	t.Helper()
	return awstest.NewBucket(t, "vidgen-archive-test-")
}

// countingServer serves h and counts the requests it gets.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// roundTripper serves requests without a network, for hosts no resolver
// knows and for timeouts under testing/synctest.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// stalledBody blocks every Read until ctx ends: a source that stalls.
type stalledBody struct{ ctx context.Context }

func (b stalledBody) Read([]byte) (int, error) {
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

func (stalledBody) Close() error { return nil }

// failingStore fails every put.
type failingStore struct{}

var errStoreDown = errors.New("store down")

func (failingStore) PutStream(context.Context, string, io.ReadSeeker, int64, string) error {
	return errStoreDown
}
