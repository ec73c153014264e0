// Package archive keeps finished videos. The upstream's video URLs are
// signed CDN links that expire within hours, so a job that only recorded
// the URL would lose its result: on completion vidgen copies the video into
// a blob store it controls (Archiver) and later hands clients fresh links to
// the copy (Linker: presigned S3 URLs in AWS, HMAC-signed local URLs served
// by LocalLinks.Handler locally).
package archive

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/blob"
)

// Defaults of Archiver.
const (
	DefaultMaxBytes = 200 << 20
	DefaultTimeout  = 2 * time.Minute
)

// ContentType is the content type archived videos are stored and served
// with.
const ContentType = "video/mp4"

// maxRedirects is net/http's own limit, which a CheckRedirect replaces.
const maxRedirects = 10

// Putter stores a blob of known size from a reader that can seek
// (fsblob.Store and s3blob.Store). A video may be far larger than
// blob.MaxSize, the bound of blob.Putter's in-memory Put.
type Putter interface {
	PutStream(ctx context.Context, key string, body io.ReadSeeker, size int64, contentType string) error
}

// Errors a FetchError may wrap, for errors.Is.
var (
	// ErrHostNotAllowed: the URL, or a redirect, leads to a host outside
	// AllowedHosts or to a scheme other than http and https.
	ErrHostNotAllowed = errors.New("host not allowed")
	// ErrTooLarge: the video is larger than MaxBytes, as declared or as read.
	ErrTooLarge = errors.New("video too large")
	// ErrNotVideo: the answer is not an MP4 video.
	ErrNotVideo = errors.New("not an MP4 video")
)

// FetchError is a failure to download the video. Retryable says whether
// asking again later may succeed: 5xx, 408 and 429 answers, timeouts and
// network failures are; a refused host, 403, 404, another 4xx, a video too
// large and a wrong content type are not.
type FetchError struct {
	Retryable bool
	// Status is the HTTP status of the answer, 0 when there was none.
	Status int
	// URL is the source without its query or fragment, which for a signed
	// CDN link hold the signature; it is safe to log.
	URL string
	Err error
}

func (e *FetchError) Error() string {
	return "archive: fetch " + e.URL + ": " + e.Err.Error()
}

func (e *FetchError) Unwrap() error { return e.Err }

// Archiver copies finished videos from the upstream into a blob store.
type Archiver struct {
	// HTTP fetches the video; nil uses a client with http.DefaultTransport.
	// Its CheckRedirect, if any, runs after the Archiver's own checks.
	HTTP  *http.Client
	Store Putter
	// AllowedHosts are the hosts videos may come from, redirects included.
	// An entry matches a URL's host name exactly (case aside), or with a
	// port ("127.0.0.1:3000") its host and port exactly; an entry with a
	// leading dot (".aimlapi.com") matches every subdomain but not the
	// domain itself. Empty allows nothing.
	AllowedHosts []string
	// MaxBytes bounds a video; 0 means DefaultMaxBytes.
	MaxBytes int64
	// Timeout bounds the download, from the request to the last byte; 0
	// means DefaultTimeout. Storing the copy is bounded only by ctx.
	Timeout time.Duration
}

// Key is where the video of job jobID is stored.
func Key(jobID string) string { return "videos/" + jobID + ".mp4" }

// Archive downloads the video at sourceURL and stores it under Key(jobID)
// as video/mp4, returning the key and the video's size. Download failures
// are *FetchError; any other error (an invalid job id, the store failing,
// a temporary file that cannot be written) is vidgen's own, worth retrying
// unless it wraps blob.ErrInvalid. Archiving a job again replaces its copy.
//
// The video goes to a temporary file first, not straight to the store:
// that bounds memory whatever the size, stores nothing until the whole
// video has arrived and passed every check, and gives the store a known
// size and a body that can seek, which S3's PutObject needs to sign and
// checksum a payload (and to retry). A single PutObject takes up to 5 GiB,
// so the SDK's multipart upload manager would add a dependency and part
// buffers in memory for nothing.
func (a *Archiver) Archive(ctx context.Context, jobID, sourceURL string) (key string, size int64, err error) {
	key = Key(jobID)
	if strings.Contains(jobID, "/") {
		return "", 0, fmt.Errorf("archive: job id %q: %w: contains '/'", jobID, blob.ErrInvalid)
	}
	if err := blob.CheckKey(key); err != nil {
		return "", 0, fmt.Errorf("archive: job id %q: %w", jobID, err)
	}
	tmp, err := os.CreateTemp("", "vidgen-archive-*.mp4")
	if err != nil {
		return "", 0, fmt.Errorf("archive: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	size, err = a.fetch(ctx, sourceURL, tmp)
	if err != nil {
		return "", 0, err
	}
	if err := a.Store.PutStream(ctx, key, io.NewSectionReader(tmp, 0, size), size, ContentType); err != nil {
		return "", 0, fmt.Errorf("archive: store %s: %w", key, err)
	}
	return key, size, nil
}

// fetch downloads sourceURL into dst and returns its size.
func (a *Archiver) fetch(ctx context.Context, sourceURL string, dst io.Writer) (int64, error) {
	u, err := url.Parse(sourceURL)
	if err != nil {
		// url.Parse's error repeats the URL, signature and all.
		return 0, &FetchError{URL: "(unparsable URL)", Err: errors.New("invalid URL")}
	}
	safe := redact(u)
	fail := func(retryable bool, status int, err error) (int64, error) {
		return 0, &FetchError{Retryable: retryable, Status: status, URL: safe, Err: err}
	}
	if err := a.allowed(u); err != nil {
		return fail(false, 0, err)
	}
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(false, 0, errors.New("invalid URL"))
	}
	req.Header.Set("Accept", ContentType)
	resp, err := a.client().Do(req)
	if err != nil {
		if fe, ok := errors.AsType[*FetchError](err); ok {
			return 0, fe // a redirect refused by the client's CheckRedirect
		}
		return fail(true, 0, transportError(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fail(retryableStatus(resp.StatusCode), resp.StatusCode,
			fmt.Errorf("answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	limit := a.maxBytes()
	if resp.ContentLength > limit {
		return fail(false, resp.StatusCode, fmt.Errorf("%w: %d bytes declared, more than %d", ErrTooLarge, resp.ContentLength, limit))
	}
	body := bufio.NewReader(resp.Body)
	if err := checkType(resp.Header.Get("Content-Type"), body); err != nil {
		if errors.Is(err, ErrNotVideo) {
			return fail(false, resp.StatusCode, err)
		}
		return fail(true, resp.StatusCode, transportError(ctx, err))
	}
	// One byte past the limit tells a video of exactly MaxBytes from a
	// larger one whose length was not declared.
	n, err := io.Copy(dst, io.LimitReader(body, limit+1))
	switch {
	case err != nil:
		// The write side is a local file; a failure there is not the
		// source's, but retrying is right either way.
		return fail(true, resp.StatusCode, transportError(ctx, err))
	case n > limit:
		return fail(false, resp.StatusCode, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit))
	case n == 0:
		return fail(false, resp.StatusCode, fmt.Errorf("%w: empty body", ErrNotVideo))
	}
	return n, nil
}

func (a *Archiver) maxBytes() int64 {
	if a.MaxBytes > 0 {
		return a.MaxBytes
	}
	return DefaultMaxBytes
}

// client is a.HTTP with the redirect checks; a copy, so the caller's client
// is left as it was.
func (a *Archiver) client() *http.Client {
	c := &http.Client{}
	if a.HTTP != nil {
		*c = *a.HTTP
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		safe := redact(req.URL)
		if len(via) >= maxRedirects {
			return &FetchError{URL: safe, Err: fmt.Errorf("stopped after %d redirects", maxRedirects)}
		}
		if err := a.allowed(req.URL); err != nil {
			return &FetchError{URL: safe, Err: fmt.Errorf("redirect refused: %w", err)}
		}
		if req.URL.Scheme == "http" && via[len(via)-1].URL.Scheme == "https" {
			return &FetchError{URL: safe, Err: fmt.Errorf("redirect refused: %w: https downgraded to http", ErrHostNotAllowed)}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return c
}

// allowed reports whether u may be fetched.
func (a *Archiver) allowed(u *url.URL) error {
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%w: scheme %q", ErrHostNotAllowed, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: URL carries credentials", ErrHostNotAllowed)
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	hostPort := host
	if port := u.Port(); port != "" {
		hostPort = net.JoinHostPort(host, port)
	}
	// A suffix rule names a domain, so it never matches an IP address
	// (".0.0.1" would match 127.0.0.1).
	isIP := net.ParseIP(host) != nil
	if host != "" {
		for _, h := range a.AllowedHosts {
			h = strings.ToLower(h)
			switch {
			case strings.HasPrefix(h, "."):
				if !isIP && strings.HasSuffix(host, h) {
					return nil
				}
			case h == host || h == hostPort:
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %q", ErrHostNotAllowed, u.Host)
}

// checkType accepts video/mp4, and application/octet-stream (what object
// stores answer for a file uploaded without a type) only when the body
// starts with an MP4 ftyp box. It peeks at body without consuming it.
func checkType(header string, body *bufio.Reader) error {
	mediaType, _, err := mime.ParseMediaType(header)
	if err != nil {
		return fmt.Errorf("%w: content type %q", ErrNotVideo, header)
	}
	switch mediaType {
	case ContentType:
		return nil
	case "application/octet-stream":
		head, err := body.Peek(16)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if !isMP4(head) {
			return fmt.Errorf("%w: %s that does not start with an MP4 ftyp box", ErrNotVideo, mediaType)
		}
		return nil
	}
	return fmt.Errorf("%w: content type %q", ErrNotVideo, mediaType)
}

// isMP4 reports whether head starts with an ISO BMFF ftyp box: a 32-bit
// size, "ftyp", then at least the major brand and minor version.
func isMP4(head []byte) bool {
	if len(head) < 16 || string(head[4:8]) != "ftyp" {
		return false
	}
	return binary.BigEndian.Uint32(head) >= 16
}

func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

// transportError drops the *url.Error around a client failure, whose
// message repeats the URL with the query, which for a signed CDN link is a
// secret. When the download's context has ended it makes sure the error
// says so (errors.Is context.DeadlineExceeded for the timeout), whatever
// the transport made of it.
func transportError(ctx context.Context, err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// redact is u without credentials, query or fragment.
func redact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}
