package catalog

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Schema is one node of a model's request schema: the subset of JSON Schema
// the AI/ML API's video model specs use, translated from OpenAPI 3.0 (see
// translate).
type Schema struct {
	// Types are the JSON types allowed: "string", "integer", "number",
	// "boolean", "array", "object", "null". None allows any.
	Types      []string           `json:"type,omitempty"`
	Enum       []any              `json:"enum,omitempty"`
	Default    any                `json:"default,omitempty"`
	Format     string             `json:"format,omitempty"`
	Required   []string           `json:"required,omitempty"`
	Properties map[string]*Schema `json:"properties,omitempty"`
	Items      *Schema            `json:"items,omitempty"`
	Minimum    *float64           `json:"minimum,omitempty"`
	Maximum    *float64           `json:"maximum,omitempty"`
	MinLength  *int               `json:"minLength,omitempty"`
	MaxLength  *int               `json:"maxLength,omitempty"`
	MinItems   *int               `json:"minItems,omitempty"`
	MaxItems   *int               `json:"maxItems,omitempty"`
	AnyOf      []*Schema          `json:"anyOf,omitempty"`
	OneOf      []*Schema          `json:"oneOf,omitempty"`
	Deprecated bool               `json:"deprecated,omitempty"`
}

// openAPISchema is a schema node as the reference holds it: OpenAPI 3.0,
// where type is one name, null is allowed by nullable, and a default may be
// a string where the type is a number ("5" for an integer duration).
type openAPISchema struct {
	Type       string                    `json:"type"`
	Nullable   bool                      `json:"nullable"`
	Enum       []any                     `json:"enum"`
	Default    any                       `json:"default"`
	Format     string                    `json:"format"`
	Required   required                  `json:"required"`
	Properties map[string]*openAPISchema `json:"properties"`
	Items      *openAPISchema            `json:"items"`
	Minimum    *float64                  `json:"minimum"`
	Maximum    *float64                  `json:"maximum"`
	MinLength  *int                      `json:"minLength"`
	MaxLength  *int                      `json:"maxLength"`
	MinItems   *int                      `json:"minItems"`
	MaxItems   *int                      `json:"maxItems"`
	AnyOf      []*openAPISchema          `json:"anyOf"`
	OneOf      []*openAPISchema          `json:"oneOf"`
	Deprecated bool                      `json:"deprecated"`
}

// required is a schema's list of required members, or, as one spec writes
// it in Swagger 2.0's way on the member itself, true.
type required struct {
	names []string
	self  bool
}

func (r *required) UnmarshalJSON(b []byte) error {
	if string(b) == "true" || string(b) == "false" {
		r.self = string(b) == "true"
		return nil
	}
	return json.Unmarshal(b, &r.names)
}

// translate makes an OpenAPI 3.0 schema node a JSON Schema one: nullable
// becomes the type "null" allowed beside the node's own (and null in its
// enum, which JSON Schema checks too), a node that is nothing but nullable
// allows null alone, a member marked required: true is
// in its object's required list, and a string default of a numeric
// node its number. A default that does not fit its node after that is an
// error: the catalogue would describe a request the upstream refuses.
func translate(s *openAPISchema, path string) (*Schema, error) {
	if s == nil {
		return nil, nil
	}
	out := &Schema{Enum: s.Enum, Default: s.Default, Format: s.Format, Required: slices.Clone(s.Required.names),
		Minimum: s.Minimum, Maximum: s.Maximum, MinLength: s.MinLength, MaxLength: s.MaxLength,
		MinItems: s.MinItems, MaxItems: s.MaxItems, Deprecated: s.Deprecated}
	if s.Type != "" {
		out.Types = []string{s.Type}
	}
	if s.Nullable {
		if s.Type != "" {
			out.Types = append(out.Types, "null")
		}
		if len(out.Enum) > 0 && !slices.Contains(out.Enum, any(nil)) {
			out.Enum = append(slices.Clip(out.Enum), nil)
		}
	}
	if d, ok := s.Default.(string); ok && (s.Type == "integer" || s.Type == "number") {
		f, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: default %q of a %s is not a number", path, d, s.Type)
		}
		out.Default = f
	}
	var err error
	if out.Items, err = translate(s.Items, path+"[]"); err != nil {
		return nil, err
	}
	if len(s.Properties) > 0 {
		out.Properties = make(map[string]*Schema, len(s.Properties))
		for name, p := range s.Properties {
			if out.Properties[name], err = translate(p, join(path, name)); err != nil {
				return nil, err
			}
			if p.Required.self && !slices.Contains(out.Required, name) {
				out.Required = append(out.Required, name)
			}
		}
	}
	for i, alt := range s.AnyOf {
		t, err := translate(alt, fmt.Sprintf("%s(anyOf %d)", path, i))
		if err != nil {
			return nil, err
		}
		out.AnyOf = append(out.AnyOf, t)
	}
	for i, alt := range s.OneOf {
		t, err := translate(alt, fmt.Sprintf("%s(oneOf %d)", path, i))
		if err != nil {
			return nil, err
		}
		out.OneOf = append(out.OneOf, t)
	}
	if s.Nullable && out.unconstrained() {
		// {"nullable": true} with no other keyword is how the specs write
		// "or null" among anyOf's alternatives (Luma's keyframes). Having
		// no type to add null to, it would translate to a schema that
		// allows anything, and so make the whole anyOf allow anything.
		out.Types = []string{"null"}
	}
	if out.Default != nil {
		if problems := out.check(normalize(out.Default), path); len(problems) > 0 {
			return nil, fmt.Errorf("%s: default %v: %s", path, out.Default, problems[0].Message)
		}
	}
	return out, nil
}

// unconstrained reports whether s allows every value: it has no keyword
// that checks one (a default and deprecated only describe).
func (s *Schema) unconstrained() bool {
	return len(s.Types) == 0 && len(s.Enum) == 0 && s.Format == "" && len(s.Required) == 0 &&
		s.Properties == nil && s.Items == nil && s.Minimum == nil && s.Maximum == nil &&
		s.MinLength == nil && s.MaxLength == nil && s.MinItems == nil && s.MaxItems == nil &&
		len(s.AnyOf) == 0 && len(s.OneOf) == 0
}

// allows reports whether s's types admit a value of the JSON type kind
// (jsonType's): an integer is a number too, and no types admit any.
func (s *Schema) allows(kind string) bool {
	return len(s.Types) == 0 || slices.ContainsFunc(s.Types, func(t string) bool { return t == kind || t == "number" && kind == "integer" })
}

// normalize turns a value decoded without UseNumber (a float64) into the
// json.Number Validate works with.
func normalize(v any) any {
	if f, ok := v.(float64); ok {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return v
}

// join is a field's path: "elements[0].url", "keyframes.frame0".
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// FieldError names one bad field of a request by its path in the body
// ("duration", "elements[1].image_url").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// check validates v (decoded with json.Decoder.UseNumber) against s,
// returning every problem. Members an object's schema does not name are
// refused: vidgen sends nothing upstream it could not check, and a typo in
// an optional field would otherwise be dropped without a word.
func (s *Schema) check(v any, path string) []FieldError {
	var out []FieldError
	add := func(format string, args ...any) {
		out = append(out, FieldError{Field: path, Message: fmt.Sprintf(format, args...)})
	}
	if len(s.AnyOf) > 0 || len(s.OneOf) > 0 {
		alts, one := s.AnyOf, false
		if len(s.OneOf) > 0 {
			alts, one = s.OneOf, true
		}
		var matched int
		var first []FieldError
		for _, alt := range alts {
			p := alt.check(v, path)
			if len(p) == 0 {
				matched++
			} else if first == nil {
				first = p
			}
		}
		switch {
		case matched == 0 && len(alts) == 1:
			return first
		case matched == 0:
			if alt := intended(alts, v); alt != nil {
				return alt.check(v, path)
			}
			add("must be %s", describeAlternatives(alts))
			return out
		case one && matched > 1:
			add("matches more than one of %s", describeAlternatives(alts))
			return out
		}
	}
	if !s.allows(jsonType(v)) {
		add("must be %s", typeNames(s.Types))
		return out
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return sameValue(normalize(e), v) }) {
		add("must be one of %s", enumList(s.Enum))
		return out
	}
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		if s.Minimum != nil && f < *s.Minimum || s.Maximum != nil && f > *s.Maximum {
			add("must be %s", rangeText(s.Minimum, s.Maximum))
		}
	case string:
		n := utf8.RuneCountInString(v)
		if s.MinLength != nil && n < *s.MinLength {
			add("must be at least %d characters, got %d", *s.MinLength, n)
		}
		if s.MaxLength != nil && n > *s.MaxLength {
			add("must be at most %d characters, got %d", *s.MaxLength, n)
		}
		if msg := checkFormat(s.Format, v); msg != "" {
			add("%s", msg)
		}
	case []any:
		if s.MinItems != nil && len(v) < *s.MinItems {
			add("must have at least %d items, got %d", *s.MinItems, len(v))
		}
		if s.MaxItems != nil && len(v) > *s.MaxItems {
			add("must have at most %d items, got %d", *s.MaxItems, len(v))
		}
		if s.Items != nil {
			for i, item := range v {
				out = append(out, s.Items.check(item, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case map[string]any:
		if s.Properties != nil || len(s.Required) > 0 {
			for _, name := range slices.Sorted(maps.Keys(v)) {
				p, ok := s.Properties[name]
				if !ok {
					out = append(out, FieldError{Field: join(path, name), Message: "unknown field"})
					continue
				}
				out = append(out, p.check(v[name], join(path, name))...)
			}
			for _, name := range s.Required {
				if _, ok := v[name]; !ok {
					out = append(out, FieldError{Field: join(path, name), Message: "is required"})
				}
			}
		}
	}
	return out
}

// intended is the one alternative of anyOf or oneOf that v, which none of
// them accepts, was evidently meant for, or nil: the only one of v's JSON
// type, else the only one whose discriminators v matches. Its problems
// then say what is wrong and where ("keyframes.frame0.url: is required",
// an unknown member) rather than only that v is none of the alternatives.
func intended(alts []*Schema, v any) *Schema {
	kind := jsonType(v)
	var typed []*Schema
	for _, alt := range alts {
		if alt.allows(kind) {
			typed = append(typed, alt)
		}
	}
	if len(typed) == 1 {
		return typed[0]
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var found *Schema
	for _, alt := range typed {
		if discriminates(alt, obj) {
			if found != nil {
				return nil
			}
			found = alt
		}
	}
	return found
}

// discriminates reports whether obj has every member s's object allows
// one value of (Luma's keyframe "type": "image" or "generation", Runway's
// character "type": "video" or "image") at that value, and s has one.
func discriminates(s *Schema, obj map[string]any) bool {
	has := false
	for name, p := range s.Properties {
		if len(p.Enum) != 1 {
			continue
		}
		if !sameValue(normalize(p.Enum[0]), obj[name]) {
			return false
		}
		has = true
	}
	return has
}

// jsonType is the JSON Schema type of a value decoded with UseNumber;
// integral numbers are "integer" (5 and 5.0 alike, as JSON Schema says).
func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if f, err := v.Float64(); err == nil && f == math.Trunc(f) && !math.IsInf(f, 0) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// sameValue compares JSON values as JSON Schema's enum does: numbers by
// value (5 equals 5.0), everything else exactly.
func sameValue(a, b any) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		af, aerr := an.Float64()
		bf, berr := bn.Float64()
		return aerr == nil && berr == nil && af == bf
	}
	if aok != bok {
		return false
	}
	switch a.(type) {
	case nil, bool, string:
		return a == b
	}
	return false
}

func typeNames(types []string) string {
	names := make([]string, len(types))
	for i, t := range types {
		switch t {
		case "integer", "array", "object":
			names[i] = "an " + t
		case "null":
			names[i] = "null"
		default:
			names[i] = "a " + t
		}
	}
	return strings.Join(names, " or ")
}

func enumList(enum []any) string {
	parts := make([]string, len(enum))
	for i, e := range enum {
		b, _ := json.Marshal(e)
		parts[i] = string(b)
	}
	return strings.Join(parts, ", ")
}

func rangeText(lo, hi *float64) string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch {
	case lo != nil && hi != nil:
		return "between " + num(*lo) + " and " + num(*hi)
	case lo != nil:
		return "at least " + num(*lo)
	default:
		return "at most " + num(*hi)
	}
}

// describeAlternatives names what anyOf or oneOf allows, for its error:
// "a string (uri) or an array".
func describeAlternatives(alts []*Schema) string {
	parts := make([]string, len(alts))
	for i, a := range alts {
		d := typeNames(a.Types)
		if d == "" {
			d = "any value"
		}
		if a.Format != "" {
			d += " (" + a.Format + ")"
		}
		if len(a.Enum) > 0 {
			d += " in " + enumList(a.Enum)
		}
		if len(a.Required) > 0 {
			// A required member of one value is named with it, which
			// tells the alternatives apart: type "image", url.
			members := make([]string, len(a.Required))
			for i, name := range a.Required {
				members[i] = name
				if p := a.Properties[name]; p != nil && len(p.Enum) == 1 {
					members[i] += " " + enumList(p.Enum)
				}
			}
			d += " with " + strings.Join(members, ", ")
		}
		parts[i] = d
	}
	return strings.Join(parts, " or ")
}

// checkFormat checks the two formats the specs use. A uri is absolute
// with a host, or a data: URI (the upstream takes media inline; what a
// media field's data may hold is the media rules', not the schema's).
func checkFormat(format, s string) string {
	switch format {
	case "uri":
		if strings.HasPrefix(s, "data:") {
			return ""
		}
		if u, err := url.Parse(s); err != nil || !u.IsAbs() || u.Host == "" {
			return "must be an absolute URL or a data: URI"
		}
	case "uuid":
		if !isUUID(s) {
			return "must be a UUID"
		}
	}
	return ""
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}
