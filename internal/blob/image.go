package blob

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/vidgen/vidgen/internal/job"
)

// InlineLimit is the longest data URI that stays in the job record; longer
// ones are offloaded. DynamoDB bills a write by the whole item, one write
// unit per started KB, and a job's record is written about seven times (and
// read at each step, per started 4 KB): a KB kept inline costs about seven
// write units per job, $4.4 per million jobs at $0.625 per million, where
// offloading costs an S3 PUT and a GET, $5.4 per million. Past 2 KiB the
// record's writes cost more than the object; no useful image is smaller.
const InlineLimit = 2 << 10

// RefPrefix starts a reference to an offloaded image. Clients cannot send
// one: job.ParseRequest accepts only https URLs and data URIs.
const RefPrefix = "blob:"

// DataURIType is the content type of a blob that holds a data URI's text
// as is. Offload stores that when the URI is not in the canonical form that
// Restore rebuilds from decoded bytes, so the upstream always receives
// exactly what the client sent.
const DataURIType = "application/vnd.vidgen.data-uri"

// canonicalType reports whether a media type is stored as decoded bytes, spelled as
// the upstream documents them. Any other spelling (image/PNG) is stored as
// text, which also spares Restore from relying on a store keeping a content
// type's case.
func canonicalType(mediaType string) bool {
	return mediaType == strings.ToLower(mediaType) && job.AnyMediaType(mediaType)
}

// keySegment is a media value's path as one key segment: image_url stays
// image_url (the key images were always stored under), and
// elements[0].frontal_image_url becomes elements.0.frontal_image_url.
func keySegment(path string) string {
	return strings.NewReplacer("[", ".", "]", "").Replace(path)
}

// Offload moves the request's data-URI media (every media field its
// model has, job.Request.Media) longer than InlineLimit to s, under
// images/<jobID>/<path>, and returns the request with each replaced by its
// reference "blob:images/<jobID>/<path>". Other values are left as they
// are, and so is r. A canonical data URI is stored as its decoded bytes
// with its media type; any other is stored as text (DataURIType).
func Offload(ctx context.Context, s Putter, jobID string, r job.Request) (job.Request, error) {
	return r.MapMedia(func(m job.Media) (string, error) {
		v := m.Value
		if !strings.HasPrefix(v, "data:") || len(v) <= InlineLimit {
			return v, nil
		}
		// The job id must be one segment, or two jobs' keys could meet.
		key := "images/" + jobID + "/" + keySegment(m.Path)
		if err := CheckKey(key); err != nil || strings.Contains(jobID, "/") {
			return "", fmt.Errorf("offload %s: %w: job id %q is not a key segment", m.Path, ErrInvalid, jobID)
		}
		if s == nil {
			return "", fmt.Errorf("offload %s of job %s: no blob store", m.Path, jobID)
		}
		data, contentType := encodeDataURI(v)
		if err := s.Put(ctx, key, data, contentType); err != nil {
			return "", fmt.Errorf("offload %s of job %s: %w", m.Path, jobID, err)
		}
		return RefPrefix + key, nil
	})
}

// Offloads reports whether Offload would write any of r's media to the
// blob store.
func Offloads(r job.Request) bool {
	for _, m := range r.Media() {
		if strings.HasPrefix(m.Value, "data:") && len(m.Value) > InlineLimit {
			return true
		}
	}
	return false
}

// encodeDataURI returns what to store for the data URI v: its decoded bytes
// and media type when rebuilding from them gives back exactly v, else v's
// text.
func encodeDataURI(v string) ([]byte, string) {
	meta, payload, ok := strings.Cut(strings.TrimPrefix(v, "data:"), ",")
	mediaType, enc, _ := strings.Cut(meta, ";")
	if ok && enc == "base64" && canonicalType(mediaType) {
		// Decoding is lenient (it skips newlines, ignores padding bits), so
		// only a re-encoding that matches proves the bytes rebuild v.
		if data, err := base64.StdEncoding.DecodeString(payload); err == nil && base64.StdEncoding.EncodeToString(data) == payload {
			return data, mediaType
		}
	}
	return []byte(v), DataURIType
}

// Restore is Offload's inverse: it replaces each reference in r with the
// data URI it stands for, the very string the client sent. Other values are
// left as they are, and so is r; s is used only if r holds a reference. A
// blob that is gone is an error wrapping ErrNotFound.
func Restore(ctx context.Context, s Getter, r job.Request) (job.Request, error) {
	return r.MapMedia(func(m job.Media) (string, error) {
		key, ok := strings.CutPrefix(m.Value, RefPrefix)
		if !ok {
			return m.Value, nil
		}
		if s == nil {
			return "", fmt.Errorf("restore %s from %s: no blob store", m.Path, key)
		}
		data, contentType, err := s.Get(ctx, key)
		if err != nil {
			return "", fmt.Errorf("restore %s: %w", m.Path, err)
		}
		v, err := decodeDataURI(data, contentType)
		if err != nil {
			return "", fmt.Errorf("restore %s from %s: %w", m.Path, key, err)
		}
		return v, nil
	})
}

func decodeDataURI(data []byte, contentType string) (string, error) {
	switch {
	case contentType == DataURIType:
		if !strings.HasPrefix(string(data), "data:") {
			return "", errors.New("the stored text is not a data URI")
		}
		return string(data), nil
	case canonicalType(contentType):
		return "data:" + contentType + ";base64," + base64.StdEncoding.EncodeToString(data), nil
	}
	return "", fmt.Errorf("unexpected content type %q", contentType)
}

// Describe renders an image reference for logs, which must never carry a
// data URI's payload or a URL's query (signed URLs put credentials there):
// "data:image/png (1048576 bytes)", "blob:images/<id>/image_url", or an
// https URL without its query, fragment and user info.
func Describe(v string) string {
	if len(v) >= 5 && strings.EqualFold(v[:5], "data:") {
		meta, payload, _ := strings.Cut(v[5:], ",")
		mediaType, enc, _ := strings.Cut(meta, ";")
		if !isLogSafe(mediaType) {
			mediaType = "?"
		}
		n := len(payload)
		if strings.EqualFold(enc, "base64") {
			n = base64Size(payload)
		}
		return fmt.Sprintf("data:%s (%d bytes)", mediaType, n)
	}
	if key, ok := strings.CutPrefix(v, RefPrefix); ok {
		if CheckKey(key) != nil {
			return fmt.Sprintf("blob:? (%d bytes)", len(key))
		}
		return v
	}
	u, err := url.Parse(v)
	if err != nil || (!strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, "http")) {
		// Opaque or broken values may hold anything; say only how long.
		return fmt.Sprintf("(not an http URL, %d bytes)", len(v))
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// DescribeMedia renders a request's media values for logs, each by its
// path and as Describe does: "image_url=data:image/png (1048576 bytes)
// tail_image_url=https://example.com/b.png".
func DescribeMedia(r job.Request) string {
	var parts []string
	for _, m := range r.Media() {
		parts = append(parts, m.Path+"="+Describe(m.Value))
	}
	return strings.Join(parts, " ")
}

// base64Size is how many bytes the base64 text s decodes to, counted
// without decoding it.
func base64Size(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '=' && c != '\r' && c != '\n' {
			n++
		}
	}
	return n * 6 / 8
}

// isLogSafe reports whether a data URI's media type may be logged as is.
func isLogSafe(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isKeyByte(c) && c != '/' && c != '+' {
			return false
		}
	}
	return true
}
