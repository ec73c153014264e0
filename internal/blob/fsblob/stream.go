package fsblob

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/vidgen/vidgen/internal/blob"
)

// PutStream stores size bytes read from body under key, like Put but for
// blobs larger than blob.MaxSize (archived videos): the data goes from body
// to the file without being held in memory. body must hold exactly size
// bytes; fewer or more is an error and leaves the old blob in place.
func (s *Store) PutStream(ctx context.Context, key string, body io.ReadSeeker, size int64, contentType string) error {
	return s.write(ctx, key, checkStream(key, size, contentType), func(root *os.Root) error {
		return putStream(ctx, root, key, body, size, contentType)
	})
}

func checkStream(key string, size int64, contentType string) error {
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	if err := blob.CheckContentType(contentType); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("%w: negative size %d", blob.ErrInvalid, size)
	}
	return nil
}

// putStream writes a blob: the content type line, then exactly size bytes
// of body, into a temporary file beside the final path (dot names are never
// keys, so it cannot collide with a blob), synced and renamed into place.
func putStream(ctx context.Context, root *os.Root, key string, body io.Reader, size int64, contentType string) (err error) {
	dir := path.Dir(key)
	if err := root.MkdirAll(dir, 0o700); err != nil {
		return err
	}
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
	// A copy of hundreds of megabytes takes a while: let a cancelled
	// context stop it between reads.
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, body}, size))
	if err != nil {
		return err
	}
	if n < size {
		return fmt.Errorf("body ended after %d of %d bytes", n, size)
	}
	var extra [1]byte
	if m, _ := io.ReadFull(body, extra[:]); m > 0 {
		return fmt.Errorf("body is longer than %d bytes", size)
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

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Open returns a blob as a reader that can seek, and its content type, so
// a large blob can be served in ranges without being read into memory. The
// caller closes the reader. A key with no file is an error wrapping
// blob.ErrNotFound.
func (s *Store) Open(ctx context.Context, key string) (io.ReadSeekCloser, string, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, "", fmt.Errorf("fsblob: open %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("fsblob: open %s: %w", key, err)
	}
	root, err := s.open()
	if err != nil {
		return nil, "", err
	}
	// The file stays open after the root is closed.
	defer root.Close()
	f, err := root.Open(key)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, "", fmt.Errorf("fsblob: open %s: %w", key, blob.ErrNotFound)
		}
		return nil, "", fmt.Errorf("fsblob: open %s: %w", key, err)
	}
	r, contentType, err := section(f)
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EISDIR) {
			return nil, "", fmt.Errorf("fsblob: open %s: %w", key, blob.ErrNotFound)
		}
		return nil, "", fmt.Errorf("fsblob: open %s: %w", key, err)
	}
	return r, contentType, nil
}

// section reads the content type line of a blob file and returns the data
// after it as a reader of its own.
func section(f *os.File) (*fileSection, string, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if info.IsDir() {
		return nil, "", syscall.EISDIR
	}
	// The line is at most 255 bytes of content type and the newline.
	var head [256]byte
	n, err := f.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return nil, "", err
	}
	for i, c := range head[:n] {
		if c != '\n' {
			continue
		}
		contentType := string(head[:i])
		if blob.CheckContentType(contentType) != nil {
			break
		}
		start := int64(i + 1)
		return &fileSection{SectionReader: io.NewSectionReader(f, start, info.Size()-start), f: f}, contentType, nil
	}
	return nil, "", errors.New("the file has no content type line")
}

// fileSection is the data part of a blob file, closing the file with it.
type fileSection struct {
	*io.SectionReader
	f *os.File
}

func (s *fileSection) Close() error { return s.f.Close() }
