// Package blobtest is the contract every blob store must meet. Each store's
// tests call Run with a constructor, so the file store and S3 are held to
// exactly the same behaviour.
package blobtest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/vidgen/vidgen/internal/blob"
)

// PNG returns n bytes that start like a PNG image and continue at random:
// random, so a store that alters, truncates or re-encodes any byte is
// caught.
func PNG(n int) []byte {
	sig := []byte("\x89PNG\r\n\x1a\n")
	b := make([]byte, max(n, len(sig)))
	rand.Read(b)
	copy(b, sig)
	return b[:n]
}

// ReadAll reads a blob's stream (or an HTTP answer's body) whole and
// closes it, failing t if it cannot.
func ReadAll(t testing.TB, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Run runs the contract against stores made by newStore; each subtest gets
// a fresh store.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Run("1 MB image round-trips byte for byte with its content type", func(t *testing.T) {
		s := newStore(t)
		want := PNG(1 << 20)
		put(t, s, "images/job-1/image_url", want, "image/png")
		wantBlob(t, s, "images/job-1/image_url", want, "image/png")
	})
	t.Run("content types are kept", func(t *testing.T) {
		s := newStore(t)
		for i, ct := range []string{"image/png", "image/jpeg", "image/webp", blob.DataURIType, "text/plain; charset=utf-8"} {
			key := fmt.Sprintf("types/%d", i)
			data := []byte("blob " + ct)
			put(t, s, key, data, ct)
			wantBlob(t, s, key, data, ct)
		}
	})
	t.Run("empty blob round-trips", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "empty", nil, "image/png")
		wantBlob(t, s, "empty", nil, "image/png")
	})
	t.Run("the largest blob round-trips", func(t *testing.T) {
		s := newStore(t)
		want := PNG(blob.MaxSize)
		put(t, s, "images/big/image_url", want, "image/png")
		wantBlob(t, s, "images/big/image_url", want, "image/png")
	})
	t.Run("missing key is ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "images/job-1/image_url", []byte("x"), "image/png")
		for _, key := range []string{"images/job-2/image_url", "images/job-1/tail_image_url", "images/job-1", "images/job-1/image_url/more", "never"} {
			if data, ct, err := s.Get(t.Context(), key); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("Get(%q) = %d bytes, %q, %v; want ErrNotFound", key, len(data), ct, err)
			}
		}
	})
	t.Run("overwriting a key is idempotent and the last write wins", func(t *testing.T) {
		s := newStore(t)
		first, second := PNG(70<<10), PNG(30<<10)
		put(t, s, "images/job-1/image_url", first, "image/png")
		put(t, s, "images/job-1/image_url", first, "image/png")
		wantBlob(t, s, "images/job-1/image_url", first, "image/png")
		put(t, s, "images/job-1/image_url", second, blob.DataURIType)
		wantBlob(t, s, "images/job-1/image_url", second, blob.DataURIType)
	})
	t.Run("concurrent writes of a key leave one of them whole", func(t *testing.T) {
		s := newStore(t)
		const n = 8
		var (
			wg    sync.WaitGroup
			blobs [n][]byte
		)
		for i := range n {
			blobs[i] = PNG(256 << 10)
			wg.Go(func() {
				if err := s.Put(t.Context(), "race", blobs[i], fmt.Sprintf("image/x-%d", i)); err != nil {
					t.Errorf("Put #%d: %v", i, err)
				}
			})
		}
		wg.Wait()
		data, ct, err := s.Get(t.Context(), "race")
		if err != nil {
			t.Fatal(err)
		}
		var i int
		if _, err := fmt.Sscanf(ct, "image/x-%d", &i); err != nil || i < 0 || i >= n || !bytes.Equal(data, blobs[i]) {
			t.Errorf("after concurrent puts Get = %d bytes, %q; want one put's data with its own content type", len(data), ct)
		}
	})
	t.Run("Put keeps its own copy", func(t *testing.T) {
		s := newStore(t)
		data := []byte("original")
		put(t, s, "copy", data, "image/png")
		copy(data, "changed!")
		wantBlob(t, s, "copy", []byte("original"), "image/png")
	})
	t.Run("bad keys, content types and sizes are refused", func(t *testing.T) {
		s := newStore(t)
		badKeys := []string{
			"", "/abs", "a/", "a//b", ".", "..", "../x", "a/../b", "a/./b", ".hidden", "a/.tmp-x",
			`a\b`, "a b", "a\x00b", "a\nb", "é", "a?b", "a%2fb", "~/x",
			longKey(blob.MaxKeyLength + 1), "a/" + strings.Repeat("k", blob.MaxSegmentLength+1),
		}
		for _, key := range badKeys {
			if err := s.Put(t.Context(), key, []byte("x"), "image/png"); !errors.Is(err, blob.ErrInvalid) {
				t.Errorf("Put(%.80q) = %v, want ErrInvalid", key, err)
			}
			if _, _, err := s.Get(t.Context(), key); !errors.Is(err, blob.ErrInvalid) {
				t.Errorf("Get(%.80q) = %v, want ErrInvalid", key, err)
			}
		}
		for _, ct := range []string{"", "image/png\nX-Injected: 1", "image/png\r", "imagé/png", strings.Repeat("t", 256)} {
			if err := s.Put(t.Context(), "ok", []byte("x"), ct); !errors.Is(err, blob.ErrInvalid) {
				t.Errorf("Put with content type %q = %v, want ErrInvalid", ct, err)
			}
		}
		if err := s.Put(t.Context(), "ok", make([]byte, blob.MaxSize+1), "image/png"); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Put of %d bytes = %v, want ErrInvalid", blob.MaxSize+1, err)
		}
		// Nothing refused was stored.
		if _, _, err := s.Get(t.Context(), "ok"); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("after refused puts Get(ok) = %v, want ErrNotFound", err)
		}
		// The longest valid key works.
		long := longKey(blob.MaxKeyLength)
		put(t, s, long, []byte("x"), "image/png")
		wantBlob(t, s, long, []byte("x"), "image/png")
	})
}

// longKey is a key of n bytes made of segments as long as allowed.
func longKey(n int) string {
	var b strings.Builder
	for left := n; ; {
		if left <= blob.MaxSegmentLength {
			b.WriteString(strings.Repeat("k", left))
			return b.String()
		}
		seg := min(blob.MaxSegmentLength, left-2) // room for '/' and a last byte
		b.WriteString(strings.Repeat("k", seg) + "/")
		left -= seg + 1
	}
}

func put(t *testing.T, s blob.Store, key string, data []byte, ct string) {
	t.Helper()
	if err := s.Put(t.Context(), key, data, ct); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func wantBlob(t *testing.T, s blob.Store, key string, want []byte, wantCT string) {
	t.Helper()
	got, ct, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Get(%q) = %d bytes differing from the %d put", key, len(got), len(want))
	}
	if ct != wantCT {
		t.Errorf("Get(%q) content type = %q, want %q", key, ct, wantCT)
	}
}
