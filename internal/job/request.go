package job

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vidgen/vidgen/internal/catalog"
)

// Limits of a request, from the upstream's schema and vidgen's own bounds.
const (
	MaxPromptRunes = 1000
	MaxURLLength   = 2048
	MaxSeed        = 4294967295
	// MaxStringRunes bounds a non-media string of a model's request where
	// its schema gives no lower maxLength, and MaxNumberDigits the
	// significant digits of a number: DynamoDB's own limit.
	MaxStringRunes  = 10000
	MaxNumberDigits = 38
	// MaxBodyBytes bounds a model's request once its data URIs are
	// offloaded, well within DynamoDB's 400 KB item beside the job.
	MaxBodyBytes = 64 << 10
	// MaxImageBytes bounds a data-URI image once decoded.
	MaxImageBytes = 4 << 20
)

// Defaults the upstream applies when a field is absent; vidgen makes them
// explicit so the record says what was generated.
const (
	DefaultAspectRatio = "16:9"
	DefaultDuration    = 5
)

// Request is a validated generation request: the body the upstream
// receives for its model, whose JSON is that body, flat.
//
// A gen3a_turbo request, the model vidgen served first, is held in the
// typed fields, with the upstream's defaults made explicit (aspect_ratio
// and duration) so that the record says what was generated, as records
// have since the start. A request for any other catalogued model is held
// as its body (Body), exactly as validated: vidgen fills in no default,
// since a default written into the body would be vidgen's guess of the
// upstream's, sent upstream as the caller's choice (and some models'
// schemas give none); the catalogue tells what a missing field means
// (catalog.Model.Duration), and the upstream decides the rest.
type Request struct {
	Model        string `json:"model"`
	Prompt       string `json:"prompt,omitempty"`
	ImageURL     string `json:"image_url"`
	TailImageURL string `json:"tail_image_url,omitempty"`
	AspectRatio  string `json:"aspect_ratio"`
	// Duration is the clip's length in seconds: the one asked for, else
	// the model's default (catalog.Model.Duration). In Body it is the
	// body's own duration, if any, as the body gives it.
	Duration int    `json:"duration"`
	Seed     *int64 `json:"seed,omitempty"`
	// Body is the validated body of a request for a model other than
	// gen3a_turbo, numbers as json.Number; nil for gen3a_turbo.
	Body map[string]any `json:"-"`
}

// typed is Request without its JSON methods: gen3a_turbo's record shape.
type typed Request

// MarshalJSON encodes the request as the upstream's flat body.
func (r Request) MarshalJSON() ([]byte, error) {
	if r.Body != nil {
		return json.Marshal(r.Body)
	}
	return json.Marshal(typed(r))
}

// UnmarshalJSON decodes a request as MarshalJSON encodes it. A body of no
// model or gen3a_turbo is read into the typed fields, as records always
// were; any other into Body, with Model and Duration taken from it.
func (r *Request) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	id, _ := body["model"].(string)
	if id == "" || id == Model || body == nil {
		var t typed
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		*r = Request(t)
		return nil
	}
	*r = Request{Model: id, Body: body, Duration: bodyDuration(id, body)}
	return nil
}

// bodyDuration is the clip length a body asks for, by its model's
// catalogue entry; for a model no longer catalogued, its duration field,
// else 0.
func bodyDuration(id string, body map[string]any) int {
	if c, err := catalog.Builtin(); err == nil {
		if m, err := c.Model(id); err == nil {
			return m.Duration(body)
		}
	}
	switch v := body["duration"].(type) {
	case json.Number:
		if f, err := v.Float64(); err == nil {
			return int(f)
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return 0
}

// ModelID is the model r is for: its Model, or gen3a_turbo for a request
// that names none, as UnmarshalJSON reads one.
func (r Request) ModelID() string { return cmp.Or(r.Model, Model) }

// Clone is a deep copy of r, whose Body a caller may change.
func (r Request) Clone() Request {
	if r.Body != nil {
		r.Body = cloneValue(r.Body).(map[string]any)
	}
	if r.Seed != nil {
		s := *r.Seed
		r.Seed = &s
	}
	return r
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = cloneValue(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cloneValue(x)
		}
		return out
	}
	return v
}

// Media is one media value of a request: an image, video or audio given
// by URL, data URI, or (once offloaded) blob reference.
type Media struct {
	// Path is where the value is in the body: "image_url",
	// "image_urls[1]", "elements[0].frontal_image_url".
	Path  string
	Kind  catalog.MediaKind
	Value string
}

// Media lists r's media values, in its model's media fields (catalog.Model.Media).
func (r Request) Media() []Media {
	var out []Media
	_, _ = r.MapMedia(func(m Media) (string, error) {
		out = append(out, m)
		return m.Value, nil
	})
	return out
}

// MapMedia returns r with each of its media values replaced by what fn
// returns for it, stopping at fn's first error; r itself is not changed.
// A request of a model the catalogue no longer has is an error: which of
// its fields are media is unknown. (Media lists none for it.)
func (r Request) MapMedia(fn func(Media) (string, error)) (Request, error) {
	r = r.Clone()
	if r.Body == nil {
		for _, f := range []struct {
			path string
			v    *string
		}{{"image_url", &r.ImageURL}, {"tail_image_url", &r.TailImageURL}} {
			if *f.v == "" {
				continue
			}
			v, err := fn(Media{Path: f.path, Kind: catalog.Image, Value: *f.v})
			if err != nil {
				return Request{}, err
			}
			*f.v = v
		}
		return r, nil
	}
	c, err := catalog.Builtin()
	if err != nil {
		return Request{}, fmt.Errorf("media of %s: %w", r.Model, err)
	}
	m, err := c.Model(r.Model)
	if err != nil {
		// Which fields are media is the catalogue's to say: passing the
		// body on unmapped could send a blob: reference upstream.
		return Request{}, fmt.Errorf("media of %s: %w", r.Model, err)
	}
	err = m.EachMedia(r.Body, func(path string, kind catalog.MediaKind, v string) (string, error) {
		return fn(Media{Path: path, Kind: kind, Value: v})
	})
	if err != nil {
		return Request{}, err
	}
	return r, nil
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
	fields, dups, err := decodeObject(body)
	if err != nil {
		return Submission{}, &ValidationError{Fields: []FieldError{{Field: "body", Message: err.Error()}}}
	}
	var ve ValidationError
	sub := parseExtensions(&ve, fields, opts)
	sub.Request = parseRequest(&ve, fields, opts)
	// A member given twice was checked above with its last value, the one
	// the upstream would read, so that its problems and the rest of the
	// body's are told with the duplicate's (first, under its own name).
	// It is added only now: the checks above take a field already named
	// for its value, which a duplicate is not, as checked.
	if len(dups) > 0 {
		named := make([]FieldError, len(dups), len(dups)+len(ve.Fields))
		for i, name := range dups {
			named[i] = FieldError{Field: name, Message: catalog.DuplicateMessage}
		}
		ve.Fields = append(named, ve.Fields...)
	}
	if len(ve.Fields) > 0 {
		sort.SliceStable(ve.Fields, func(i, j int) bool { return ve.Fields[i].Field < ve.Fields[j].Field })
		return Submission{}, &ve
	}
	return sub, nil
}

// parseRequest validates the upstream's fields through the model's
// catalogue entry; extension fields are gone from fields by now, so any
// other name is unknown. A request naming no model (or not by a string)
// is judged as gen3a_turbo's, as before there were others.
func parseRequest(ve *ValidationError, fields map[string]json.RawMessage, opts ParseOptions) Request {
	var id string
	if raw, ok := fields["model"]; ok && !isNull(raw) && json.Unmarshal(raw, &id) == nil && id != Model {
		return parseModel(ve, id, fields, opts)
	}
	req := parseTyped(ve, fields, opts)
	if len(ve.Fields) == 0 {
		crossCheck(ve, fields)
	}
	return req
}

// parseModel validates the request of a catalogued model other than
// gen3a_turbo against its schema and rules (catalog.Catalog.Validate), and
// each of its media values as gen3a_turbo's images are (checkMedia); the
// request is the body as given.
func parseModel(ve *ValidationError, id string, fields map[string]json.RawMessage, opts ParseOptions) Request {
	c, err := catalog.Builtin()
	if err != nil {
		ve.add("model", "cannot be checked: the model catalogue is unavailable: %v", err)
		return Request{}
	}
	// On the legacy route ratio stands for aspect_ratio, as it does for
	// gen3a_turbo, in a model that has the one and not the other.
	renamed := false
	if m, ok := c.Lookup(id); ok && opts.AllowRatio && m.Schema.Properties["ratio"] == nil && m.Schema.Properties["aspect_ratio"] != nil {
		if raw, ok := fields["ratio"]; ok {
			if _, both := fields["aspect_ratio"]; both {
				ve.add("ratio", "give either ratio or aspect_ratio, not both")
				delete(fields, "ratio")
			} else {
				fields["aspect_ratio"], renamed = raw, true
				delete(fields, "ratio")
			}
		}
	}
	body, err := json.Marshal(fields)
	if err != nil {
		ve.add("body", "malformed JSON: %v", err) // decodeObject checked it; cannot happen
		return Request{}
	}
	m, obj, problems := c.Validate(body)
	for _, p := range problems {
		if renamed && p.Field == "aspect_ratio" {
			p.Field = "ratio" // named as the client sent it
		}
		ve.add(p.Field, "%s", p.Message)
	}
	if m == nil {
		return Request{}
	}
	if obj == nil {
		// The schema refused something: the media are still checked, so
		// that every problem is told at once.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&obj) != nil {
			return Request{}
		}
	}
	flagged := make(map[string]bool, len(ve.Fields))
	for _, f := range ve.Fields {
		// A member given twice says nothing of its (last) value, which
		// is still checked.
		if f.Message != catalog.DuplicateMessage {
			flagged[f.Field] = true
		}
	}
	media := map[string]bool{}
	_ = m.EachMedia(obj, func(path string, kind catalog.MediaKind, v string) (string, error) {
		media[path] = true
		if msg := checkMedia(kind, v); msg != "" && !flagged[path] {
			ve.add(path, "%s", msg)
		}
		return v, nil
	})
	checkBounds(ve, "", obj, media, flagged)
	// The size of the whole is told beside any other problem: what makes
	// a body too large may be fine field by field.
	checkSize(ve, m, obj)
	return Request{Model: id, Body: obj, Duration: m.Duration(obj)}
}

// checkBounds adds vidgen's own bounds on a model's request, which its
// schema may lack, since the request is stored as a DynamoDB item: each
// string not a media value (media have theirs) at most MaxStringRunes
// characters, each number one DynamoDB can hold. Fields already flagged
// are not told twice.
func checkBounds(ve *ValidationError, path string, v any, media, flagged map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			checkBounds(ve, p, v[k], media, flagged)
		}
	case []any:
		for i, x := range v {
			checkBounds(ve, fmt.Sprintf("%s[%d]", path, i), x, media, flagged)
		}
	case string:
		if n := utf8.RuneCountInString(v); n > MaxStringRunes && !media[path] && !flagged[path] {
			ve.add(path, "must be at most %d characters, got %d", MaxStringRunes, n)
		}
	case json.Number:
		if msg := numberProblem(string(v)); msg != "" && !flagged[path] {
			ve.add(path, "%s", msg)
		}
	}
}

// numberProblem says why DynamoDB cannot hold the JSON number s, or "":
// it holds at most 38 significant digits, and magnitudes from 1E-130 to
// below 1E+126 (and 0).
func numberProblem(s string) string {
	s = strings.TrimPrefix(s, "-")
	mant, expPart, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(expPart)
		if err != nil || e > 1000 || e < -1000 {
			return "must be 0 or of a magnitude between 1E-130 and 9.9999999999999999999999999999999999999E+125"
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return "" // zero
	}
	if sig := strings.TrimRight(digits, "0"); len(sig) > MaxNumberDigits {
		return fmt.Sprintf("must have at most %d significant digits, got %d", MaxNumberDigits, len(sig))
	}
	// The power of ten of the leading digit.
	if lead := exp - len(frac) + len(digits) - 1; lead > 125 || lead < -130 {
		return "must be 0 or of a magnitude between 1E-130 and 9.9999999999999999999999999999999999999E+125"
	}
	return ""
}

// checkSize refuses a model's request that, its data URIs offloaded (each
// then a short blob: reference), would still encode to more than
// MaxBodyBytes.
func checkSize(ve *ValidationError, m *catalog.Model, obj map[string]any) {
	stored := cloneValue(obj).(map[string]any)
	_ = m.EachMedia(stored, func(path string, _ catalog.MediaKind, v string) (string, error) {
		if strings.HasPrefix(v, "data:") {
			return "blob:media/00000000-0000-0000-0000-000000000000/" + path, nil
		}
		return v, nil
	})
	b, err := json.Marshal(stored)
	if err == nil && len(b) > MaxBodyBytes {
		ve.add("body", "must be at most %d bytes once its data URIs are stored apart, got %d", MaxBodyBytes, len(b))
	}
}

// crossCheck validates a gen3a_turbo request that parseTyped accepted
// through the catalogue as well, so that the model's catalogued schema and
// vidgen's own (stricter) rules for it cannot drift apart unnoticed. The
// nulls parseTyped took for defaults are left out.
func crossCheck(ve *ValidationError, fields map[string]json.RawMessage) {
	given := make(map[string]json.RawMessage, len(fields))
	for name, raw := range fields {
		switch {
		case isNull(raw):
		case bytes.HasPrefix(raw, []byte(`"data:`)):
			// A data URI parseTyped checked, which the schema takes as
			// any data: URI: not worth copying megabytes for.
			given[name] = json.RawMessage(`"data:,"`)
		default:
			given[name] = raw
		}
	}
	body, err := json.Marshal(given)
	if err != nil {
		return
	}
	c, err := catalog.Builtin()
	if err != nil {
		ve.add("model", "cannot be checked: the model catalogue is unavailable: %v", err)
		return
	}
	_, _, problems := c.Validate(body)
	for _, p := range problems {
		ve.add(p.Field, "%s", p.Message)
	}
}

// parseTyped validates a gen3a_turbo request into Request's typed fields,
// with the defaults made explicit.
func parseTyped(ve *ValidationError, fields map[string]json.RawMessage, opts ParseOptions) Request {
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
			// A string naming another model is parseModel's.
			s, _ := stringField(ve, name, raw)
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
				if msg := checkMedia(catalog.Image, s); msg != "" {
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
// is not exactly one object with named members. A member named more than
// once keeps its last value, as the upstream would read it, and its name
// is in dups, once, in the order found: a problem to report beside the
// others (members of members are the catalogue's to check).
func decodeObject(body []byte) (fields map[string]json.RawMessage, dups []string, err error) {
	if !utf8.Valid(body) {
		return nil, nil, errors.New("must be valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("must be a JSON object: %s", jsonProblem(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("must be a JSON object")
	}
	fields = make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("malformed JSON: %s", jsonProblem(err))
		}
		key, _ := tok.(string)
		if key == "" {
			// A field error must name its field; this one has no name.
			return nil, nil, errors.New("a member of the object has an empty name")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("malformed JSON: %s", jsonProblem(err))
		}
		if _, dup := fields[key]; dup && !slices.Contains(dups, key) {
			dups = append(dups, key)
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("malformed JSON: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("must hold exactly one JSON object")
	}
	return fields, dups, nil
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
// takes for an image. Media types are case-insensitive.
func ImageType(mediaType string) bool { return MediaType(catalog.Image, mediaType) }

// MediaType reports whether a data URI's media type is one vidgen takes
// for a media field of the kind: the image types the upstream documents
// for gen3a_turbo, and the common containers of video and audio (the
// specs name none; the upstream fetches or decodes what it is given).
// Media types are case-insensitive.
func MediaType(kind catalog.MediaKind, mediaType string) bool {
	return slices.Contains(mediaTypes(kind), strings.ToLower(mediaType))
}

// AnyMediaType reports whether a media type is one vidgen takes for some
// media field.
func AnyMediaType(mediaType string) bool {
	return MediaType(catalog.Image, mediaType) || MediaType(catalog.Video, mediaType) || MediaType(catalog.Audio, mediaType)
}

// mediaTypes are the data URI types vidgen takes for a kind of media.
func mediaTypes(kind catalog.MediaKind) []string {
	switch kind {
	case catalog.Image:
		return []string{"image/png", "image/jpeg", "image/webp"}
	case catalog.Video:
		return []string{"video/mp4", "video/webm", "video/quicktime"}
	case catalog.Audio:
		return []string{"audio/mpeg", "audio/mp3", "audio/wav", "audio/x-wav", "audio/mp4", "audio/aac", "audio/ogg", "audio/webm"}
	}
	return nil
}

// checkMedia returns what is wrong with a media value of the kind (a URL
// or data URI), or "". Images keep the words gen3a_turbo's always had.
func checkMedia(kind catalog.MediaKind, s string) string {
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mediaType, enc, _ := strings.Cut(meta, ";")
		if !ok || enc != "base64" {
			return fmt.Sprintf("a data URI must be data:%s;base64,…", typeList(kind))
		}
		if !MediaType(kind, mediaType) {
			return fmt.Sprintf("data URI type %q is not %s", mediaType, subtypeWords(kind))
		}
		if base64.StdEncoding.DecodedLen(len(data)) > MaxImageBytes+3 {
			return fmt.Sprintf("%s is larger than %d bytes", kind, MaxImageBytes)
		}
		decoded, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return "data URI has invalid base64"
		}
		if len(decoded) == 0 {
			return fmt.Sprintf("data URI has no %s data", kind)
		}
		if len(decoded) > MaxImageBytes {
			return fmt.Sprintf("%s is larger than %d bytes", kind, MaxImageBytes)
		}
		return ""
	}
	if len(s) > MaxURLLength {
		return fmt.Sprintf("URL must be at most %d characters", MaxURLLength)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return fmt.Sprintf("must be an https URL or a data:%s URI", kind)
	}
	if u.Scheme != "https" {
		return fmt.Sprintf("URL scheme must be https, not %q", u.Scheme)
	}
	if u.User != nil {
		return "URL must not carry credentials"
	}
	return ""
}

// typeList is "image/{png,jpeg,webp}" for the kind.
func typeList(kind catalog.MediaKind) string {
	return string(kind) + "/{" + strings.Join(subtypes(kind), ",") + "}"
}

// subtypeWords is "png, jpeg or webp" for the kind.
func subtypeWords(kind catalog.MediaKind) string {
	subs := subtypes(kind)
	last := len(subs) - 1
	return strings.Join(subs[:last], ", ") + " or " + subs[last]
}

// subtypes are the kind's accepted media subtypes: png, jpeg, webp.
func subtypes(kind catalog.MediaKind) []string {
	var subs []string
	for _, t := range mediaTypes(kind) {
		subs = append(subs, strings.TrimPrefix(t, string(kind)+"/"))
	}
	return subs
}
