package openapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite openapi.json's per-model request schemas from the catalogue")

const (
	document = "openapi.json"
	// The generated block: from the Request schema to the first schema
	// written by hand after it, Request.gen3a_turbo.
	blockBegin = "      \"Request\": {\n"
	blockEnd   = "      \"Request.gen3a_turbo\": {\n"
)

// schemaName is the component name of a model's request schema (component
// names allow letters, digits, ".", "-" and "_").
func schemaName(id string) string { return "Request." + strings.ReplaceAll(id, "/", ".") }

// requestBlock is the generated part of the document: the Request schema,
// oneOf the catalogue's models with a discriminator on model, and the
// schema of every model the document does not describe by hand (handWritten),
// each GET /v1/models's schema of it (api.RequestSchema).
func requestBlock(c *catalog.Catalog, handWritten func(name string) bool) (string, error) {
	var refs, mapping, members []string
	seen := map[string]string{}
	for _, id := range c.IDs() {
		name := schemaName(id)
		if other, ok := seen[name]; ok {
			return "", fmt.Errorf("models %s and %s both make the schema name %s", other, id, name)
		}
		seen[name] = id
		ref := "#/components/schemas/" + name
		refs = append(refs, fmt.Sprintf("          {\"$ref\": %q}", ref))
		mapping = append(mapping, fmt.Sprintf("          %q: %q", id, ref))
		if handWritten(name) {
			continue
		}
		m, err := c.Model(id)
		if err != nil {
			return "", err
		}
		s, err := api.RequestSchema(m)
		if err != nil {
			return "", err
		}
		members = append(members, fmt.Sprintf("      %q: %s,\n", name, s))
	}
	var b strings.Builder
	b.WriteString(blockBegin)
	b.WriteString("        \"description\": \"A generation request: one schema per catalogued model, chosen by its model (GET /v1/models lists the same schemas). Generated from the catalogue by go test ./internal/openapi -update; gen3a_turbo's is written by hand. Unknown, duplicate or unnamed fields are refused.\",\n")
	b.WriteString("        \"oneOf\": [\n" + strings.Join(refs, ",\n") + "\n        ],\n")
	b.WriteString("        \"discriminator\": {\"propertyName\": \"model\", \"mapping\": {\n" + strings.Join(mapping, ",\n") + "\n        }}\n")
	b.WriteString("      },\n")
	for _, m := range members {
		b.WriteString(m)
	}
	return b.String(), nil
}

// The document's request is oneOf one schema per catalogued model, with a
// discriminator on model, and each generated schema is the one GET
// /v1/models serves for that model: adding a model to the catalogue and
// running this test with -update is the whole change to the document.
func TestRequestSchemas(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(document)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := bytes.Index(doc, []byte(blockBegin)), bytes.Index(doc, []byte(blockEnd))
	if begin < 0 || end < begin {
		t.Fatalf("%s has no generated block from %q to %q", document, blockBegin, blockEnd)
	}
	rest := string(doc[:begin]) + string(doc[end:])
	want, err := requestBlock(c, func(name string) bool { return strings.Contains(rest, fmt.Sprintf("\n      %q: {", name)) })
	if err != nil {
		t.Fatal(err)
	}
	if got := string(doc[begin:end]); got == want {
		return
	}
	if !*update {
		t.Fatalf("%s's request schemas are not the catalogue's; run go test ./internal/openapi -update", document)
	}
	out := append(append(append([]byte{}, doc[:begin]...), want...), doc[end:]...)
	if err := os.WriteFile(document, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The loaded document's Request is oneOf every catalogued model's schema,
// its discriminator maps each model id to its own, and each schema's model
// names that model alone; the hand-written gen3a_turbo schema takes the
// catalogue's fields, required ones and values (and null, its default).
func TestRequestIsOneOfTheModels(t *testing.T) {
	doc := checker(t).Doc()
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	req := doc.Components.Schemas["Request"].Value
	if len(req.OneOf) != len(c.IDs()) || req.Discriminator == nil || req.Discriminator.PropertyName != "model" || len(req.Discriminator.Mapping) != len(c.IDs()) {
		t.Fatalf("Request: %d oneOf, discriminator %+v; the catalogue has %d models", len(req.OneOf), req.Discriminator, len(c.IDs()))
	}
	for i, id := range c.IDs() {
		ref := "#/components/schemas/" + schemaName(id)
		if req.OneOf[i].Ref != ref || req.Discriminator.Mapping[id].Ref != ref {
			t.Errorf("%s: oneOf %s, mapping %s; want %s", id, req.OneOf[i].Ref, req.Discriminator.Mapping[id].Ref, ref)
		}
		model := req.OneOf[i].Value.Properties["model"]
		if model == nil || !slices.Equal(model.Value.Enum, []any{id}) && model.Value.Const != id {
			t.Errorf("%s: the schema's model is %+v", id, model)
		}
	}
	gen3, m := doc.Components.Schemas["Request.gen3a_turbo"].Value, mustModel(t, c, "gen3a_turbo")
	var props []string
	for p := range gen3.Properties {
		props = append(props, p)
	}
	want := []string{"callback_url"}
	for p := range m.Schema.Properties {
		want = append(want, p)
	}
	slices.Sort(props)
	slices.Sort(want)
	if !slices.Equal(props, want) || !slices.Equal(gen3.Required, m.Schema.Required) {
		t.Errorf("Request.gen3a_turbo has %v, requires %v; the catalogue's %v, %v", props, gen3.Required, want, m.Schema.Required)
	}
	for _, f := range []string{"aspect_ratio", "duration"} {
		got := slices.DeleteFunc(slices.Clone(gen3.Properties[f].Value.Enum), func(v any) bool { return v == nil })
		var cat []any
		for _, v := range m.Schema.Properties[f].Enum {
			b, _ := json.Marshal(v)
			var x any
			if err := json.Unmarshal(b, &x); err != nil {
				t.Fatal(err)
			}
			cat = append(cat, x)
		}
		if fmt.Sprint(got) != fmt.Sprint(cat) {
			t.Errorf("Request.gen3a_turbo's %s takes %v; the catalogue's %v", f, got, cat)
		}
	}
}

func mustModel(t *testing.T, c *catalog.Catalog, id string) *catalog.Model {
	t.Helper()
	m, err := c.Model(id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
