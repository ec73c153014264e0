// Package catalog is vidgen's catalogue of the AI/ML API's video models:
// for each, the request schema it documents (reference.json, taken from
// the API's published specs and translated from OpenAPI 3.0), which of its
// fields carry media, the modes it serves, and vidgen's own data about it
// (models.json): its provider, a generation-time prior per clip duration
// for the adaptive poller, and the deadline of its jobs.
//
// Adding a model is adding data: its schema to reference.json and, unless
// its provider's prior and deadline fit it, an entry in models.json. The
// catalogue is read once, on first use, not at init: a Lambda that never
// validates a request does not pay for parsing it.
package catalog

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// referenceGzip is reference.json, gzipped: 9.6 KB rather than 194 KB in
// every binary that validates requests, which keeps the api function
// within 10 MiB. reference.json is the data to edit;
// TestReferenceGzip fails when the two differ, and with -update rewrites
// this file from it.
//
//go:embed reference.json.gz
var referenceGzip []byte

//go:embed models.json
var modelsJSON []byte

// Mode is a kind of generation a model serves.
type Mode string

const (
	TextToVideo  Mode = "text-to-video"
	ImageToVideo Mode = "image-to-video"
	VideoToVideo Mode = "video-to-video"
)

// MediaKind is what a media field holds.
type MediaKind string

const (
	Image MediaKind = "image"
	Video MediaKind = "video"
	Audio MediaKind = "audio"
)

// Media is one field of a request that carries media: a URL or a data URI.
type Media struct {
	// Path names the field as FieldError does, with [] for every item of
	// an array: "image_url", "image_urls[]", "elements[].frontal_image_url".
	Path     string    `json:"path"`
	Kind     MediaKind `json:"kind"`
	Required bool      `json:"required"`
}

// Model is one catalogued video model.
type Model struct {
	ID       string  `json:"id"`
	Provider string  `json:"provider"`
	Modes    []Mode  `json:"modes"`
	Media    []Media `json:"media,omitempty"`
	Schema   *Schema `json:"schema"`
	// Prior is a generation's expected time by clip duration in seconds,
	// the points models.json gives (see PriorFor).
	Prior    map[int]time.Duration `json:"-"`
	Deadline time.Duration         `json:"-"`
}

// Catalog is every catalogued model, by id. A model's schema is translated
// on its first Lookup (see ParseLazy), so that a process pays only for the
// models it serves.
type Catalog struct {
	entries map[string]*entry
	ids     []string
	meta    meta
}

// entry is one model: its reference data until first used, then the model
// built from it, or why it could not be.
type entry struct {
	once  sync.Once
	raw   json.RawMessage
	model *Model
	err   error
}

// builtin is the catalogue built into vidgen, read once on first use, each
// model on its own first use. It is set by Builtin, not by an initialiser:
// a package-level function value would keep the parser and the reference's
// schemas linked into every binary that imports the package, the poll
// function's included, which needs only TimingOf.
var builtin struct {
	once sync.Once
	c    *Catalog
	err  error
}

// Builtin is the catalogue built into vidgen. Its data is checked whole by
// the package's tests (Parse), so no model of it fails to build.
func Builtin() (*Catalog, error) {
	builtin.once.Do(func() {
		ref, err := gunzip(referenceGzip)
		if err != nil {
			builtin.err = fmt.Errorf("catalog reference: %w", err)
			return
		}
		builtin.c, builtin.err = ParseLazy(ref, modelsJSON)
	})
	return builtin.c, builtin.err
}

// gunzip is the gzipped data b holds.
func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Lookup is the model id, or false: also for a model whose data is
// inconsistent, which only a lazily parsed catalogue can hold (Model
// says why).
func (c *Catalog) Lookup(id string) (*Model, bool) {
	m, err := c.Model(id)
	return m, err == nil
}

// Model is the model id, building it on first use; an error wrapping
// UnknownModelError for an id the catalogue does not have.
func (c *Catalog) Model(id string) (*Model, error) {
	e, ok := c.entries[id]
	if !ok {
		return nil, &UnknownModelError{Model: id, Supported: c.IDs()}
	}
	e.once.Do(func() {
		var ref struct {
			Schema *openAPISchema `json:"schema"`
		}
		if err := json.Unmarshal(e.raw, &ref); err != nil {
			e.err = fmt.Errorf("model %s: %w", id, err)
			return
		}
		e.model, e.err = build(id, ref.Schema, c.meta)
		if e.err != nil {
			e.err = fmt.Errorf("model %s: %w", id, e.err)
		}
		e.raw = nil
	})
	return e.model, e.err
}

// IDs are the catalogued model ids, sorted.
func (c *Catalog) IDs() []string { return slices.Clone(c.ids) }

// reference is reference.json's shape, each model's data kept raw until
// the model is built.
type reference struct {
	Models map[string]json.RawMessage `json:"models"`
}

// meta is models.json's shape.
type meta struct {
	Providers []struct {
		Name     string         `json:"name"`
		Prefixes []string       `json:"prefixes"`
		IDs      []string       `json:"ids"`
		Prior    map[string]int `json:"prior"`
		Deadline int            `json:"deadline"`
	} `json:"providers"`
	Models map[string]struct {
		Prior    map[string]int `json:"prior"`
		Deadline int            `json:"deadline"`
	} `json:"models"`
}

// Parse builds a catalogue from a reference of request schemas and vidgen's
// data about the models, every model at once. Every model of the reference
// must have exactly one provider, a prior and a deadline, and every model
// models.json names must be in the reference: a catalogue that disagrees
// with itself is an error, not a model that validates by accident.
func Parse(referenceData, metaData []byte) (*Catalog, error) {
	c, err := ParseLazy(referenceData, metaData)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, id := range c.ids {
		if _, err := c.Model(id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseLazy is Parse checking only what concerns the catalogue as a whole;
// each model is built, and its own data checked, on first use. Reading
// every schema up front costs several milliseconds (BenchmarkParse), paid
// by the first request of every process; one model costs a fraction.
func ParseLazy(referenceData, metaData []byte) (*Catalog, error) {
	var ref reference
	if err := json.Unmarshal(referenceData, &ref); err != nil {
		return nil, fmt.Errorf("catalog reference: %w", err)
	}
	c := &Catalog{entries: make(map[string]*entry, len(ref.Models))}
	if err := json.Unmarshal(metaData, &c.meta); err != nil {
		return nil, fmt.Errorf("catalog models: %w", err)
	}
	for id := range c.meta.Models {
		if _, ok := ref.Models[id]; !ok {
			return nil, fmt.Errorf("catalog models: %q has no schema in the reference", id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(ref.Models)) {
		c.entries[id] = &entry{raw: ref.Models[id]}
		c.ids = append(c.ids, id)
	}
	return c, nil
}

func build(id string, raw *openAPISchema, md meta) (*Model, error) {
	if raw == nil {
		return nil, errors.New("no schema")
	}
	schema, err := translate(raw, "")
	if err != nil {
		return nil, err
	}
	if m := schema.Properties["model"]; m == nil || !slices.Contains(m.Enum, any(id)) {
		return nil, errors.New(`its schema's "model" does not name it`)
	}
	m := &Model{ID: id, Schema: schema}
	t, err := md.timing(id)
	if err != nil {
		return nil, err
	}
	m.Provider, m.Prior, m.Deadline = t.Provider, t.Prior, t.Deadline
	if longest := m.PriorFor(m.maxDuration()); longest >= m.Deadline {
		return nil, fmt.Errorf("deadline %s is not past the longest clip's prior %s", m.Deadline, longest)
	}
	m.Media = mediaFields(schema, "", true)
	m.Modes = modes(schema, m.Media)
	return m, nil
}

// mediaFields are the fields of s that carry media: those of format uri,
// strings named *_url (a documented audio_url has no format), and free
// strings named mask, *_image, … (see mediaNamed).
func mediaFields(s *Schema, path string, required bool) []Media {
	var out []Media
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		p := s.Properties[name]
		req := required && slices.Contains(s.Required, name)
		out = append(out, mediaIn(p, join(path, name), name, req)...)
	}
	return out
}

func mediaIn(s *Schema, path, name string, required bool) []Media {
	var out []Media
	for _, alt := range append(slices.Clone(s.AnyOf), s.OneOf...) {
		// An alternative's media is the field's own: "image_url" as a URL
		// or as an array of them is one field.
		for _, m := range mediaIn(alt, path, name, required) {
			if !slices.ContainsFunc(out, func(o Media) bool { return o.Path == m.Path }) {
				out = append(out, m)
			}
		}
	}
	switch {
	case s.Format == "uri" || slices.Contains(s.Types, "string") && (strings.HasSuffix(name, "_url") || mediaNamed(name) && s.Enum == nil):
		out = append(out, Media{Path: path, Kind: kindOf(path), Required: required})
	case s.Items != nil:
		out = append(out, mediaIn(s.Items, path+"[]", name, required)...)
	case s.Properties != nil:
		out = append(out, mediaFields(s, path, required)...)
	}
	return out
}

// mediaNamed is whether a field's name says it is media though its
// schema does not: Kling's dynamic_masks[].mask is a bare string that
// takes an image URL or data URI. (Enums such as video_quality are not.)
func mediaNamed(name string) bool {
	words := strings.Split(strings.ToLower(name), "_")
	return slices.Contains([]string{"mask", "image", "video", "audio"}, words[len(words)-1])
}

// kindOf tells a media field's kind by its name, as the specs name them:
// video_url, mask_video_url, audio_urls, alpha_url (a matte video); the
// rest are images (image_url, keyframes.frame0.url, …), except Runway's
// character and reference objects, whose type member says.
func kindOf(path string) MediaKind {
	p := strings.ToLower(path)
	switch {
	case strings.Contains(p, "audio"):
		return Audio
	case strings.Contains(p, "video"), strings.Contains(p, "alpha"):
		return Video
	}
	return Image
}

// modes are what a model serves, from its media fields: with no media
// required it makes video from text; with an image field, from images;
// with a video required, from video.
func modes(s *Schema, media []Media) []Mode {
	var out []Mode
	requiresMedia := slices.ContainsFunc(media, func(m Media) bool { return m.Required })
	if !requiresMedia {
		out = append(out, TextToVideo)
	}
	if slices.ContainsFunc(media, func(m Media) bool { return m.Kind == Image }) &&
		!slices.ContainsFunc(media, func(m Media) bool { return m.Required && m.Kind != Image }) {
		out = append(out, ImageToVideo)
	}
	if slices.ContainsFunc(media, func(m Media) bool { return m.Kind == Video }) {
		out = append(out, VideoToVideo)
	}
	if len(out) == 0 {
		// Only audio required (lip-sync, foley onto a given video): what
		// it makes is a video from media.
		out = append(out, VideoToVideo)
	}
	return out
}

// RatioAlias is whether, on the legacy route, "ratio" stands for
// "aspect_ratio" in the model's requests, as it does for gen3a_turbo: the
// model has aspect_ratio and no ratio of its own (Kling v1.6's, MiniMax's
// and Runway gen3's ratio is theirs).
func (m *Model) RatioAlias() bool {
	return m.Schema.Properties["ratio"] == nil && m.Schema.Properties["aspect_ratio"] != nil
}

// maxDuration is the longest clip the model's schema allows (its duration
// enum's or maximum's), else its prior's longest point.
func (m *Model) maxDuration() int {
	longest := slices.Max(slices.Collect(maps.Keys(m.Prior)))
	d := m.Schema.Properties["duration"]
	if d == nil {
		return longest
	}
	for _, e := range d.Enum {
		if n, ok := durationOf(normalize(e)); ok && n > longest {
			longest = n
		}
	}
	if d.Maximum != nil && int(*d.Maximum) > longest {
		longest = int(*d.Maximum)
	}
	return longest
}

// PriorFor is the expected generation time of a clip of d seconds: the
// prior's point for d, else interpolated between the points around it,
// else scaled from the nearest point in proportion to the clip's length.
func (m *Model) PriorFor(d int) time.Duration { return priorFor(m.Prior, d) }

func priorFor(prior map[int]time.Duration, d int) time.Duration {
	if p, ok := prior[d]; ok {
		return p
	}
	points := slices.Sorted(maps.Keys(prior))
	i, _ := slices.BinarySearch(points, d)
	switch {
	case i == 0:
		return prior[points[0]] * time.Duration(max(d, 1)) / time.Duration(points[0])
	case i == len(points):
		last := points[len(points)-1]
		return prior[last] * time.Duration(d) / time.Duration(last)
	}
	lo, hi := points[i-1], points[i]
	return prior[lo] + (prior[hi]-prior[lo])*time.Duration(d-lo)/time.Duration(hi-lo)
}

// Duration is the clip length a validated request body asks for: its
// duration, else the schema's default, else the shortest it allows, else 5.
func (m *Model) Duration(body map[string]any) int {
	if n, ok := durationOf(body["duration"]); ok {
		return n
	}
	d := m.Schema.Properties["duration"]
	if d == nil {
		return 5
	}
	if n, ok := durationOf(normalize(d.Default)); ok {
		return n
	}
	shortest := 0
	for _, e := range d.Enum {
		if n, ok := durationOf(normalize(e)); ok && (shortest == 0 || n < shortest) {
			shortest = n
		}
	}
	if shortest == 0 && d.Minimum != nil {
		shortest = int(*d.Minimum)
	}
	if shortest > 0 {
		return shortest
	}
	return 5
}

// durationOf reads a duration given as a number or a numeric string (some
// models' schemas take "5").
func durationOf(v any) (int, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return int(f), err == nil && f > 0
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil && n > 0
	}
	return 0, false
}

// UnknownModelError is a request for a model the catalogue does not have.
type UnknownModelError struct {
	Model     string
	Supported []string
}

func (e *UnknownModelError) Error() string {
	return fmt.Sprintf("unknown model %q; supported models: %s", e.Model, strings.Join(e.Supported, ", "))
}

// DuplicateMessage is the problem of a member given more than once in its
// object, reported under the member's own path ("prompt",
// "character.url").
const DuplicateMessage = "appears more than once"

// Validate checks a request body: one JSON object, with no member twice at
// any depth, whose model is catalogued and which its schema accepts. It
// returns the model and the decoded body (numbers as json.Number), or every
// problem at once: []FieldError, or for an unknown model an error naming
// the supported models as the "model" field's. A member given twice is
// one problem, and the body is checked as the upstream would read it, with
// the last of its values, so that the rest is told too.
func (c *Catalog) Validate(body []byte) (*Model, map[string]any, []FieldError) {
	v, dups, err := decodeStrict(body)
	if err != nil {
		return nil, nil, []FieldError{{Field: "body", Message: err.Error()}}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, nil, []FieldError{{Field: "body", Message: "must be a JSON object"}}
	}
	var problems []FieldError
	for _, path := range dups {
		problems = append(problems, FieldError{Field: path, Message: DuplicateMessage})
	}
	id, ok := obj["model"].(string)
	switch {
	case obj["model"] == nil:
		return nil, nil, append(problems, FieldError{Field: "model", Message: "is required"})
	case !ok:
		return nil, nil, append(problems, FieldError{Field: "model", Message: "must be a string"})
	}
	m, err := c.Model(id)
	if err != nil {
		return nil, nil, append(problems, FieldError{Field: "model", Message: err.Error()})
	}
	if p := m.Schema.check(obj, ""); len(p) > 0 {
		return m, nil, append(problems, p...)
	}
	problems = append(problems, proseRules(m, obj)...)
	if len(problems) > 0 {
		return m, nil, problems
	}
	return m, obj, nil
}

// decodeStrict decodes one JSON value, numbers as json.Number, refusing
// anything after the value. A member named twice in an object, which
// json.Unmarshal would settle by keeping the last, so that what vidgen
// checked and what the upstream reads could differ, keeps its last value
// too, and its path is among dups, once, in the order found.
func decodeStrict(body []byte) (v any, dups []string, err error) {
	if !utf8.Valid(body) {
		return nil, nil, errors.New("must be valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err = decodeValue(dec, "", &dups)
	if err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("must hold exactly one JSON value")
	}
	return v, dups, nil
}

func decodeValue(dec *json.Decoder, path string, dups *[]string) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("malformed JSON: %w", err)
			}
			name, _ := k.(string)
			if _, dup := obj[name]; dup && !slices.Contains(*dups, join(path, name)) {
				*dups = append(*dups, join(path, name))
			}
			if obj[name], err = decodeValue(dec, join(path, name), dups); err != nil {
				return nil, err
			}
		}
		_, err := dec.Token()
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec, fmt.Sprintf("%s[%d]", path, len(arr)), dups)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return tok, nil
}

// EachMedia calls fn for every string at one of m's media fields in body
// (a validated request body, as Validate returns it), with the value's own
// path ("image_urls[1]", "elements[0].frontal_image_url") and kind, and
// puts back what fn returns: body is changed in place. It stops at fn's
// first error.
func (m *Model) EachMedia(body map[string]any, fn func(path string, kind MediaKind, v string) (string, error)) error {
	for _, md := range m.Media {
		if err := eachAt(body, strings.Split(md.Path, "."), "", func(path, v string) (string, error) {
			return fn(path, md.Kind, v)
		}); err != nil {
			return err
		}
	}
	return nil
}

// eachAt walks obj along segments ("elements[]", "frontal_image_url"),
// calling fn on each string found at the end.
func eachAt(obj map[string]any, segments []string, path string, fn func(path, v string) (string, error)) error {
	name, arrays := segments[0], 0
	for strings.HasSuffix(name, "[]") {
		name, arrays = strings.TrimSuffix(name, "[]"), arrays+1
	}
	v, ok := obj[name]
	if !ok {
		return nil
	}
	return eachIn(v, arrays, segments[1:], join(path, name), fn, func(nv any) { obj[name] = nv })
}

// eachIn walks v, which holds arrays more levels of arrays before either a
// string (no segments left) or an object to walk the segments in; set puts
// back a replaced string.
func eachIn(v any, arrays int, segments []string, path string, fn func(path, v string) (string, error), set func(any)) error {
	if arrays > 0 {
		items, ok := v.([]any)
		if !ok {
			return nil
		}
		for i := range items {
			if err := eachIn(items[i], arrays-1, segments, fmt.Sprintf("%s[%d]", path, i), fn, func(nv any) { items[i] = nv }); err != nil {
				return err
			}
		}
		return nil
	}
	if len(segments) == 0 {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		out, err := fn(path, s)
		if err != nil {
			return err
		}
		if out != s {
			set(out)
		}
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return eachAt(obj, segments, path, fn)
}
