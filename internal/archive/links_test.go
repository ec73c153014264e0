package archive_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/fsblob/fsblobtest"
	"github.com/vidgen/vidgen/internal/clock"
)

var linkKey = []byte("0123456789abcdef0123456789abcdef")

type linkFixture struct {
	links *archive.LocalLinks
	clock *clock.Manual
	video []byte
}

// newLinks serves a store holding videos/job-1.mp4 and videos/job-2.mp4
// under /files, as local mode would.
func newLinks(t *testing.T) linkFixture {
	t.Helper()
	store := fsblobtest.New(t)
	video := blobtest.PNG(64 << 10)
	for _, key := range []string{"videos/job-1.mp4", "videos/job-2.mp4"} {
		if err := store.PutStream(t.Context(), key, bytes.NewReader(video), int64(len(video)), "video/mp4"); err != nil {
			t.Fatal(err)
		}
	}
	clk := clock.NewManual(t0)
	links := &archive.LocalLinks{Key: linkKey, Clock: clk}
	mux := http.NewServeMux()
	mux.Handle("/files/", http.StripPrefix("/files", links.Handler(store)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	links.Base = srv.URL + "/files"
	return linkFixture{links: links, clock: clk, video: video}
}

func (f linkFixture) link(t *testing.T, key string, ttl time.Duration) string {
	t.Helper()
	link, err := f.links.Link(t.Context(), key, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

func TestLocalLinkServesTheBlob(t *testing.T) {
	f := newLinks(t)
	link := f.link(t, "videos/job-1.mp4", time.Hour)

	wantPrefix := f.links.Base + "/videos/job-1.mp4?expires=" + strconv.FormatInt(t0.Add(time.Hour).Unix(), 10) + "&sig="
	if !strings.HasPrefix(link, wantPrefix) {
		t.Errorf("link = %s, want it to start %s", link, wantPrefix)
	}
	resp, body := awstest.Fetch(t, http.MethodGet, link, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, f.video) {
		t.Fatalf("GET = %s, %d bytes; want 200 and the %d bytes stored", resp.Status, len(body), len(f.video))
	}
	for k, want := range map[string]string{
		"Content-Type":           "video/mp4",
		"Content-Length":         strconv.Itoa(len(f.video)),
		"Accept-Ranges":          "bytes",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "private",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	resp, body = awstest.Fetch(t, http.MethodHead, link, nil)
	if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.ContentLength != int64(len(f.video)) {
		t.Errorf("HEAD = %s, %d bytes of body, length %d; want 200, none, %d", resp.Status, len(body), resp.ContentLength, len(f.video))
	}
}

func TestLocalLinkRange(t *testing.T) {
	f := newLinks(t)
	link := f.link(t, "videos/job-1.mp4", time.Hour)
	n := len(f.video)
	for _, tt := range []struct {
		header, contentRange string
		want                 []byte
	}{
		{"bytes=100-199", fmt.Sprintf("bytes 100-199/%d", n), f.video[100:200]},
		{"bytes=-10", fmt.Sprintf("bytes %d-%d/%d", n-10, n-1, n), f.video[n-10:]},
		{fmt.Sprintf("bytes=%d-", n-5), fmt.Sprintf("bytes %d-%d/%d", n-5, n-1, n), f.video[n-5:]},
	} {
		resp, body := awstest.Fetch(t, http.MethodGet, link, http.Header{"Range": {tt.header}})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, tt.want) {
			t.Errorf("Range %s = %s, %d bytes; want 206 and %d bytes", tt.header, resp.Status, len(body), len(tt.want))
		}
		if got := resp.Header.Get("Content-Range"); got != tt.contentRange {
			t.Errorf("Range %s: Content-Range = %q, want %q", tt.header, got, tt.contentRange)
		}
	}
	resp, _ := awstest.Fetch(t, http.MethodGet, link, http.Header{"Range": {fmt.Sprintf("bytes=%d-", n)}})
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("a range past the end = %s, want 416", resp.Status)
	}
}

// Any change to a link, or a link signed with another key, answers 403.
func TestLocalLinkTampered(t *testing.T) {
	f := newLinks(t)
	link := f.link(t, "videos/job-1.mp4", time.Hour)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	expires, sig := q.Get("expires"), q.Get("sig")
	exp, _ := strconv.ParseInt(expires, 10, 64)
	flipped := []byte(sig)
	flipped[3] ^= 1
	other := &archive.LocalLinks{Base: f.links.Base, Key: bytes.Repeat([]byte{7}, 32), Clock: f.clock}
	otherLink, err := other.Link(t.Context(), "videos/job-1.mp4", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	with := func(path, query string) string { return f.links.Base + path + "?" + query }
	for name, bad := range map[string]string{
		"signature altered":         with("/videos/job-1.mp4", "expires="+expires+"&sig="+string(flipped)),
		"signature truncated":       with("/videos/job-1.mp4", "expires="+expires+"&sig="+sig[:len(sig)-1]),
		"signature padded":          with("/videos/job-1.mp4", "expires="+expires+"&sig="+sig+"="),
		"no signature":              with("/videos/job-1.mp4", "expires="+expires),
		"two signatures":            with("/videos/job-1.mp4", "expires="+expires+"&sig="+sig+"&sig="+sig),
		"expiry extended":           with("/videos/job-1.mp4", "expires="+strconv.FormatInt(exp+3600, 10)+"&sig="+sig),
		"no expiry":                 with("/videos/job-1.mp4", "sig="+sig),
		"expiry not a number":       with("/videos/job-1.mp4", "expires=soon&sig="+sig),
		"another blob":              with("/videos/job-2.mp4", u.RawQuery),
		"expiry moved into the key": with("/videos/job-1.mp4"+expires[:1], "expires="+expires[1:]+"&sig="+sig),
		"no query":                  f.links.Base + "/videos/job-1.mp4",
		"another signing key":       otherLink,
	} {
		resp, body := awstest.Fetch(t, http.MethodGet, bad, nil)
		if resp.StatusCode != http.StatusForbidden || bytes.Contains(body, f.video[:16]) {
			t.Errorf("%s: GET %s = %s; want 403 without the blob", name, bad, resp.Status)
		}
	}
	if resp, _ := awstest.Fetch(t, http.MethodGet, link, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the untouched link = %s, want 200", resp.Status)
	}
}

// A link works until its expiry second and not from then on.
func TestLocalLinkExpires(t *testing.T) {
	f := newLinks(t)
	link := f.link(t, "videos/job-1.mp4", 10*time.Minute)
	f.clock.Advance(10*time.Minute - time.Second)
	if resp, _ := awstest.Fetch(t, http.MethodGet, link, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("a second before expiry: %s, want 200", resp.Status)
	}
	f.clock.Advance(time.Second)
	if resp, _ := awstest.Fetch(t, http.MethodGet, link, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("at expiry: %s, want 403", resp.Status)
	}
	if resp, _ := awstest.Fetch(t, http.MethodGet, link, http.Header{"Range": {"bytes=0-9"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a range request at expiry: %s, want 403", resp.Status)
	}
}

func TestLocalLinkMissingBlobAndMethod(t *testing.T) {
	f := newLinks(t)
	link := f.link(t, "videos/job-9.mp4", time.Hour)
	if resp, _ := awstest.Fetch(t, http.MethodGet, link, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a valid link to a missing blob = %s, want 404", resp.Status)
	}
	link = f.link(t, "videos/job-1.mp4", time.Hour)
	if resp, _ := awstest.Fetch(t, http.MethodPost, link, nil); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST = %s, Allow %q; want 405, GET, HEAD", resp.Status, resp.Header.Get("Allow"))
	}
}

func TestLocalLinkRefusals(t *testing.T) {
	l := &archive.LocalLinks{Base: "http://127.0.0.1:3000/files/", Key: linkKey, Clock: clock.NewManual(t0)}
	for _, tt := range []struct {
		key string
		ttl time.Duration
	}{{"../x", time.Hour}, {"", time.Hour}, {"videos/a.mp4", 0}, {"videos/a.mp4", time.Millisecond}} {
		if link, err := l.Link(t.Context(), tt.key, tt.ttl); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Link(%q, %v) = %q, %v; want ErrInvalid", tt.key, tt.ttl, link, err)
		}
	}
	// A trailing slash on Base does not double.
	if link, err := l.Link(t.Context(), "videos/a.mp4", time.Hour); err != nil || !strings.HasPrefix(link, "http://127.0.0.1:3000/files/videos/a.mp4?") {
		t.Errorf("Link = %q, %v", link, err)
	}

	short := &archive.LocalLinks{Base: "http://x", Key: linkKey[:archive.MinLinkKeyLen-1]}
	if _, err := short.Link(t.Context(), "videos/a.mp4", time.Hour); err == nil {
		t.Error("Link with a short signing key succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("Handler with a short signing key did not panic")
		}
	}()
	short.Handler(fsblobtest.New(t))
}

// Without a clock, links count from the wall clock.
func TestLocalLinkWallClock(t *testing.T) {
	l := &archive.LocalLinks{Base: "http://x/files", Key: linkKey}
	before := time.Now()
	link, err := l.Link(t.Context(), "videos/a.mp4", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := strconv.ParseInt(u.Query().Get("expires"), 10, 64)
	if err != nil || exp < before.Add(time.Hour).Unix() || exp > time.Now().Add(time.Hour).Unix() {
		t.Errorf("expires = %d, %v; want an hour from now", exp, err)
	}
}
