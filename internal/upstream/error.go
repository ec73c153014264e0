package upstream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind classifies a failed request by what the caller may conclude from it.
type Kind int

// Kinds of failure.
const (
	KindThrottled   Kind = iota + 1 // 429: not accepted; try again after RetryAfter
	KindUnavailable                 // 5xx: the upstream failed; a submit may or may not have been accepted
	KindUnreachable                 // no connection was established: the request surely was not received
	KindInterrupted                 // sent, but no complete answer came: timeout, reset, body cut short
	KindRejected                    // 4xx other than 401, 403, 404 and 429: the request itself is wrong
	KindNotFound                    // 404: no such generation
	KindMalformed                   // 2xx whose body does not parse, lacks id or status, or is completed without a video URL
	KindKeyRefused                  // 401 or 403: the upstream refused the key; nothing was generated
)

func (k Kind) String() string {
	switch k {
	case KindThrottled:
		return "throttled"
	case KindUnavailable:
		return "unavailable"
	case KindUnreachable:
		return "unreachable"
	case KindInterrupted:
		return "interrupted"
	case KindRejected:
		return "rejected"
	case KindNotFound:
		return "not found"
	case KindMalformed:
		return "malformed"
	case KindKeyRefused:
		return "key refused"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a failed exchange with the upstream. It never holds the key.
type Error struct {
	Kind       Kind
	StatusCode int           // the HTTP status, 0 when there was no answer
	RetryAfter time.Duration // from the Retry-After header, 0 when absent
	Message    string        // at most about 200 bytes of what the upstream said
	Err        error         // the underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %v", e.RetryAfter)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KeyError means there is no usable key to call the upstream with (its
// secret is empty or missing), so nothing was sent: only a change of
// configuration helps.
type KeyError struct {
	// Setting names where the key should come from, such as the
	// environment variable that names its secret. It is safe to show
	// clients: it holds no key, secret name or ARN.
	Setting string
	// Err is the underlying error; it may name the secret, so it is for
	// logs only.
	Err error
}

func (e *KeyError) Error() string {
	return "upstream key not configured (" + e.Setting + " is empty or missing): " + e.Err.Error()
}

func (e *KeyError) Unwrap() error { return e.Err }

// transportError classifies an error from http.Client.Do. Only failures to
// connect are KindUnreachable; anything else may have happened after the
// request went out, so it is KindInterrupted.
func transportError(err error) *Error {
	kind := KindInterrupted
	if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Op == "dial" {
		kind = KindUnreachable
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		kind = KindUnreachable
	}
	// A certificate is refused during the handshake, before any request.
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		kind = KindUnreachable
	}
	return &Error{Kind: kind, Err: err}
}

// maxRetryAfter caps Retry-After so that absurd values cannot overflow a
// Duration; callers apply their own, smaller bounds.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value, either delta-seconds or an
// HTTP-date taken relative to now. It returns 0 for absent or unreadable
// values and for dates in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		if secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(at.Sub(now), 0), maxRetryAfter)
}

// maxMessage bounds the upstream's words kept in an Error.
const maxMessage = 200

// snippet returns at most maxMessage bytes of b as one clean line.
func snippet(b []byte) string {
	return clip(string(b[:min(len(b), 4*maxMessage)]), maxMessage)
}

// clip returns s as one line of valid UTF-8, cut at a character boundary to
// at most n bytes (plus an ellipsis when cut).
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
