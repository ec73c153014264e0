// Package blob keeps job payloads that are too large for a job record:
// DynamoDB items stop at 400 KB and Step Functions payloads at 256 KiB, while
// a data-URI image may be several megabytes. The API offloads such images to
// a blob store (S3 in AWS, files under the data directory locally) and the
// record keeps a short reference; the submit step restores the image just
// before it POSTs the request upstream.
//
// The stores live in subpackages (fsblob, s3blob) and are held to one
// contract (blobtest); this package holds what they share and the
// offloading logic, and imports no AWS package.
package blob

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Getter reads blobs.
type Getter interface {
	// Get returns a blob and its content type; a missing key is an error
	// wrapping ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, string, error)
}

// Putter writes blobs.
type Putter interface {
	// Put stores data under key, replacing whatever was there; a reader
	// sees the old blob or the new one, never a mix.
	Put(ctx context.Context, key string, data []byte, contentType string) error
}

// Store is a blob store.
type Store interface {
	Putter
	Getter
}

// Errors every store returns, wrapped, so callers can use errors.Is.
var (
	ErrNotFound = errors.New("blob not found")
	// ErrInvalid means a key, content type or size that CheckKey,
	// CheckContentType or MaxSize refuse.
	ErrInvalid = errors.New("invalid blob")
)

// MaxSize bounds one blob. The largest vidgen stores is a data URI of
// job.MaxImageBytes (under 6 MB as base64); the bound keeps a bad object
// from exhausting a small Lambda's memory on Get.
const MaxSize = 8 << 20

// Bounds of a key: well inside S3's 1024 bytes, and each segment a valid
// file name.
const (
	MaxKeyLength     = 512
	MaxSegmentLength = 255
)

// CheckKey reports whether key is one every store accepts: segments of
// ASCII letters, digits, '.', '_' and '-' joined by '/', none empty, none
// longer than MaxSegmentLength and none starting with '.'. That excludes absolute paths, "." and "..", so a key can
// never leave a file store's directory, and it excludes the dot files the
// file store uses for its temporary files.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if len(key) > MaxKeyLength {
		return fmt.Errorf("%w: key longer than %d bytes", ErrInvalid, MaxKeyLength)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" {
			return fmt.Errorf("%w: key %q has an empty segment", ErrInvalid, key)
		}
		if len(seg) > MaxSegmentLength {
			return fmt.Errorf("%w: key has a segment longer than %d bytes", ErrInvalid, MaxSegmentLength)
		}
		if seg[0] == '.' {
			return fmt.Errorf("%w: key %q has a segment starting with '.'", ErrInvalid, key)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !isKeyByte(c) {
				return fmt.Errorf("%w: key %q has the byte %q", ErrInvalid, key, c)
			}
		}
	}
	return nil
}

func isKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// CheckContentType reports whether ct can be stored: non-empty printable
// ASCII of at most 255 bytes, so it is a safe HTTP header value and fits on
// the file store's header line.
func CheckContentType(ct string) error {
	if ct == "" || len(ct) > 255 {
		return fmt.Errorf("%w: content type must be 1 to 255 bytes", ErrInvalid)
	}
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: content type %q has a byte outside printable ASCII", ErrInvalid, ct)
		}
	}
	return nil
}

// CheckPut checks Put's arguments; every store calls it first.
func CheckPut(key string, data []byte, contentType string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := CheckContentType(contentType); err != nil {
		return err
	}
	if len(data) > MaxSize {
		return fmt.Errorf("%w: %d bytes is more than %d", ErrInvalid, len(data), MaxSize)
	}
	return nil
}
