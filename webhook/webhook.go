// Package webhook verifies the webhooks vidgen sends when a job ends. They
// follow the Standard Webhooks specification (https://www.standardwebhooks.com):
// any Standard Webhooks library verifies them too; this package needs only
// the standard library.
//
// A receiver reads the body's raw bytes, calls Verify with its tenant's
// secret (GET /v2/webhooks/secret answers it), and only then decodes the body
// as a Payload. The webhook-id header is the same on every attempt to
// deliver one message, so a receiver that has already handled an id can
// acknowledge it again and do nothing.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers every delivery carries.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts a symmetric webhook secret; the rest is the key's
// base64.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook's timestamp may be from the
// receiver's clock, either way, when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Verification errors, for receivers that want to tell them apart.
var (
	ErrMissingHeader = errors.New("webhook header missing")
	ErrTimestamp     = errors.New("webhook timestamp outside the tolerance")
	ErrSignature     = errors.New("no valid webhook signature")
)

// Sign returns the webhook-signature value for a message: "v1," and the
// base64 of HMAC-SHA256 over "<id>.<unix seconds>.<body>" keyed with the
// secret's bytes. The id may not contain '.', since the dots are what keep
// id, timestamp and body apart in the signed text. Receivers need it only
// to test their own handlers.
func Sign(secret string, id string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	if id == "" || strings.ContainsAny(id, ". \t\r\n") {
		return "", fmt.Errorf("webhook: id %q must be non-empty, without dots or spaces", id)
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(ts.Unix(), 10), body)), nil
}

// Verify checks a received webhook the way a receiver should: all three
// headers present, the timestamp within tolerance of now (in either
// direction, which stops replays of old messages), and at least one of the
// space-separated signatures a valid v1 signature of body, compared in
// constant time. Signatures of other schemes (v1a) are skipped, so a sender
// may add them, and several v1 signatures let a sender rotate secrets. body
// must be the raw bytes received: parsing and re-encoding JSON changes
// them. A tolerance ≤ 0 means DefaultTolerance.
func Verify(secret string, headers http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := headers.Get(HeaderID), headers.Get(HeaderTimestamp), headers.Get(HeaderSignature)
	for _, h := range [...]struct{ name, value string }{{HeaderID, id}, {HeaderTimestamp, ts}, {HeaderSignature, sigs}} {
		if h.value == "" {
			return fmt.Errorf("%w: %s", ErrMissingHeader, h.name)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not unix seconds", ErrTimestamp, HeaderTimestamp)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s is %s from now", ErrTimestamp, HeaderTimestamp, d.Round(time.Second))
	}
	want := mac(key, id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		scheme, value, ok := strings.Cut(sig, ",")
		if !ok || scheme != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}

func mac(key []byte, id, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// decodeSecret returns the key of a whsec_ secret. The prefix is required
// so that a raw key or a secret of another scheme is never used by mistake.
// Errors never quote the secret.
func decodeSecret(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("webhook: secret does not start with %q", SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook: secret is not a base64 key after its prefix")
	}
	return key, nil
}
