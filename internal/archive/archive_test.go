package archive_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/fsblob/fsblobtest"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
	"github.com/vidgen/vidgen/internal/clock"
)

func TestArchiveSimulatorVideoToFiles(t *testing.T) {
	src, want := simulatedVideo(t)
	store := fsblobtest.New(t)
	a := &archive.Archiver{Store: store, AllowedHosts: []string{"127.0.0.1"}}
	key, size, err := a.Archive(t.Context(), "job-1", src)
	if err != nil {
		t.Fatal(err)
	}
	if key != "videos/job-1.mp4" || size != int64(len(want)) {
		t.Errorf("Archive = %q, %d; want videos/job-1.mp4, %d", key, size, len(want))
	}
	r, ct, err := store.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || ct != "video/mp4" {
		t.Errorf("stored %d bytes, %q; want the simulator's %d bytes, video/mp4", len(got), ct, len(want))
	}
}

// The copy lands in S3 byte for byte, and a presigned link to it downloads
// it with plain net/http.
func TestArchiveSimulatorVideoToS3(t *testing.T) {
	src, want := simulatedVideo(t)
	client, bucket := newBucket(t)
	a := &archive.Archiver{Store: s3blob.New(client, bucket), AllowedHosts: []string{"127.0.0.1"}}
	key, _, err := a.Archive(t.Context(), "job-1", src)
	if err != nil {
		t.Fatal(err)
	}
	got, out := awstest.GetObject(t, client, bucket, key)
	if ct := aws.ToString(out.ContentType); !bytes.Equal(got, want) || ct != "video/mp4" {
		t.Errorf("object = %d bytes, %q; want the simulator's %d bytes, video/mp4", len(got), ct, len(want))
	}

	var links archive.Linker = s3blob.NewLinks(s3.NewPresignClient(client), bucket, clock.NewManual(time.Now()))
	link, err := links.Link(t.Context(), key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, link); !bytes.Equal(got, want) {
		t.Errorf("the presigned link downloads %d bytes, want the simulator's %d", len(got), len(want))
	}
	if u, err := url.Parse(link); err != nil || u.Query().Get("X-Amz-Expires") != "3600" {
		t.Errorf("link %s: want X-Amz-Expires=3600 (%v)", link, err)
	}
}

// serve answers with the given content type (none if "-") and body, whose
// length it declares.
func serve(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if contentType == "-" {
			w.Header()["Content-Type"] = nil // keep net/http from sniffing one
		} else {
			w.Header().Set("Content-Type", contentType)
		}
		w.Write(body)
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", code) }
}

func TestArchiveRefusals(t *testing.T) {
	_, mp4 := simulatedVideo(t)
	// The secret stands for a CDN link's signature, which no error may
	// repeat.
	const secret = "sig=topsecret"
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		maxBytes  int64
		allowed   []string
		rawURL    string // instead of the server's
		want      error  // errors.Is target, if any
		says      string // in the message, if set
		status    int
		retryable bool
	}{
		{name: "host not allowed", handler: serve("video/mp4", mp4), allowed: []string{"localhost"}, want: archive.ErrHostNotAllowed},
		{name: "suffix rule does not match the bare domain", handler: serve("video/mp4", mp4), allowed: []string{".0.0.1", ".127.0.0.1"}, want: archive.ErrHostNotAllowed},
		{name: "other port", handler: serve("video/mp4", mp4), allowed: []string{"127.0.0.1:1"}, want: archive.ErrHostNotAllowed},
		{name: "no hosts allowed", handler: serve("video/mp4", mp4), allowed: []string{}, want: archive.ErrHostNotAllowed},
		{name: "file scheme", rawURL: "file:///etc/passwd?" + secret, want: archive.ErrHostNotAllowed},
		{name: "credentials in URL", rawURL: "http://user:pw@127.0.0.1/v.mp4?" + secret, want: archive.ErrHostNotAllowed},
		{name: "unparsable URL", rawURL: "http://127.0.0.1/%zz?" + secret},
		{name: "too large, declared", handler: serve("video/mp4", mp4), maxBytes: int64(len(mp4)) - 1, status: 200, want: archive.ErrTooLarge, says: "declared"},
		{name: "too large, undeclared", maxBytes: int64(len(mp4)) - 1, status: 200, want: archive.ErrTooLarge, says: "more than", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "video/mp4")
			w.Write(mp4[:100])
			w.(http.Flusher).Flush() // chunked: no Content-Length
			w.Write(mp4[100:])
		}},
		{name: "HTML", handler: serve("text/html; charset=utf-8", []byte("<html>moved</html>")), status: 200, want: archive.ErrNotVideo},
		{name: "no content type", handler: serve("-", mp4), status: 200, want: archive.ErrNotVideo},
		{name: "malformed content type", handler: serve("video/", mp4), status: 200, want: archive.ErrNotVideo},
		{name: "octet-stream that is not MP4", handler: serve("application/octet-stream", []byte("\x89PNG\r\n\x1a\n0123456789abcdef")), status: 200, want: archive.ErrNotVideo},
		{name: "octet-stream too short to be MP4", handler: serve("application/octet-stream", mp4[:12]), status: 200, want: archive.ErrNotVideo},
		{name: "empty video", handler: serve("video/mp4", nil), status: 200, want: archive.ErrNotVideo},
		{name: "404", handler: status(404), status: 404},
		{name: "403", handler: status(403), status: 403},
		{name: "410", handler: status(410), status: 410},
		{name: "500", handler: status(500), status: 500, retryable: true},
		{name: "503", handler: status(503), status: 503, retryable: true},
		{name: "429", handler: status(429), status: 429, retryable: true},
		{name: "partial content", handler: status(206), status: 206},
		{name: "truncated body", status: 200, retryable: true, want: io.ErrUnexpectedEOF, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "video/mp4")
			w.Header().Set("Content-Length", strconv.Itoa(len(mp4)))
			w.Write(mp4[:len(mp4)/2])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.rawURL
			var hits func() int64
			if tt.handler != nil {
				srv, n := countingServer(t, tt.handler)
				src, hits = srv.URL+"/files/v.mp4?"+secret, n.Load
			}
			allowed := tt.allowed
			if allowed == nil {
				allowed = []string{"127.0.0.1"}
			}
			store := fsblobtest.New(t)
			a := &archive.Archiver{Store: store, AllowedHosts: allowed, MaxBytes: tt.maxBytes}
			key, size, err := a.Archive(t.Context(), "job-1", src)
			fe, ok := errors.AsType[*archive.FetchError](err)
			if !ok {
				t.Fatalf("Archive = %q, %d, %v; want a *FetchError", key, size, err)
			}
			if fe.Retryable != tt.retryable || fe.Status != tt.status {
				t.Errorf("FetchError{Retryable: %v, Status: %d}, want {%v, %d}: %v", fe.Retryable, fe.Status, tt.retryable, tt.status, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want one wrapping %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("the error repeats the URL's query: %v", err)
			}
			if errors.Is(err, archive.ErrHostNotAllowed) && hits != nil && hits() != 0 {
				t.Errorf("a refused host got %d requests", hits())
			}
			if _, _, err := store.Open(t.Context(), archive.Key("job-1")); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("after a refusal the store has the video (%v)", err)
			}
		})
	}
}

// The exact limit passes; the type may carry parameters; octet-stream
// passes when the bytes are MP4.
func TestArchiveAccepts(t *testing.T) {
	_, mp4 := simulatedVideo(t)
	for _, tt := range []struct {
		name        string
		contentType string
		maxBytes    int64
	}{
		{"exactly MaxBytes", "video/mp4", int64(len(mp4))},
		{"type with parameters", `video/mp4; codecs="avc1.42E01E"`, 0},
		{"type in capitals", "Video/MP4", 0},
		{"octet-stream with an ftyp box", "application/octet-stream", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := countingServer(t, serve(tt.contentType, mp4))
			store := fsblobtest.New(t)
			a := &archive.Archiver{Store: store, AllowedHosts: []string{"127.0.0.1"}, MaxBytes: tt.maxBytes}
			if _, size, err := a.Archive(t.Context(), "job-1", srv.URL+"/v.mp4"); err != nil || size != int64(len(mp4)) {
				t.Fatalf("Archive = %d, %v; want %d bytes", size, err, len(mp4))
			}
			r, ct, err := store.Open(t.Context(), "videos/job-1.mp4")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got, _ := io.ReadAll(r); !bytes.Equal(got, mp4) || ct != "video/mp4" {
				t.Errorf("stored %d bytes, %q; want %d bytes, video/mp4", len(got), ct, len(mp4))
			}
		})
	}
}

// Redirects are followed only to allowed hosts, never from https to http;
// the refused target never sees a request.
func TestArchiveRedirects(t *testing.T) {
	_, mp4 := simulatedVideo(t)
	target, targetHits := countingServer(t, serve("video/mp4", mp4))
	port := strings.TrimPrefix(target.URL, "http://127.0.0.1:")
	elsewhere := "http://localhost:" + port + "/v.mp4?sig=topsecret"
	redirect, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere, http.StatusFound)
	})

	store := fsblobtest.New(t)
	a := &archive.Archiver{Store: store, AllowedHosts: []string{"127.0.0.1"}}
	_, _, err := a.Archive(t.Context(), "job-1", redirect.URL+"/v.mp4")
	if fe, ok := errors.AsType[*archive.FetchError](err); !ok || fe.Retryable || !errors.Is(err, archive.ErrHostNotAllowed) {
		t.Fatalf("Archive through a redirect to another host = %v, want a non-retryable FetchError wrapping ErrHostNotAllowed", err)
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("the error repeats the redirect's query: %v", err)
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("the refused host got %d requests", n)
	}

	// With both hosts allowed, the caller's own CheckRedirect still runs,
	// after the Archiver's, and the caller's client is left as it was.
	var seen []string
	caller := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		seen = append(seen, req.URL.Host)
		return nil
	}}
	a = &archive.Archiver{HTTP: caller, Store: store, AllowedHosts: []string{"127.0.0.1", "localhost"}}
	if _, size, err := a.Archive(t.Context(), "job-1", redirect.URL+"/v.mp4"); err != nil || size != int64(len(mp4)) {
		t.Fatalf("Archive through a redirect to an allowed host = %d, %v", size, err)
	}
	if want := "localhost:" + port; len(seen) != 1 || seen[0] != want {
		t.Errorf("the caller's CheckRedirect saw %q, want [%s]", seen, want)
	}
	// Still the caller's own function, which only appends.
	caller.CheckRedirect(&http.Request{URL: &url.URL{Host: "check"}}, nil)
	if len(seen) != 2 || seen[1] != "check" {
		t.Error("Archive replaced the caller's CheckRedirect")
	}
}

// Hosts are matched without a network: the transport serves any host.
func TestArchiveHostRules(t *testing.T) {
	_, mp4 := simulatedVideo(t)
	var requested []string
	transport := roundTripper(func(r *http.Request) (*http.Response, error) {
		requested = append(requested, r.URL.Host)
		if r.URL.Path == "/redirect" {
			return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {r.URL.Query().Get("to")}},
				Body: http.NoBody, Request: r}, nil
		}
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"video/mp4"}},
			Body: io.NopCloser(bytes.NewReader(mp4)), ContentLength: int64(len(mp4)), Request: r}, nil
	})
	allowed := []string{".aimlapi.com", "cdn.example.com", "127.0.0.1:3000"}
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://cdn.aimlapi.com/v.mp4", true},
		{"https://a.b.aimlapi.com/v.mp4", true},
		{"https://CDN.AIMLAPI.COM./v.mp4", true},
		{"https://aimlapi.com/v.mp4", false},
		{"https://evilaimlapi.com/v.mp4", false},
		{"https://aimlapi.com.evil.net/v.mp4", false},
		{"https://cdn.example.com:8443/v.mp4", true},
		{"https://x.cdn.example.com/v.mp4", false},
		{"http://127.0.0.1:3000/sim/files/a.mp4", true},
		{"http://127.0.0.1:3001/sim/files/a.mp4", false},
		{"http://127.0.0.1/sim/files/a.mp4", false},
		{"ftp://cdn.aimlapi.com/v.mp4", false},
		{"/relative/v.mp4", false},
		{"https://cdn.aimlapi.com/redirect?to=https://store.aimlapi.com/v.mp4", true},
		{"https://cdn.aimlapi.com/redirect?to=https://evil.net/v.mp4", false},
		{"https://cdn.aimlapi.com/redirect?to=http://store.aimlapi.com/v.mp4", false}, // downgrade
	} {
		requested = nil
		a := &archive.Archiver{HTTP: &http.Client{Transport: transport}, Store: fsblobtest.New(t), AllowedHosts: allowed}
		_, _, err := a.Archive(t.Context(), "job-1", tt.url)
		if tt.ok && err != nil {
			t.Errorf("Archive(%s) = %v, want success", tt.url, err)
		}
		if !tt.ok && !errors.Is(err, archive.ErrHostNotAllowed) {
			t.Errorf("Archive(%s) = %v, want ErrHostNotAllowed", tt.url, err)
		}
		for _, h := range requested {
			if strings.Contains(h, "evil") {
				t.Errorf("Archive(%s) requested %s", tt.url, h)
			}
		}
	}
}

// A source that stalls, before answering or in the middle of the video, is
// abandoned at the Timeout (2 minutes by default) with a retryable error.
// testing/synctest's clock makes the minutes pass at once.
func TestArchiveTimeout(t *testing.T) {
	_, mp4 := simulatedVideo(t)
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		midway  bool
	}{
		{"before the answer, default timeout", 0, false},
		{"before the answer", 30 * time.Second, false},
		{"in the middle of the video", 30 * time.Second, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				transport := roundTripper(func(r *http.Request) (*http.Response, error) {
					if !tt.midway {
						<-r.Context().Done()
						return nil, r.Context().Err()
					}
					body := io.MultiReader(bytes.NewReader(mp4[:1000]), stalledBody{r.Context()})
					return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"video/mp4"}},
						Body: io.NopCloser(body), ContentLength: int64(len(mp4)), Request: r}, nil
				})
				a := &archive.Archiver{HTTP: &http.Client{Transport: transport}, Store: fsblobtest.New(t),
					AllowedHosts: []string{"cdn.aimlapi.com"}, Timeout: tt.timeout}
				start := time.Now()
				_, _, err := a.Archive(t.Context(), "job-1", "https://cdn.aimlapi.com/v.mp4")
				want := tt.timeout
				if want == 0 {
					want = archive.DefaultTimeout
				}
				if elapsed := time.Since(start); elapsed != want {
					t.Errorf("gave up after %v, want %v", elapsed, want)
				}
				if fe, ok := errors.AsType[*archive.FetchError](err); !ok || !fe.Retryable || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Archive = %v, want a retryable FetchError wrapping context.DeadlineExceeded", err)
				}
			})
		})
	}
}

func TestArchiveUnreachableIsRetryable(t *testing.T) {
	srv, _ := countingServer(t, status(200))
	srv.Close()
	a := &archive.Archiver{Store: fsblobtest.New(t), AllowedHosts: []string{"127.0.0.1"}}
	_, _, err := a.Archive(t.Context(), "job-1", srv.URL+"/v.mp4?sig=topsecret")
	if fe, ok := errors.AsType[*archive.FetchError](err); !ok || !fe.Retryable || fe.Status != 0 {
		t.Errorf("Archive from a closed server = %v, want a retryable FetchError without a status", err)
	}
	if err != nil && strings.Contains(err.Error(), "topsecret") {
		t.Errorf("the error repeats the URL's query: %v", err)
	}
}

// A store failure is not a FetchError, and an invalid job id is refused
// before anything is fetched.
func TestArchiveOwnErrors(t *testing.T) {
	src, _ := simulatedVideo(t)
	a := &archive.Archiver{Store: failingStore{}, AllowedHosts: []string{"127.0.0.1"}}
	_, _, err := a.Archive(t.Context(), "job-1", src)
	if _, ok := errors.AsType[*archive.FetchError](err); ok || !errors.Is(err, errStoreDown) {
		t.Errorf("Archive into a failing store = %v, want the store's error, not a FetchError", err)
	}
	srv, hits := countingServer(t, status(200))
	a = &archive.Archiver{Store: fsblobtest.New(t), AllowedHosts: []string{"127.0.0.1"}}
	for _, id := range []string{"", "a/b", "..", ".hidden", "a b", strings.Repeat("x", 300)} {
		if _, _, err := a.Archive(t.Context(), id, srv.URL); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Archive(job id %q) = %v, want ErrInvalid", id, err)
		}
	}
	if hits.Load() != 0 {
		t.Error("an invalid job id still fetched the video")
	}
}

// The temporary copy is removed whether the archive succeeds or fails.
func TestArchiveLeavesNoTemporaryFile(t *testing.T) {
	src, mp4 := simulatedVideo(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	store := fsblobtest.New(t)
	big, _ := countingServer(t, serve("video/mp4", mp4))
	for i, tt := range []struct {
		src   string
		store archive.Putter
		max   int64
	}{
		{src, store, 0},
		{src, failingStore{}, 0},
		{big.URL, store, 100},
	} {
		a := &archive.Archiver{Store: tt.store, AllowedHosts: []string{"127.0.0.1"}, MaxBytes: tt.max}
		_, _, err := a.Archive(t.Context(), fmt.Sprint("job-", i), tt.src)
		entries, rerr := os.ReadDir(tmp)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if len(entries) != 0 {
			t.Errorf("case %d (%v) left %d files in TMPDIR", i, err, len(entries))
		}
	}
}
