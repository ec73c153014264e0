// Package catalogtest builds requests for catalogued models, for tests
// that run every provider's model through vidgen.
package catalogtest

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/catalog"
)

// Builtin is the built-in catalogue, failing t if it does not load.
func Builtin(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ByProvider is one model of each provider: the first of its ids in
// order, or the one named in prefer when the provider has it.
func ByProvider(t testing.TB, prefer ...string) []*catalog.Model {
	t.Helper()
	c := Builtin(t)
	chosen := map[string]*catalog.Model{}
	for _, id := range c.IDs() {
		m, ok := c.Lookup(id)
		if !ok {
			t.Fatalf("%s does not build", id)
		}
		if cur, ok := chosen[m.Provider]; !ok || slices.Contains(prefer, id) && !slices.Contains(prefer, cur.ID) {
			chosen[m.Provider] = m
		}
	}
	out := slices.Collect(maps.Values(chosen))
	slices.SortFunc(out, func(a, b *catalog.Model) int { return strings.Compare(a.Provider, b.Provider) })
	return out
}

// Body is a valid request of m: its schema's required members, its
// prompt when it has one, and, when none of those is media, the first
// optional media field it takes; each media value a distinct https URL of its
// kind (prefix, then the value's path). It is JSON, with numbers as
// json.Number, so that it compares equal to what vidgen decodes.
func Body(m *catalog.Model, prefix string) map[string]any {
	body := example(m.Schema).(map[string]any)
	body["model"] = m.ID // some specs serve several ids
	if p := m.Schema.Properties["prompt"]; p != nil {
		if _, ok := body["prompt"]; !ok && len(p.Enum) == 0 {
			body["prompt"] = "a red fox runs through snow"
		}
	}
	if len(mediaOf(m, body)) == 0 {
		addMedia(m, body)
	}
	_ = m.EachMedia(body, func(path string, kind catalog.MediaKind, _ string) (string, error) {
		return prefix + strings.NewReplacer("[", "/", "]", "").Replace(path) + extension(kind), nil
	})
	raw, _ := json.Marshal(body)
	return Decode(raw)
}

// addMedia gives a body without media the first optional top-level media
// field the model accepts with it, if any: tests of media then cover the
// models whose media are all optional (first and last frames, references).
func addMedia(m *catalog.Model, body map[string]any) {
	c, err := catalog.Builtin()
	if err != nil {
		return
	}
	for _, md := range m.Media {
		name, array := strings.CutSuffix(md.Path, "[]")
		if strings.ContainsAny(name, ".[") {
			continue
		}
		var v any = "https://media.example.com/in" + extension(md.Kind)
		if array {
			v = []any{v}
		}
		body[name] = v
		raw, _ := json.Marshal(body)
		if _, _, problems := c.Validate(raw); len(problems) == 0 {
			return
		}
		delete(body, name)
	}
}

// mediaOf lists the paths of body's media values.
func mediaOf(m *catalog.Model, body map[string]any) []string {
	var out []string
	_ = m.EachMedia(body, func(path string, _ catalog.MediaKind, v string) (string, error) {
		out = append(out, path)
		return v, nil
	})
	return out
}

// Decode is JSON decoded with numbers as json.Number, nil if it is not
// an object.
func Decode(raw []byte) map[string]any {
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}

func extension(kind catalog.MediaKind) string {
	switch kind {
	case catalog.Video:
		return ".mp4"
	case catalog.Audio:
		return ".mp3"
	}
	return ".png"
}

// example is a value s accepts, with required members only.
func example(s *catalog.Schema) any {
	switch {
	case len(s.Enum) > 0:
		return s.Enum[0]
	case len(s.AnyOf) > 0:
		return example(s.AnyOf[0])
	case len(s.OneOf) > 0:
		return example(s.OneOf[0])
	}
	t := ""
	if len(s.Types) > 0 {
		t = s.Types[0]
	}
	switch t {
	case "string":
		switch s.Format {
		case "uri":
			return "https://media.example.com/in.png"
		case "uuid":
			return "0f8fad5b-d9cb-469f-a165-70867728950e"
		}
		n := 1
		if s.MinLength != nil {
			n = max(n, *s.MinLength)
		}
		return strings.Repeat("a", n)
	case "integer":
		if s.Minimum != nil {
			return int(*s.Minimum)
		}
		return 1
	case "number":
		if s.Minimum != nil {
			return *s.Minimum
		}
		return 0.5
	case "boolean":
		return true
	case "array":
		n := 1
		if s.MinItems != nil {
			n = max(n, *s.MinItems)
		}
		items := make([]any, n)
		for i := range items {
			items[i] = example(s.Items)
		}
		return items
	}
	obj := map[string]any{}
	for name, p := range s.Properties {
		if slices.Contains(s.Required, name) {
			obj[name] = example(p)
		}
	}
	return obj
}
