package archive

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/clock"
)

// Linker hands out URLs that download a stored blob for a while:
// s3blob.Links in AWS, LocalLinks locally.
type Linker interface {
	Link(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// MinLinkKeyLen is the shortest key LocalLinks accepts: HMAC-SHA256 is as
// strong as its key up to the hash's 32 bytes.
const MinLinkKeyLen = 32

// LocalLinks makes and checks the links of local mode, where no S3 presigns
// URLs: Base/<key>?expires=<unix seconds>&sig=<signature>, where the
// signature is the unpadded base64url HMAC-SHA256 under Key of the blob
// key and the expiry. Links are bearer tokens: anyone holding one may
// download the blob until it expires.
type LocalLinks struct {
	// Base is the URL the Handler is served at, such as
	// "http://127.0.0.1:3000/files".
	Base string
	// Key signs links; at least MinLinkKeyLen random bytes, used for
	// nothing else, and kept across restarts so links stay valid.
	Key []byte
	// Clock defaults to the wall clock.
	Clock clock.Clock
}

// linkLabel separates these signatures from any other HMAC a key might
// wrongly be shared with.
const linkLabel = "vidgen archive link v1\n"

// Link returns a URL of key valid for ttl, rounded down to whole seconds.
func (l *LocalLinks) Link(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", fmt.Errorf("archive: link %s: %w", key, err)
	}
	if len(l.Key) < MinLinkKeyLen {
		return "", fmt.Errorf("archive: link %s: the signing key has %d bytes, fewer than %d", key, len(l.Key), MinLinkKeyLen)
	}
	if ttl < time.Second {
		return "", fmt.Errorf("archive: link %s: %w: TTL %v is under a second", key, blob.ErrInvalid, ttl)
	}
	expires := l.now().Add(ttl).Unix()
	q := url.Values{"expires": {strconv.FormatInt(expires, 10)}, "sig": {l.sign(key, expires)}}
	// Keys are made of URL-safe bytes (blob.CheckKey), so they need no
	// escaping.
	return strings.TrimSuffix(l.Base, "/") + "/" + key + "?" + q.Encode(), nil
}

func (l *LocalLinks) now() time.Time {
	if l.Clock == nil {
		return time.Now()
	}
	return l.Clock.Now()
}

// sign is the signature of key until expires. The newline between the two
// keeps them apart: without it, a link for key "v1" until 700 would also
// sign key "v" until 1700.
func (l *LocalLinks) sign(key string, expires int64) string {
	m := hmac.New(sha256.New, l.Key)
	io.WriteString(m, linkLabel+key+"\n"+strconv.FormatInt(expires, 10))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Opener opens a stored blob for reading with seeking, so a handler serves
// ranges of a large video without reading it into memory (fsblob.Store).
type Opener interface {
	// Open returns the blob and its content type; a missing key is an
	// error wrapping blob.ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, string, error)
}

// Handler serves the blobs of store at the links Link makes, with their
// content type and support for Range requests. The request path, less any
// prefix a http.StripPrefix removed, is the blob key, so serve it with
//
//	mux.Handle("GET /files/", http.StripPrefix("/files", links.Handler(store)))
//
// for a Base ending in /files. A missing, altered or expired signature
// answers 403, a valid link to a missing blob 404. Handler panics if Key is
// shorter than MinLinkKeyLen, since it would accept forged links.
func (l *LocalLinks) Handler(store Opener) http.Handler {
	if len(l.Key) < MinLinkKeyLen {
		panic(fmt.Sprintf("archive: LocalLinks.Handler with a %d-byte key, fewer than %d", len(l.Key), MinLinkKeyLen))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		key := strings.TrimPrefix(r.URL.Path, "/")
		if !l.valid(key, r.URL.Query()) {
			http.Error(w, "forbidden: the link is invalid or expired", http.StatusForbidden)
			return
		}
		body, contentType, err := store.Open(r.Context(), key)
		switch {
		case errors.Is(err, blob.ErrNotFound):
			http.Error(w, "not found", http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, "cannot read the blob", http.StatusInternalServerError)
			return
		}
		defer body.Close()
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		// A link is a bearer token: keep shared caches from serving the
		// blob to anyone without it.
		h.Set("Cache-Control", "private")
		http.ServeContent(w, r, "", time.Time{}, body)
	})
}

// valid reports whether q signs key and has not expired. The signature is
// checked first and in constant time, so a forger learns nothing from
// either the timing or the answer.
func (l *LocalLinks) valid(key string, q url.Values) bool {
	if blob.CheckKey(key) != nil || len(q["expires"]) != 1 || len(q["sig"]) != 1 {
		return false
	}
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil {
		return false
	}
	if !hmac.Equal([]byte(q.Get("sig")), []byte(l.sign(key, expires))) {
		return false
	}
	return l.now().Unix() < expires
}
