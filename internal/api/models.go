package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/plainjson"
)

// PathModels lists the catalogued video models in the AI/ML API's own
// catalogue shape (GET https://api.aimlapi.com/v1/models), each with its
// request schema. Like upstream's, and like /openapi.json, it takes no key:
// it describes the API and holds nothing secret.
const PathModels = "/v1/models"

// ModelType is the upstream catalogue's type of every video model: the
// endpoint type that serves it.
const ModelType = "internal/video-generations/submit"

// ModelTag is the tag vidgen gives each model: upstream tags the video
// models its playground offers so, and vidgen's console offers each.
const ModelTag = "playground:video"

// callbackSchema is vidgen's own request member, which every model takes
// beside its upstream body (see the Request schema of the OpenAPI document).
func callbackSchema() map[string]any {
	return map[string]any{
		"type": []string{"string", "null"}, "maxLength": 2048,
		"description": "vidgen's own field: receives a signed webhook when the job ends.",
	}
}

// models serves GET PathModels. Filters and include follow upstream's:
// id, type and capabilities narrow the list (a value list separated by
// commas is OR'd, parameters are AND'd, case-insensitive); include adds
// capabilities, modalities or all (details=true is all). A filter value
// no model has matches nothing, so a filter of only such values answers
// an empty list, as any filter that matches nothing does: ignoring it
// would answer models the caller excluded. Unknown parameters and include
// values are ignored; pricing, which vidgen does not know, adds nothing.
// The answer carries an ETag: the same answer with If-None-Match is 304
// with no body.
func (h *Handler) models(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if resp, ok := onlyGET(req); !ok {
		return resp
	}
	list, err := modelList(req.QueryStringParameters)
	var body []byte
	if err == nil {
		body, err = plainjson.Marshal(list)
	}
	if err != nil {
		// The catalogue is embedded and its tests render it: this is a
		// build that should never have shipped.
		h.Log.ErrorContext(ctx, "render the model catalogue", "err", err)
		return errorResponse(http.StatusInternalServerError, "InternalServerError", "the model catalogue does not render")
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	hdr := map[string]string{"Content-Type": "application/json", "ETag": etag, "Cache-Control": "public, max-age=300"}
	if inm := header(req.Headers, "if-none-match"); inm != "" && etagMatches(inm, etag) {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotModified, Headers: hdr}
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: hdr, Body: string(body)}
}

// etagMatches reports whether an If-None-Match header names etag (weakly,
// as RFC 9110 compares for GET).
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// modelList renders the built-in catalogue as GET PathModels answers it
// for the query parameters q (see models).
func modelList(q map[string]string) (vidgen.ModelList, error) {
	c, err := catalog.Builtin()
	if err != nil {
		return vidgen.ModelList{}, err
	}
	schemas, err := builtinSchemas()
	if err != nil {
		return vidgen.ModelList{}, err
	}
	ids, types, caps := values(q["id"]), values(q["type"]), values(q["capabilities"])
	include := values(q["include"])
	all := slices.Contains(include, "all") || strings.EqualFold(q["details"], "true")
	withCaps, withModalities := all || slices.Contains(include, "capabilities"), all || slices.Contains(include, "modalities")
	out := vidgen.ModelList{Object: "list", Data: []vidgen.Model{}}
	for _, id := range c.IDs() {
		m, err := c.Model(id)
		if err != nil {
			return vidgen.ModelList{}, err
		}
		mc := Capabilities(m)
		switch {
		case len(ids) > 0 && !slices.Contains(ids, strings.ToLower(id)),
			len(types) > 0 && !slices.Contains(types, ModelType),
			len(caps) > 0 && !slices.ContainsFunc(mc, func(c string) bool { return slices.Contains(caps, c) }):
			continue
		}
		vm := vidgen.Model{ID: id, Type: ModelType, Info: vidgen.ModelInfo{Name: id, Developer: m.Provider},
			Tags: []string{ModelTag}, Schema: schemas[id]}
		if withCaps {
			vm.Capabilities = mc
		}
		if withModalities {
			vm.Modalities = modalities(m)
		}
		out.Data = append(out.Data, vm)
	}
	return out, nil
}

// values splits a query parameter's comma-separated values (API Gateway
// joins a repeated parameter's values with commas), lower-cased.
func values(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Capabilities are a model's modes in the upstream catalogue's words
// (text_to_video, image_to_video, video_to_video).
func Capabilities(m *catalog.Model) []string {
	out := make([]string, len(m.Modes))
	for i, mode := range m.Modes {
		out[i] = strings.ReplaceAll(string(mode), "-", "_")
	}
	return out
}

// modalities are what m takes: text if its schema has a prompt, and the
// kinds of its media fields; it makes video.
func modalities(m *catalog.Model) *vidgen.Modalities {
	var in []string
	if _, ok := m.Schema.Properties["prompt"]; ok {
		in = append(in, "text")
	}
	for _, kind := range []catalog.MediaKind{catalog.Image, catalog.Video, catalog.Audio} {
		if slices.ContainsFunc(m.Media, func(md catalog.Media) bool { return md.Kind == kind }) {
			in = append(in, string(kind))
		}
	}
	return &vidgen.Modalities{Input: in, Output: []string{"video"}}
}

// builtinSchemas are the built-in catalogue's request schemas, rendered
// once: a whole list then renders in 2 ms rather than 8.
var builtinSchemas = sync.OnceValues(func() (map[string]json.RawMessage, error) {
	c, err := catalog.Builtin()
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(c.IDs()))
	for _, id := range c.IDs() {
		m, err := c.Model(id)
		if err != nil {
			return nil, err
		}
		if out[id], err = RequestSchema(m); err != nil {
			return nil, err
		}
	}
	return out, nil
})

// RequestSchema is the JSON Schema of m's request body as vidgen takes it:
// the catalogue's, its model naming m alone, with vidgen's callback_url
// beside the model's members.
func RequestSchema(m *catalog.Model) (json.RawMessage, error) {
	b, err := json.Marshal(m.Schema)
	if err != nil {
		return nil, fmt.Errorf("model %s: schema: %w", m.ID, err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("model %s: schema: %w", m.ID, err)
	}
	props, _ := s["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		s["properties"] = props
	}
	// Some specs document several models in one schema: this one is m's.
	props["model"] = map[string]any{"type": []string{"string"}, "enum": []string{m.ID}}
	props["callback_url"] = callbackSchema()
	closeObjects(s)
	return plainjson.Marshal(s)
}

// closeObjects marks every object schema with members as taking no
// others: the catalogue refuses a member its schema does not name, at
// any depth (catalog's Schema.check).
func closeObjects(s map[string]any) {
	props, hasProps := s["properties"].(map[string]any)
	if _, hasRequired := s["required"]; hasProps || hasRequired {
		s["additionalProperties"] = false
	}
	for _, p := range props {
		if p, ok := p.(map[string]any); ok {
			closeObjects(p)
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		closeObjects(items)
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		alts, _ := s[key].([]any)
		for _, a := range alts {
			if a, ok := a.(map[string]any); ok {
				closeObjects(a)
			}
		}
	}
}
