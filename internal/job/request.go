package job

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits of a request, from the upstream's schema and vidgen's own bounds.
const (
	MaxPromptRunes = 1000
	MaxURLLength   = 2048
	MaxSeed        = 4294967295
	// MaxImageBytes bounds a data-URI image once decoded.
	MaxImageBytes = 4 << 20
)

// Defaults the upstream applies when a field is absent; vidgen makes them
// explicit so the record says what was generated.
const (
	DefaultAspectRatio = "16:9"
	DefaultDuration    = 5
)

// Request is a validated generation request in the upstream's own schema.
type Request struct {
	Model        string `json:"model"`
	Prompt       string `json:"prompt,omitempty"`
	ImageURL     string `json:"image_url"`
	TailImageURL string `json:"tail_image_url,omitempty"`
	AspectRatio  string `json:"aspect_ratio"`
	Duration     int    `json:"duration"`
	Seed         *int64 `json:"seed,omitempty"`
}

// FieldError names one bad field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every problem found in a request at once.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// knownField reports whether name is a field of the upstream's schema.
func knownField(name string) bool {
	switch name {
	case "model", "prompt", "image_url", "tail_image_url", "aspect_ratio", "duration", "seed":
		return true
	}
	return false
}

// ParseOptions adjusts parsing for a route.
type ParseOptions struct {
	// AllowRatio accepts "ratio" as an alias of "aspect_ratio", as the
	// legacy runway route does.
	AllowRatio bool
	// CheckCallback validates callback_url, vidgen's extension field for a
	// webhook when the job ends; nil refuses the field as unknown.
	CheckCallback func(string) error
	// Direct accepts the fields a direct start of the state machine may
	// carry (tenant, idempotency_key, batch); HTTP callers have the first
	// two from their API key and the Idempotency-Key header.
	Direct bool
}

// ParseRequest decodes and validates a request body in the upstream's own
// schema. It rejects unknown and duplicate fields and reports every problem
// in one *ValidationError. ParseSubmission also takes vidgen's own fields.
func ParseRequest(body []byte, opts ParseOptions) (Request, error) {
	opts.CheckCallback, opts.Direct = nil, false
	s, err := ParseSubmission(body, opts)
	return s.Request, err
}

// ParseSubmission decodes and validates a body holding a request and the
// extension fields opts allows, reporting every problem at once.
func ParseSubmission(body []byte, opts ParseOptions) (Submission, error) {
	fields, err := decodeObject(body)
	if err != nil {
		return Submission{}, &ValidationError{Fields: []FieldError{{Field: "body", Message: err.Error()}}}
	}
	var ve ValidationError
	sub := parseExtensions(&ve, fields, opts)
	sub.Request = parseRequest(&ve, fields, opts)
	if len(ve.Fields) > 0 {
		sort.SliceStable(ve.Fields, func(i, j int) bool { return ve.Fields[i].Field < ve.Fields[j].Field })
		return Submission{}, &ve
	}
	return sub, nil
}

// parseRequest validates the upstream's fields; extension fields are gone
// from fields by now, so any other name is unknown.
func parseRequest(ve *ValidationError, fields map[string]json.RawMessage, opts ParseOptions) Request {
	req := Request{AspectRatio: DefaultAspectRatio, Duration: DefaultDuration}
	// ratioName is what the client called the aspect ratio, so errors name
	// the field it sent.
	ratioName := "aspect_ratio"
	if raw, ok := fields["ratio"]; ok && opts.AllowRatio {
		delete(fields, "ratio")
		if prev, dup := fields["aspect_ratio"]; dup && !isNull(raw) && !isNull(prev) {
			ve.add("ratio", "give either ratio or aspect_ratio, not both")
		} else if !isNull(raw) {
			fields["aspect_ratio"], ratioName = raw, "ratio"
		}
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := fields[name]
		if !knownField(name) {
			ve.add(name, "unknown field")
			continue
		}
		if isNull(raw) && name != "model" && name != "image_url" {
			continue // an explicit null means "use the default"
		}
		switch name {
		case "model":
			s, ok := stringField(ve, name, raw)
			if ok && s != Model {
				ve.add(name, "must be %q", Model)
			}
			req.Model = s
		case "prompt":
			if s, ok := stringField(ve, name, raw); ok {
				if n := utf8.RuneCountInString(s); n > MaxPromptRunes {
					ve.add(name, "must be at most %d characters, got %d", MaxPromptRunes, n)
				}
				req.Prompt = s
			}
		case "image_url", "tail_image_url":
			if s, ok := stringField(ve, name, raw); ok {
				if msg := checkImageURL(s); msg != "" {
					ve.add(name, "%s", msg)
				}
				if name == "image_url" {
					req.ImageURL = s
				} else {
					req.TailImageURL = s
				}
			}
		case "aspect_ratio":
			if s, ok := stringField(ve, ratioName, raw); ok {
				if s != "16:9" && s != "9:16" {
					ve.add(ratioName, `must be "16:9" or "9:16"`)
				}
				req.AspectRatio = s
			}
		case "duration":
			if n, ok := intField(ve, name, raw, 0, math.MaxInt32); ok {
				if n != 5 && n != 10 {
					ve.add(name, "must be 5 or 10")
				}
				req.Duration = int(n)
			}
		case "seed":
			if n, ok := intField(ve, name, raw, 0, MaxSeed); ok {
				req.Seed = &n
			}
		}
	}
	if _, ok := fields["model"]; !ok {
		ve.add("model", "is required")
	}
	if _, ok := fields["image_url"]; !ok {
		ve.add("image_url", "is required")
	}
	return req
}

// decodeObject splits a JSON object into its members, refusing anything that
// is not exactly one object with unique keys.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("must be valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("must be a JSON object: %s", jsonProblem(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("must be a JSON object")
	}
	fields := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %s", jsonProblem(err))
		}
		key, _ := tok.(string)
		if key == "" {
			// A field error must name its field; this one has no name.
			return nil, errors.New("a member of the object has an empty name")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("malformed JSON: %s", jsonProblem(err))
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("field %q appears more than once", key)
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("malformed JSON: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("must hold exactly one JSON object")
	}
	return fields, nil
}

func jsonProblem(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func stringField(ve *ValidationError, name string, raw json.RawMessage) (string, bool) {
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		ve.add(name, "must be a string")
		return "", false
	}
	return s, true
}

func intField(ve *ValidationError, name string, raw json.RawMessage, lo, hi int64) (int64, bool) {
	var num json.Number
	if json.Unmarshal(raw, &num) != nil || raw[0] == '"' {
		ve.add(name, "must be an integer")
		return 0, false
	}
	n, err := num.Int64()
	if err != nil {
		// Accept integral floats such as 5.0; refuse 5.5 and huge numbers.
		f, ferr := num.Float64()
		if ferr != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
			if ferr == nil && f == math.Trunc(f) {
				ve.add(name, "must be between %d and %d", lo, hi)
			} else {
				ve.add(name, "must be an integer")
			}
			return 0, false
		}
		n = int64(f)
	}
	if n < lo || n > hi {
		ve.add(name, "must be between %d and %d", lo, hi)
		return 0, false
	}
	return n, true
}

// ImageType reports whether a data URI's media type is one the upstream
// takes. Media types are case-insensitive.
func ImageType(mediaType string) bool {
	switch strings.ToLower(mediaType) {
	case "image/png", "image/jpeg", "image/webp":
		return true
	}
	return false
}

// checkImageURL returns what is wrong with an image reference, or "".
func checkImageURL(s string) string {
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mediaType, enc, _ := strings.Cut(meta, ";")
		if !ok || enc != "base64" {
			return "a data URI must be data:image/{png,jpeg,webp};base64,…"
		}
		if !ImageType(mediaType) {
			return fmt.Sprintf("data URI type %q is not png, jpeg or webp", mediaType)
		}
		if base64.StdEncoding.DecodedLen(len(data)) > MaxImageBytes+3 {
			return fmt.Sprintf("image is larger than %d bytes", MaxImageBytes)
		}
		decoded, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return "data URI has invalid base64"
		}
		if len(decoded) == 0 {
			return "data URI has no image data"
		}
		if len(decoded) > MaxImageBytes {
			return fmt.Sprintf("image is larger than %d bytes", MaxImageBytes)
		}
		return ""
	}
	if len(s) > MaxURLLength {
		return fmt.Sprintf("URL must be at most %d characters", MaxURLLength)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return "must be an https URL or a data:image URI"
	}
	if u.Scheme != "https" {
		return fmt.Sprintf("URL scheme must be https, not %q", u.Scheme)
	}
	if u.User != nil {
		return "URL must not carry credentials"
	}
	return ""
}
