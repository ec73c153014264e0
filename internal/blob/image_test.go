package blob_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/fsblob/fsblobtest"
	"github.com/vidgen/vidgen/internal/job"
)

// memStore is a blob store in a map that counts its calls.
type memStore struct {
	mu   sync.Mutex
	m    map[string]memBlob
	puts int
}

type memBlob struct {
	data []byte
	ct   string
}

func newMem() *memStore { return &memStore{m: map[string]memBlob{}} }

func (s *memStore) Put(_ context.Context, key string, data []byte, ct string) error {
	if err := blob.CheckPut(key, data, ct); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	s.m[key] = memBlob{append([]byte(nil), data...), ct}
	return nil
}

func (s *memStore) Get(_ context.Context, key string) ([]byte, string, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key]
	if !ok {
		return nil, "", fmt.Errorf("get %s: %w", key, blob.ErrNotFound)
	}
	return append([]byte(nil), b.data...), b.ct, nil
}

func TestMemStoreMeetsContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newMem() })
}

// parse validates a request the way the API does, so every data URI used
// here is one a client may really send.
func parse(t *testing.T, image, tail string) job.Request {
	t.Helper()
	fields := map[string]string{"model": job.Model, "image_url": image}
	if tail != "" {
		fields["tail_image_url"] = tail
	}
	body, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	r, err := job.ParseRequest(body, job.ParseOptions{})
	if err != nil {
		t.Fatalf("ParseRequest: %v", err)
	}
	return r
}

func pngURI(n int) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(blobtest.PNG(n))
}

func TestOffloadRestoreMegabytePNG(t *testing.T) {
	ctx := t.Context()
	s := fsblobtest.New(t)
	img := blobtest.PNG(1 << 20)
	image := "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)
	tail := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(blobtest.PNG(200<<10))
	orig := parse(t, image, tail)

	stored, err := blob.Offload(ctx, s, "3f0c9a4e-1b2c-4d5e-8f90-123456789abc", orig)
	if err != nil {
		t.Fatal(err)
	}
	if want := "blob:images/3f0c9a4e-1b2c-4d5e-8f90-123456789abc/image_url"; stored.ImageURL != want {
		t.Errorf("ImageURL = %.80q, want %q", stored.ImageURL, want)
	}
	if want := "blob:images/3f0c9a4e-1b2c-4d5e-8f90-123456789abc/tail_image_url"; stored.TailImageURL != want {
		t.Errorf("TailImageURL = %.80q, want %q", stored.TailImageURL, want)
	}
	if orig.ImageURL != image {
		t.Error("Offload changed its argument")
	}
	if rec, _ := json.Marshal(stored); len(rec) > 1024 {
		t.Errorf("the offloaded request is %d bytes as JSON, want a small record", len(rec))
	}
	// The store holds the image itself, not its base64.
	data, ct, err := s.Get(ctx, "images/3f0c9a4e-1b2c-4d5e-8f90-123456789abc/image_url")
	if err != nil || ct != "image/png" || string(data) != string(img) {
		t.Errorf("stored image = %d bytes, %q, %v; want the %d decoded bytes as image/png", len(data), ct, err, len(img))
	}

	restored, err := blob.Restore(ctx, s, stored)
	if err != nil {
		t.Fatal(err)
	}
	if restored.ImageURL != image {
		t.Errorf("restored image_url differs from the original (%d vs %d bytes)", len(restored.ImageURL), len(image))
	}
	if restored.TailImageURL != tail {
		t.Errorf("restored tail_image_url differs from the original (%d vs %d bytes)", len(restored.TailImageURL), len(tail))
	}
	if !reflect.DeepEqual(restored, orig) {
		t.Errorf("restored request differs from the original in other fields")
	}
}

// Data URIs that rebuilding from decoded bytes would not reproduce are kept
// as text, so the upstream still gets exactly what the client sent.
func TestOffloadRestoreKeepsNonCanonicalDataURIs(t *testing.T) {
	raw := blobtest.PNG(100 << 10)
	b64 := base64.StdEncoding.EncodeToString(raw)
	var wrapped strings.Builder // MIME-style lines of 76 characters
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\r\n")
	}
	// 100 KiB + 1 byte leaves one byte in the last quantum, so two padding
	// characters and four spare bits; setting them still decodes leniently.
	odd := base64.StdEncoding.EncodeToString(blobtest.PNG(100<<10 + 1))
	last := strings.IndexByte(base64std, odd[len(odd)-3])
	oddBits := odd[:len(odd)-3] + string(base64std[last|0x0f]) + "=="

	for _, tc := range []struct {
		name, uri, wantType string
	}{
		{"canonical png", "data:image/png;base64," + b64, "image/png"},
		{"canonical webp", "data:image/webp;base64," + b64, "image/webp"},
		{"upper-case media type", "data:image/PNG;base64," + b64, blob.DataURIType},
		{"mixed-case jpeg", "data:Image/Jpeg;base64," + b64, blob.DataURIType},
		{"base64 with line breaks", "data:image/png;base64," + wrapped.String(), blob.DataURIType},
		{"non-zero padding bits", "data:image/png;base64," + oddBits, blob.DataURIType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := parse(t, tc.uri, "https://example.com/tail.png")
			s := newMem()
			stored, err := blob.Offload(t.Context(), s, "job-1", orig)
			if err != nil {
				t.Fatal(err)
			}
			if stored.ImageURL != "blob:images/job-1/image_url" || stored.TailImageURL != "https://example.com/tail.png" {
				t.Errorf("offloaded = %.60q, %q", stored.ImageURL, stored.TailImageURL)
			}
			if _, ct, _ := s.Get(t.Context(), "images/job-1/image_url"); ct != tc.wantType {
				t.Errorf("stored as %q, want %q", ct, tc.wantType)
			}
			restored, err := blob.Restore(t.Context(), s, stored)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(restored, orig) {
				t.Errorf("restored request differs from the original")
			}
		})
	}
}

const base64std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func TestOffloadLeavesSmallImagesAndURLs(t *testing.T) {
	// Data URIs around the limit. Canonical base64 grows in steps of four
	// characters, so line breaks (which decoding skips) make the exact sizes.
	largest := pngURI((blob.InlineLimit - len("data:image/png;base64,")) / 4 * 3)
	if len(largest) > blob.InlineLimit || len(largest)+4 <= blob.InlineLimit {
		t.Fatalf("test setup: URI of %d bytes is not the largest canonical one within %d", len(largest), blob.InlineLimit)
	}
	withBreaks := func(n int) string {
		v := largest[:len(largest)-4] + strings.Repeat("\n", n-len(largest)) + largest[len(largest)-4:]
		if len(v) != n {
			t.Fatalf("test setup: URI of %d bytes, want %d", len(v), n)
		}
		return v
	}
	atLimit, overLimit := withBreaks(blob.InlineLimit), withBreaks(blob.InlineLimit+1)

	for _, tc := range []struct {
		name        string
		image, tail string
		offloaded   int
	}{
		{"https URLs", "https://example.com/a.png?X-Amz-Signature=abc", "https://example.com/b.png", 0},
		{"small data URI", pngURI(100), "", 0},
		{"largest canonical data URI within InlineLimit", largest, largest, 0},
		{"data URI of exactly InlineLimit", atLimit, atLimit, 0},
		{"data URI one byte over InlineLimit", overLimit, "", 1},
		{"large tail only", "https://example.com/a.png", overLimit, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := parse(t, tc.image, tc.tail)
			s := newMem()
			stored, err := blob.Offload(t.Context(), s, "job-1", orig)
			if err != nil {
				t.Fatal(err)
			}
			if s.puts != tc.offloaded {
				t.Errorf("Offload stored %d images, want %d", s.puts, tc.offloaded)
			}
			if tc.offloaded == 0 && !reflect.DeepEqual(stored, orig) {
				t.Errorf("Offload changed a request it should leave alone")
			}
			// Offloading again stores nothing more.
			again, err := blob.Offload(t.Context(), s, "job-1", stored)
			if err != nil || !reflect.DeepEqual(again, stored) || s.puts != tc.offloaded {
				t.Errorf("second Offload = %v, %d puts; want the same request and no new put", err, s.puts)
			}
			restored, err := blob.Restore(t.Context(), s, stored)
			if err != nil || !reflect.DeepEqual(restored, orig) {
				t.Errorf("Restore = %v; want the original request", err)
			}
		})
	}
	t.Run("no store needed without large images", func(t *testing.T) {
		orig := parse(t, pngURI(100), "https://example.com/b.png")
		if got, err := blob.Offload(t.Context(), nil, "job-1", orig); err != nil || !reflect.DeepEqual(got, orig) {
			t.Errorf("Offload with a nil store = %v", err)
		}
		if got, err := blob.Restore(t.Context(), nil, orig); err != nil || !reflect.DeepEqual(got, orig) {
			t.Errorf("Restore with a nil store = %v", err)
		}
	})
}

func TestOffloadErrors(t *testing.T) {
	big := parse(t, pngURI(100<<10), "")
	for _, id := range []string{"", "../etc", "a/b", ".x", "job 1"} {
		if _, err := blob.Offload(t.Context(), newMem(), id, big); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Offload with job id %q = %v, want ErrInvalid", id, err)
		}
	}
	if _, err := blob.Offload(t.Context(), nil, "job-1", big); err == nil {
		t.Error("Offload of a large image with a nil store succeeded")
	}
	failing := failingPut{errors.New("bucket on fire")}
	if _, err := blob.Offload(t.Context(), failing, "job-1", big); !errors.Is(err, failing.err) {
		t.Errorf("Offload with a failing store = %v, want its error", err)
	}
}

type failingPut struct{ err error }

func (f failingPut) Put(context.Context, string, []byte, string) error { return f.err }

func TestRestoreErrors(t *testing.T) {
	s := newMem()
	ref := job.Request{Model: job.Model, ImageURL: "blob:images/job-1/image_url", AspectRatio: "16:9", Duration: 5}
	if _, err := blob.Restore(t.Context(), s, ref); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Restore of a missing blob = %v, want ErrNotFound", err)
	}
	if _, err := blob.Restore(t.Context(), nil, ref); err == nil {
		t.Error("Restore of a reference with a nil store succeeded")
	}
	for _, tc := range []struct{ data, ct string }{
		{"x", "application/octet-stream"},
		{"not a data URI", blob.DataURIType},
		{"x", "image/PNG"},
	} {
		if err := s.Put(t.Context(), "images/job-1/image_url", []byte(tc.data), tc.ct); err != nil {
			t.Fatal(err)
		}
		if got, err := blob.Restore(t.Context(), s, ref); err == nil {
			t.Errorf("Restore of a %q blob = %.60q, want an error", tc.ct, got.ImageURL)
		}
	}
}

// A request of a model the catalogue does not have is an error to
// restore, not passed on as it is: which of its fields hold blob:
// references is the catalogue's to say, and one must never go upstream.
func TestRestoreUncataloguedModel(t *testing.T) {
	s := newMem()
	if err := s.Put(t.Context(), "images/job-1/image_url", []byte("data:image/png;base64,AAAA"), blob.DataURIType); err != nil {
		t.Fatal(err)
	}
	r := job.Request{Model: "retired/model-v0", Body: map[string]any{"model": "retired/model-v0", "image_url": "blob:images/job-1/image_url"}}
	if got, err := blob.Restore(t.Context(), s, r); err == nil || !strings.Contains(err.Error(), "retired/model-v0") {
		t.Errorf("Restore of an uncatalogued model's request = %v, %v; want an error naming the model", got.Body, err)
	}
}

// A client cannot plant a reference: the API validates requests before
// offloading, and validation accepts only https URLs and data URIs.
func TestClientCannotSendBlobReference(t *testing.T) {
	for _, v := range []string{
		"blob:images/other-tenants-job/image_url",
		"BLOB:images/x/image_url",
		"blob:https://example.com/a.png",
		"Blob:images/x/image_url",
	} {
		for _, field := range []string{"image_url", "tail_image_url"} {
			body, _ := json.Marshal(map[string]string{"model": job.Model, "image_url": "https://example.com/a.png", field: v})
			if r, err := job.ParseRequest(body, job.ParseOptions{}); err == nil {
				t.Errorf("ParseRequest accepted %s %q: %+v", field, v, r)
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	mb := pngURI(1 << 20)
	for _, tc := range []struct{ in, want string }{
		{mb, "data:image/png (1048576 bytes)"},
		{"data:image/jpeg;base64,AAAA", "data:image/jpeg (3 bytes)"},
		{"data:image/png;base64,AAA=", "data:image/png (2 bytes)"},
		{"data:image/png;base64,AA==", "data:image/png (1 bytes)"},
		{"data:image/png;base64,AAAA\r\nAAAA", "data:image/png (6 bytes)"},
		{"DATA:image/png;BASE64,AAAA", "data:image/png (3 bytes)"},
		{"data:text/html,<script>alert(1)</script>", "data:text/html (25 bytes)"},
		{"data:<b>evil</b>;base64,AAAA", "data:? (3 bytes)"},
		{"data:", "data:? (0 bytes)"},
		{"blob:images/3f0c/image_url", "blob:images/3f0c/image_url"},
		{"blob:../../etc/passwd", "blob:? (16 bytes)"},
		{"https://example.com/a.png", "https://example.com/a.png"},
		{"https://cdn.example.com/img/a.png?X-Amz-Signature=secret&X-Amz-Credential=AKIA", "https://cdn.example.com/img/a.png"},
		{"https://user:pass@example.com/a.png#frag", "https://example.com/a.png"},
		{"https://example.com/a.png?", "https://example.com/a.png"},
		{"HTTPS://example.com/a%3Fb.png?q", "https://example.com/a%3Fb.png"},
		{"javascript:alert(document.cookie)", "(not an http URL, 33 bytes)"},
		{" data:image/png;base64,AAAA", "(not an http URL, 27 bytes)"},
		{"", "(not an http URL, 0 bytes)"},
	} {
		if got := blob.Describe(tc.in); got != tc.want {
			t.Errorf("Describe(%.60q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzDescribe checks what logs rely on: Describe never passes on a data
// URI's payload, a query or a fragment, whatever it is given.
func FuzzDescribe(f *testing.F) {
	for _, s := range []string{
		"data:image/png;base64,iVBORw0KGgo=", "DaTa:image/png;base64,secret", "blob:images/a/image_url",
		"https://u:p@example.com/p?q=secret#frag", "http://[::1]:80/x?y", "blob:?secret", "data:,secret",
		"https://example.com/%3Fsecret", "mailto:secret@example.com", "https:secret?x",
	} {
		f.Add(s)
	}
	dataRe := regexp.MustCompile(`^data:([A-Za-z0-9._/+-]{1,64}|\?) \(\d+ bytes\)$`)
	f.Fuzz(func(t *testing.T, v string) {
		got := blob.Describe(v)
		// "data:? (…)" and "blob:? (…)" are placeholders, not queries.
		if strings.ContainsAny(strings.Replace(got, ":? (", "", 1), "?#") {
			t.Errorf("Describe(%q) = %q holds a query or fragment", v, got)
		}
		switch {
		case len(v) >= 5 && strings.EqualFold(v[:5], "data:"):
			if !dataRe.MatchString(got) {
				t.Errorf("Describe(%q) = %q, want data:<media type> (<n> bytes)", v, got)
			}
		case strings.HasPrefix(got, "http"):
			u, err := url.Parse(got)
			if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				t.Errorf("Describe(%q) = %q keeps more than scheme, host and path", v, got)
			}
		}
	})
}

// A thumbnail-sized image, a few KiB, leaves the record: DynamoDB bills
// each of the record's writes by its whole size, so a record that kept it
// would cost several write units per write instead of one.
func TestOffloadThumbnail(t *testing.T) {
	ctx := t.Context()
	s := fsblobtest.New(t)
	thumb := pngURI(3 << 10)
	r := job.Request{Model: job.Model, ImageURL: thumb, Prompt: "p", Duration: 5}
	stored, err := blob.Offload(ctx, s, "3f0c9a4e-1b2c-4d5e-8f90-123456789abc", r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored.ImageURL, blob.RefPrefix) {
		t.Fatalf("a %d-byte data URI stayed in the record", len(thumb))
	}
	if rec, _ := json.Marshal(stored); len(rec) > 512 {
		t.Errorf("the request is %d bytes as JSON, want under 512 so a record stays within one write unit", len(rec))
	}
	back, err := blob.Restore(ctx, s, stored)
	if err != nil || back.ImageURL != thumb {
		t.Errorf("restored %.40q, %v; want the thumbnail back", back.ImageURL, err)
	}
}
