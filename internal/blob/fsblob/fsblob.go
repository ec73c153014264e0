// Package fsblob is the local blob store: one file per blob under a
// directory. A file holds the content type on its first line and the data
// after it, so the two are replaced together by one atomic rename.
package fsblob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/vidgen/vidgen/internal/blob"
)

// Store keeps blobs under a directory. Keys map to paths below it; a key
// cannot also be a prefix of another key's path (a file cannot be a
// directory), which the keys vidgen uses never are.
type Store struct {
	dir string
}

// New returns a store under dir, creating it (mode 0700) if needed.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	return &Store{dir: dir}, nil
}

// open opens the directory as an os.Root, so that even a key that passed
// blob.CheckKey cannot reach outside it through a symbolic link.
func (s *Store) open() (*os.Root, error) {
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, fmt.Errorf("fsblob: %w", err)
	}
	return root, nil
}

// Put writes the blob to a temporary file beside its final path, syncs it
// and renames it into place, so a reader or a crash sees the old blob or
// the new one, never part of either.
func (s *Store) Put(ctx context.Context, key string, data []byte, contentType string) error {
	if err := blob.CheckPut(key, data, contentType); err != nil {
		return fmt.Errorf("fsblob: put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsblob: put %s: %w", key, err)
	}
	root, err := s.open()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := put(root, key, data, contentType); err != nil {
		return fmt.Errorf("fsblob: put %s: %w", key, err)
	}
	return nil
}

func put(root *os.Root, key string, data []byte, contentType string) (err error) {
	dir := path.Dir(key)
	if err := root.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// Dot names are never keys (blob.CheckKey), so a temporary file cannot
	// collide with a blob.
	tmp := path.Join(dir, ".tmp-"+rand.Text())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			root.Remove(tmp)
		}
	}()
	if _, err := f.Write(append([]byte(contentType), '\n')); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := root.Rename(tmp, key); err != nil {
		return err
	}
	// Make the rename durable too. Best effort: the blob is in place and
	// readable already, so failing the Put now would only mislead.
	if d, err := root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Get reads a blob; a key with no file is an error wrapping blob.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, "", fmt.Errorf("fsblob: get %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("fsblob: get %s: %w", key, err)
	}
	root, err := s.open()
	if err != nil {
		return nil, "", err
	}
	defer root.Close()
	raw, err := root.ReadFile(key)
	if err != nil {
		// A directory, or a path through a file, is a key never written,
		// as it would be in S3.
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) {
			return nil, "", fmt.Errorf("fsblob: get %s: %w", key, blob.ErrNotFound)
		}
		return nil, "", fmt.Errorf("fsblob: get %s: %w", key, err)
	}
	contentType, data, ok := bytes.Cut(raw, []byte{'\n'})
	if !ok || blob.CheckContentType(string(contentType)) != nil {
		return nil, "", fmt.Errorf("fsblob: get %s: the file has no content type line", key)
	}
	return data, string(contentType), nil
}
