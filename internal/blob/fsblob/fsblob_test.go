package fsblob_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/fsblob"
)

func newStore(t *testing.T, dir string) *fsblob.Store {
	t.Helper()
	s, err := fsblob.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return newStore(t, filepath.Join(t.TempDir(), "blobs"))
	})
}

// Blobs are private to the user running vidgen, and a Put leaves no
// temporary file behind.
func TestPermissionsAndNoLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s := newStore(t, dir)
	for range 3 {
		if err := s.Put(t.Context(), "images/job-1/image_url", blobtest.PNG(100<<10), "image/png"); err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = fs.ModeDir | 0o700
		} else {
			files = append(files, strings.TrimPrefix(p, dir))
		}
		if info.Mode() != want {
			t.Errorf("%s has mode %v, want %v", p, info.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := string(filepath.Separator) + filepath.FromSlash("images/job-1/image_url"); len(files) != 1 || files[0] != want {
		t.Errorf("files under the store = %q, want just %q", files, want)
	}
}

// Keys are checked, and even a symbolic link planted inside the directory
// cannot lead a Put or Get outside it.
func TestStaysInsideItsDirectory(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "blobs"), filepath.Join(base, "outside")
	s := newStore(t, dir)
	if err := os.Mkdir(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("text/plain\nsecret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "images")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	if err := s.Put(t.Context(), "images/job-1/image_url", []byte("x"), "image/png"); err == nil {
		t.Error("Put through a symbolic link out of the directory succeeded")
	}
	if data, _, err := s.Get(t.Context(), "link"); err == nil {
		t.Errorf("Get through a symbolic link out of the directory = %q", data)
	}
	if data, _, err := s.Get(t.Context(), "images/secret"); err == nil {
		t.Errorf("Get through a symbolic link out of the directory = %q", data)
	}
	for _, key := range []string{"../outside/secret", "/etc/passwd"} {
		if _, _, err := s.Get(t.Context(), key); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Get(%q) = %v, want ErrInvalid", key, err)
		}
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the directory outside the store holds %d entries, want only the 1 it had", len(entries))
	}
}

func TestCorruptFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "bad"), []byte("no header line"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(t.Context(), "bad"); err == nil || errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get of a file without a content type line = %v, want an error other than ErrNotFound", err)
	}
}

func TestCancelledContext(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, "k", []byte("x"), "image/png"); !errors.Is(err, context.Canceled) {
		t.Errorf("Put = %v, want context.Canceled", err)
	}
	if _, _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v, want context.Canceled", err)
	}
}

func TestNewCreatesPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "blobs")
	newStore(t, dir)
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode() != fs.ModeDir|0o700 {
		t.Errorf("New made %s with mode %v, want drwx------", dir, info.Mode())
	}
}
