// Package fsblob is the local blob store: one file per blob under a
// directory. A file holds the content type on its first line and the data
// after it, so the two are replaced together by one atomic rename.
package fsblob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

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
	return s.write(ctx, key, blob.CheckPut(key, data, contentType), func(root *os.Root) error {
		return put(root, key, data, contentType)
	})
}

// write runs w on the store's root, once the put's arguments checked out
// (checked is nil) and ctx is live; its errors name key.
func (s *Store) write(ctx context.Context, key string, checked error, w func(*os.Root) error) error {
	if checked != nil {
		return fmt.Errorf("fsblob: put %s: %w", key, checked)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsblob: put %s: %w", key, err)
	}
	root, err := s.open()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := w(root); err != nil {
		return fmt.Errorf("fsblob: put %s: %w", key, err)
	}
	return nil
}

func put(root *os.Root, key string, data []byte, contentType string) error {
	return putStream(context.Background(), root, key, bytes.NewReader(data), int64(len(data)), contentType)
}

// Get reads a blob; a key with no file is an error wrapping blob.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	r, contentType, err := s.Open(ctx, key)
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, "", fmt.Errorf("fsblob: get %s: %w", key, err)
	}
	return data, contentType, nil
}
