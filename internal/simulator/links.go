package simulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultVideoURLTTL is how long a video URL stays valid when
// Config.VideoURLTTL is 0. The real upstream's CDN links are signed and
// expire, but their lifetime is not documented and is unknown here: "within
// hours" is all that is known, so an hour errs on the short side.
const DefaultVideoURLTTL = time.Hour

// Query parameters of a signed video URL.
const (
	expiresParam = "expires" // Unix seconds after which the link is refused
	sigParam     = "sig"     // hex HMAC-SHA256 of the generation id and expires
)

// keySize is the length in bytes of the key video URLs are signed with.
const keySize = 32

// newSigningKey returns a random signing key.
func newSigningKey() []byte {
	key := make([]byte, keySize)
	rand.Read(key) // never fails: crypto/rand crashes the program instead
	return key
}

// keyPath is where the signing key of a Server with the journal at journal
// is kept.
func keyPath(journal string) string { return journal + ".key" }

// loadKey reads the signing key kept at path, creating the file with a new
// random key, readable by its owner only, when there is none. A file that
// does not hold a key is replaced: links signed with it are lost, as any
// simulator state may be, but the simulator still starts.
func (s *Server) loadKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	switch {
	case err == nil && len(key) == keySize:
		return key, nil
	case err == nil:
		s.log.Warn("replacing an unreadable simulator signing key; video links handed out before are void", "path", path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read simulator signing key: %w", err)
	}
	key = newSigningKey()
	if err := writeKey(path, key); err != nil {
		return nil, fmt.Errorf("write simulator signing key: %w", err)
	}
	return key, nil
}

// writeKey writes key to path in full or not at all: a crash leaves no
// torn key behind.
func writeKey(path string, key []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// sign returns the signature of the link to id's video that expires at
// expires (Unix seconds).
func (s *Server) sign(id string, expires int64) []byte {
	mac := hmac.New(sha256.New, s.signingKey)
	mac.Write([]byte(id))
	mac.Write([]byte{0}) // no id contains a NUL, so no two inputs run together
	mac.Write([]byte(strconv.FormatInt(expires, 10)))
	return mac.Sum(nil)
}

// videoURL returns a fresh link to id's video under base, valid for the
// configured TTL from now. It expires at the first whole second at or after
// now+TTL, so even a TTL under a second gives a usable link.
func (s *Server) videoURL(base, id string) string {
	end := s.clock.Now().Add(s.videoTTL)
	expires := end.Unix()
	if end.After(time.Unix(expires, 0)) {
		expires++
	}
	q := url.Values{expiresParam: {strconv.FormatInt(expires, 10)}, sigParam: {hex.EncodeToString(s.sign(id, expires))}}
	return base + "/files/" + id + ".mp4?" + q.Encode()
}

// linkError is why a video link is refused.
type linkError struct {
	message string
	expires time.Time // set when the link expired
}

// checkLink reports whether q signs a link to id's video that is still
// valid. The signature is checked first, so "expired" is said only of a
// genuine link.
func (s *Server) checkLink(id string, q url.Values) *linkError {
	expires, err := strconv.ParseInt(q.Get(expiresParam), 10, 64)
	sig, herr := hex.DecodeString(q.Get(sigParam))
	if err != nil || herr != nil || len(q[expiresParam]) != 1 || len(q[sigParam]) != 1 {
		return &linkError{message: "Access Denied"}
	}
	if !hmac.Equal(sig, s.sign(id, expires)) {
		return &linkError{message: "Access Denied"}
	}
	at := time.Unix(expires, 0)
	if !s.clock.Now().Before(at) {
		return &linkError{message: "Request has expired", expires: at}
	}
	return nil
}

// accessDenied is the body of a refused video request, shaped like S3's
// errors: <Error><Code>AccessDenied</Code><Message>…</Message>…</Error>.
type accessDenied struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	Expires    string   `xml:"Expires,omitempty"`
	ServerTime string   `xml:"ServerTime,omitempty"`
}

// deny answers 403 as a CDN does to a missing, forged or expired link.
func (s *Server) deny(w http.ResponseWriter, e *linkError) {
	body := accessDenied{Code: "AccessDenied", Message: e.message}
	if !e.expires.IsZero() {
		body.Expires = e.expires.UTC().Format(time.RFC3339)
		body.ServerTime = s.clock.Now().UTC().Format(time.RFC3339)
	}
	out, err := xml.Marshal(body)
	if err != nil {
		// Plain strings always marshal.
		panic(fmt.Sprintf("simulator: encode access denied: %v", err))
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
	w.Write([]byte(xml.Header))
	w.Write(out)
	w.Write([]byte("\n"))
}
