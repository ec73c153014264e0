package simulator

import (
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
)

// wantLink checks that link is a signed link to file (scheme, host and
// path) that expires at expires.
func wantLink(t *testing.T, link, file string, expires time.Time) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("video URL %q: %v", link, err)
	}
	q := u.Query()
	if got := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(); got != file {
		t.Errorf("video URL %s points at %s, want %s", link, got, file)
	}
	if got, want := q.Get(expiresParam), strconv.FormatInt(expires.Unix(), 10); got != want {
		t.Errorf("video URL %s expires at %s, want %s (%v)", link, got, want, expires)
	}
	if sig, err := hex.DecodeString(q.Get(sigParam)); err != nil || len(sig) != 32 {
		t.Errorf("video URL %s: sig is not a hex HMAC-SHA256", link)
	}
	if len(q) != 2 {
		t.Errorf("video URL %s: query has %d parameters, want expires and sig", link, len(q))
	}
}

// videoURL polls the completed generation id and returns its video URL.
func (f fixture) videoURL(t *testing.T, id string) string {
	t.Helper()
	got := f.poll(t, id)
	if got.Status != "completed" {
		t.Fatalf("poll %s: %q, want completed", id, got.Status)
	}
	var v video
	decode(t, got.Video, &v)
	return v.URL
}

// completed submits a generation and advances the clock to its completion.
func (f fixture) completed(t *testing.T) string {
	t.Helper()
	id := f.submit(t, validReq)
	f.clock.Advance(DefaultQueueTime + DefaultGenerationTime)
	return id
}

// wantVideo checks that a GET of link serves the sample MP4.
func (f fixture) wantVideo(t *testing.T, link string) {
	t.Helper()
	w := f.call(t, http.MethodGet, link, "", "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "video/mp4" || w.Body.String() != sampleVideo(5) {
		t.Fatalf("GET %s at %v: status %d, type %q, %d bytes; want the MP4", link, f.clock.Now(), w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
}

// wantDenied checks that r is answered 403 with an S3-style AccessDenied
// error carrying message, and no video.
func (f fixture) wantDenied(t *testing.T, r *http.Request, message string) accessDenied {
	t.Helper()
	w := httptest.NewRecorder()
	f.sim.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Fatalf("%s %s: status %d, want 403", r.Method, r.URL, w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/xml" {
		t.Errorf("%s: Content-Type %q, want application/xml", r.URL, ct)
	}
	if strings.Contains(w.Body.String(), "ftyp") || w.Header().Get("Content-Range") != "" {
		t.Errorf("%s: a refusal serves video bytes: %q", r.URL, w.Body)
	}
	var got accessDenied
	if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("%s: body %q: %v", r.URL, w.Body, err)
	}
	if got.Code != "AccessDenied" || got.Message != message {
		t.Errorf("%s: error %+v, want AccessDenied %q", r.URL, got, message)
	}
	return got
}

func (f fixture) wantDeniedGET(t *testing.T, link, message string) accessDenied {
	t.Helper()
	return f.wantDenied(t, httptest.NewRequest(http.MethodGet, link, nil), message)
}

// A link serves the video until its TTL has passed on the clock, then
// answers 403 "Request has expired", whatever the method or range.
func TestVideoURLExpires(t *testing.T) {
	f := newFixture(t)
	id := f.completed(t)
	polled := f.clock.Now()
	link := f.videoURL(t, id)
	wantLink(t, link, "http://example.com/files/"+id+".mp4", polled.Add(DefaultVideoURLTTL))

	f.wantVideo(t, link)
	f.clock.Advance(DefaultVideoURLTTL - time.Second)
	f.wantVideo(t, link)

	f.clock.Advance(time.Second)
	got := f.wantDeniedGET(t, link, "Request has expired")
	if want := polled.Add(DefaultVideoURLTTL).Format(time.RFC3339); got.Expires != want || got.ServerTime != want {
		t.Errorf("expired error %+v, want Expires and ServerTime %s", got, want)
	}
	ranged := httptest.NewRequest(http.MethodGet, link, nil)
	ranged.Header.Set("Range", "bytes=0-11")
	f.wantDenied(t, ranged, "Request has expired")
	w := httptest.NewRecorder()
	f.sim.ServeHTTP(w, httptest.NewRequest(http.MethodHead, link, nil))
	if w.Code != http.StatusForbidden {
		t.Errorf("HEAD of an expired link: status %d, want 403", w.Code)
	}
}

// Each poll hands out a fresh link, valid for the TTL from that poll,
// while links handed out before keep their own expiry.
func TestPollRenewsVideoURL(t *testing.T) {
	f := newFixture(t)
	id := f.completed(t)
	first := f.videoURL(t, id)
	f.clock.Advance(DefaultVideoURLTTL)
	f.wantDeniedGET(t, first, "Request has expired")

	second := f.videoURL(t, id)
	if second == first {
		t.Fatalf("a later poll handed out the same link %s", first)
	}
	wantLink(t, second, "http://example.com/files/"+id+".mp4", f.clock.Now().Add(DefaultVideoURLTTL))
	f.wantVideo(t, second)
	f.wantDeniedGET(t, first, "Request has expired")

	// Legacy answers sign alike.
	legacyID := f.submit(t, withPrompt("sim:legacy"))
	f.clock.Advance(DefaultQueueTime + DefaultGenerationTime)
	w := f.call(t, http.MethodGet, oldRoute+"?generation_id="+legacyID, testKey, "")
	var legacy struct{ Video []string }
	decode(t, w.Body.Bytes(), &legacy)
	if len(legacy.Video) != 1 {
		t.Fatalf("legacy poll: %s", w.Body)
	}
	f.wantVideo(t, legacy.Video[0])
}

// A link whose signature is missing or does not match its id and expires
// is refused with 403 "Access Denied", even before it would expire.
func TestVideoURLForgeries(t *testing.T) {
	f := newFixture(t)
	id := f.completed(t)
	other := f.completed(t)
	link := f.videoURL(t, id)
	otherLink := f.videoURL(t, other)
	u, _ := url.Parse(link)
	q := u.Query()
	expires, _ := strconv.ParseInt(q.Get(expiresParam), 10, 64)
	sig := q.Get(sigParam)
	file := "/files/" + id + ".mp4"
	with := func(params ...string) string {
		v := url.Values{}
		for i := 0; i < len(params); i += 2 {
			v.Add(params[i], params[i+1])
		}
		return file + "?" + v.Encode()
	}
	flipped := []byte(sig) // one hex digit changed
	if flipped[0] == '0' {
		flipped[0] = '1'
	} else {
		flipped[0] = '0'
	}
	otherQuery := otherLink[strings.Index(otherLink, "?"):]

	for name, target := range map[string]string{
		"no query":                 file,
		"no sig":                   with(expiresParam, q.Get(expiresParam)),
		"no expires":               with(sigParam, sig),
		"empty sig":                with(expiresParam, q.Get(expiresParam), sigParam, ""),
		"tampered sig":             with(expiresParam, q.Get(expiresParam), sigParam, string(flipped)),
		"sig not hex":              with(expiresParam, q.Get(expiresParam), sigParam, "zz"+sig[2:]),
		"truncated sig":            with(expiresParam, q.Get(expiresParam), sigParam, sig[:32]),
		"expires a second later":   with(expiresParam, strconv.FormatInt(expires+1, 10), sigParam, sig),
		"expires a year later":     with(expiresParam, strconv.FormatInt(expires+365*24*3600, 10), sigParam, sig),
		"expires earlier":          with(expiresParam, strconv.FormatInt(expires-1, 10), sigParam, sig),
		"expires not a number":     with(expiresParam, "soon", sigParam, sig),
		"expires twice":            with(expiresParam, q.Get(expiresParam), expiresParam, q.Get(expiresParam), sigParam, sig),
		"another video's query":    file + otherQuery,
		"signed by another Server": New(Config{Clock: f.clock}).videoURL("", id),
	} {
		t.Run(name, func(t *testing.T) {
			f.wantDeniedGET(t, target, "Access Denied")
		})
	}
	// The genuine link still works after all that.
	f.wantVideo(t, link)
}

// VideoURLTTL sets the lifetime of links, rounded up to a whole second;
// 0 or less means DefaultVideoURLTTL.
func TestVideoURLTTL(t *testing.T) {
	for _, tt := range []struct {
		ttl, want time.Duration
		start     time.Time
	}{
		{0, DefaultVideoURLTTL, t0},
		{-time.Minute, DefaultVideoURLTTL, t0},
		{90 * time.Second, 90 * time.Second, t0},
		{500 * time.Millisecond, time.Second, t0},
		{time.Minute, time.Minute + 700*time.Millisecond, t0.Add(300 * time.Millisecond)},
	} {
		t.Run(tt.ttl.String()+"@"+tt.start.Format(".000"), func(t *testing.T) {
			c := clock.NewManual(tt.start)
			f := fixture{sim: New(Config{Key: testKey, Clock: c, VideoURLTTL: tt.ttl}), clock: c}
			id := f.completed(t)
			link := f.videoURL(t, id)
			polled := c.Now()
			wantLink(t, link, "http://example.com/files/"+id+".mp4", polled.Add(tt.want))
			c.Advance(tt.want - time.Nanosecond)
			f.wantVideo(t, link)
			c.Advance(time.Nanosecond)
			f.wantDeniedGET(t, link, "Request has expired")
		})
	}
}

// With a journal, the signing key is kept beside it, readable by its owner
// only, so links outlive a restart; without, each Server has its own.
func TestSigningKeyPersistsWithJournal(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "sim.jsonl")
	c := clock.NewManual(t0)
	open := func() fixture { return openJournaled(t, journal, c) }
	f := open()
	id := f.completed(t)
	link := f.videoURL(t, id)
	if err := f.sim.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(journal + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 || info.Size() != keySize {
		t.Errorf("key file: mode %v, %d bytes; want 0600, %d bytes", info.Mode().Perm(), info.Size(), keySize)
	}
	entries, _ := os.ReadDir(filepath.Dir(journal))
	if len(entries) != 2 {
		t.Errorf("journal dir holds %d files, want the journal and its key", len(entries))
	}

	f = open()
	f.wantVideo(t, link)
	c.Advance(DefaultVideoURLTTL)
	f.wantDeniedGET(t, link, "Request has expired")

	// A damaged key file is replaced, voiding the links signed with it.
	link = f.videoURL(t, id)
	f.sim.Close()
	if err := os.WriteFile(journal+".key", []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	f = open()
	f.wantDeniedGET(t, link, "Access Denied")
	f.wantVideo(t, f.videoURL(t, id))
	if info, err := os.Stat(journal + ".key"); err != nil || info.Size() != keySize {
		t.Errorf("key file after replacement: %v, %v", info, err)
	}

	// Servers without a journal do not honour each other's links.
	a, b := newFixture(t), newFixture(t)
	id = a.completed(t)
	b.clock.Advance(time.Hour)
	b.wantDeniedGET(t, a.videoURL(t, id), "Access Denied")
}

// A generation's video lasts as long as its request asked: the 10 s one
// for duration 10, the 5 s one otherwise.
func TestVideoMatchesRequestedDuration(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		body string
		want string
	}{
		{validReq, sample5s},
		{`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","duration":5}`, sample5s},
		{`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","duration":10}`, sample10s},
	} {
		id := f.submit(t, tc.body)
		f.clock.Advance(time.Hour)
		w := f.call(t, http.MethodGet, f.videoURL(t, id), "", "")
		if w.Code != http.StatusOK || w.Body.String() != tc.want {
			t.Errorf("%s: status %d, %d bytes; want the %d-byte video of its duration", tc.body, w.Code, w.Body.Len(), len(tc.want))
		}
	}
}
