package fsblob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
)

// A blob larger than Put allows streams in and opens, byte for byte, and
// both Open and Get see it.
func TestPutStreamLargerThanMaxSize(t *testing.T) {
	s := newStore(t, t.TempDir())
	want := blobtest.PNG(blob.MaxSize + 1<<20)
	if err := s.PutStream(t.Context(), "videos/job-1.mp4", bytes.NewReader(want), int64(len(want)), "video/mp4"); err != nil {
		t.Fatal(err)
	}
	r, ct, err := s.Open(t.Context(), "videos/job-1.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if got := blobtest.ReadAll(t, r); !bytes.Equal(got, want) || ct != "video/mp4" {
		t.Errorf("Open = %d bytes, %q; want the %d bytes put, video/mp4", len(got), ct, len(want))
	}
	got, ct, err := s.Get(t.Context(), "videos/job-1.mp4")
	if err != nil || !bytes.Equal(got, want) || ct != "video/mp4" {
		t.Errorf("Get = %d bytes, %q, %v; want the %d bytes put, video/mp4", len(got), ct, err, len(want))
	}
}

// Open's reader seeks within the data, never into the content type line.
func TestOpenSeeks(t *testing.T) {
	s := newStore(t, t.TempDir())
	if err := s.Put(t.Context(), "k", []byte("0123456789"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	r, _, err := s.Open(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, err := r.Seek(0, io.SeekEnd); err != nil || n != 10 {
		t.Fatalf("Seek to the end = %d, %v; want 10", n, err)
	}
	if _, err := r.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "456" {
		t.Errorf("read at 4 = %q, %v; want 456", buf, err)
	}
}

func TestOpenEmptyBlob(t *testing.T) {
	s := newStore(t, t.TempDir())
	if err := s.PutStream(t.Context(), "empty", bytes.NewReader(nil), 0, "video/mp4"); err != nil {
		t.Fatal(err)
	}
	r, ct, err := s.Open(t.Context(), "empty")
	if err != nil {
		t.Fatal(err)
	}
	if got := blobtest.ReadAll(t, r); len(got) != 0 || ct != "video/mp4" {
		t.Errorf("Open = %q, %q; want nothing, video/mp4", got, ct)
	}
}

// A body shorter or longer than its declared size stores nothing, keeps
// the old blob and leaves no temporary file.
func TestPutStreamSizeMismatch(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	if err := s.Put(t.Context(), "videos/v.mp4", []byte("old"), "video/mp4"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		body string
		size int64
	}{{"short", 10}, {"longer than said", 4}} {
		if err := s.PutStream(t.Context(), "videos/v.mp4", strings.NewReader(tt.body), tt.size, "video/mp4"); err == nil {
			t.Errorf("PutStream of %d bytes declared as %d succeeded", len(tt.body), tt.size)
		}
	}
	r, _, err := s.Open(t.Context(), "videos/v.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if got := blobtest.ReadAll(t, r); string(got) != "old" {
		t.Errorf("after failed puts the blob is %q, want old", got)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "videos"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("videos/ holds %d entries, want just the blob", len(entries))
	}
}

func TestPutStreamRefusesBadArguments(t *testing.T) {
	s := newStore(t, t.TempDir())
	for _, tt := range []struct {
		key, ct string
		size    int64
	}{
		{"../x", "video/mp4", 1},
		{".tmp-x", "video/mp4", 1},
		{"ok", "video/mp4\nX: 1", 1},
		{"ok", "", 1},
		{"ok", "video/mp4", -1},
	} {
		if err := s.PutStream(t.Context(), tt.key, strings.NewReader("x"), tt.size, tt.ct); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("PutStream(%q, size %d, %q) = %v, want ErrInvalid", tt.key, tt.size, tt.ct, err)
		}
	}
	if _, _, err := s.Open(t.Context(), "../x"); !errors.Is(err, blob.ErrInvalid) {
		t.Errorf("Open(../x) = %v, want ErrInvalid", err)
	}
}

// Directories and paths through a file are keys never written, as in S3.
func TestOpenMissing(t *testing.T) {
	s := newStore(t, t.TempDir())
	if err := s.Put(t.Context(), "videos/v.mp4", []byte("x"), "video/mp4"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"videos/w.mp4", "videos", "videos/v.mp4/more", "never"} {
		if r, _, err := s.Open(t.Context(), key); !errors.Is(err, blob.ErrNotFound) {
			if r != nil {
				r.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
		}
	}
}

func TestOpenCorruptFile(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	for name, content := range map[string]string{"none": "no header line", "long": strings.Repeat("t", 300) + "\nx", "bad": "a\x01b\nx"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Open(t.Context(), name); err == nil || errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Open(%s) = %v, want an error other than ErrNotFound", name, err)
		}
	}
}

func TestOpenStaysInsideItsDirectory(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "blobs")
	s := newStore(t, dir)
	secret := filepath.Join(base, "secret")
	if err := os.WriteFile(secret, []byte("text/plain\nsecret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if r, _, err := s.Open(t.Context(), "link"); err == nil {
		r.Close()
		t.Error("Open through a symbolic link out of the directory succeeded")
	}
}

func TestStreamCancelledContext(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutStream(ctx, "k", strings.NewReader("x"), 1, "video/mp4"); !errors.Is(err, context.Canceled) {
		t.Errorf("PutStream = %v, want context.Canceled", err)
	}
	if _, _, err := s.Open(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "k")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a cancelled PutStream left %v", err)
	}
}

// cancelAfterRead cancels a context once it has been read from.
type cancelAfterRead struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c cancelAfterRead) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 1024)])
	c.cancel()
	return n, err
}

// A context cancelled during the copy stops it and stores nothing.
func TestPutStreamCancelledMidway(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	data := blobtest.PNG(1 << 20)
	body := cancelAfterRead{r: bytes.NewReader(data), cancel: cancel}
	if err := s.PutStream(ctx, "k", seekless{body}, int64(len(data)), "video/mp4"); !errors.Is(err, context.Canceled) {
		t.Errorf("PutStream = %v, want context.Canceled", err)
	}
	if _, _, err := s.Open(t.Context(), "k"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("after a cancelled PutStream Open = %v, want ErrNotFound", err)
	}
}

// seekless is a reader whose Seek is never called by fsblob.
type seekless struct{ io.Reader }

func (seekless) Seek(int64, int) (int64, error) { return 0, errors.New("no seeking") }
