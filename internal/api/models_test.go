package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/catalog"
)

func getModels(t *testing.T, h *checkedHandler, query map[string]string, headers map[string]string) (int, map[string]string, vidgen.ModelList) {
	t.Helper()
	req := request("GET", PathModels, "", "", "")
	req.QueryStringParameters = query
	for k, v := range headers {
		req.Headers[k] = v
	}
	resp, err := h.Handle(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var list vidgen.ModelList
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(resp.Body), &list); err != nil {
			t.Fatalf("body %.200s: %v", resp.Body, err)
		}
	} else if resp.Body != "" && resp.StatusCode == http.StatusNotModified {
		t.Fatalf("304 with a body: %.200s", resp.Body)
	}
	return resp.StatusCode, resp.Headers, list
}

// GET /v1/models lists every catalogued model, without a key, in the
// upstream's shape, each with its request schema: the catalogue's, plus
// callback_url, closed to other members.
func TestModelsListsTheCatalogue(t *testing.T) {
	h, _, _ := newHandler(t)
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	status, hdr, list := getModels(t, h, nil, nil)
	if status != 200 || list.Object != "list" || hdr["ETag"] == "" || hdr["Content-Type"] != "application/json" {
		t.Fatalf("%d %v object %q", status, hdr, list.Object)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
		cm, ok := c.Lookup(m.ID)
		if !ok {
			t.Fatalf("listed %s, which the catalogue does not have", m.ID)
		}
		if m.Type != ModelType || m.Info.Developer != cm.Provider || m.Info.Name == "" || !slices.Equal(m.Tags, []string{ModelTag}) ||
			m.Capabilities != nil || m.Modalities != nil {
			t.Errorf("%s: %+v", m.ID, m)
		}
		var s struct {
			Properties map[string]struct {
				Enum []any `json:"enum"`
			} `json:"properties"`
			Required             []string `json:"required"`
			AdditionalProperties *bool    `json:"additionalProperties"`
		}
		if err := json.Unmarshal(m.Schema, &s); err != nil {
			t.Fatalf("%s: schema %s: %v", m.ID, m.Schema, err)
		}
		if !slices.Equal(s.Properties["model"].Enum, []any{m.ID}) || !slices.Contains(s.Required, "model") {
			t.Errorf("%s: the schema's model is %v, required %v", m.ID, s.Properties["model"].Enum, s.Required)
		}
		if _, ok := s.Properties["callback_url"]; !ok || s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("%s: no callback_url or not closed: %s", m.ID, m.Schema)
		}
		if len(s.Properties) != len(cm.Schema.Properties)+1 {
			t.Errorf("%s: %d members, the catalogue's schema has %d", m.ID, len(s.Properties), len(cm.Schema.Properties))
		}
	}
	if !slices.Equal(ids, c.IDs()) {
		t.Errorf("listed %d models %v; the catalogue has %d", len(ids), ids, len(c.IDs()))
	}
}

// Filters narrow the list as upstream's do: values of one parameter OR'd,
// parameters AND'd, case-insensitive; include adds capabilities and
// modalities; unknown parameters and include values change nothing, and a
// filter value no model has matches nothing (docs/api.md, "Models").
func TestModelsFilters(t *testing.T) {
	h, _, _ := newHandler(t)
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	ids := func(l vidgen.ModelList) []string {
		var out []string
		for _, m := range l.Data {
			out = append(out, m.ID)
		}
		return out
	}
	_, _, all := getModels(t, h, nil, nil)
	_, _, junk := getModels(t, h, map[string]string{"colour": "blue", "include": "pricing,nonsense"}, nil)
	if !slices.Equal(ids(junk), ids(all)) || junk.Data[0].Capabilities != nil {
		t.Errorf("unknown parameters changed the list: %d models, was %d", len(junk.Data), len(all.Data))
	}
	_, _, two := getModels(t, h, map[string]string{"id": "gen3a_turbo, KLINGAI/V2-MASTER-TEXT-TO-VIDEO,no-such-model"}, nil)
	if got := ids(two); !slices.Equal(got, []string{"gen3a_turbo", "klingai/v2-master-text-to-video"}) {
		t.Errorf("id filter: %v", got)
	}
	_, _, none := getModels(t, h, map[string]string{"id": "gen3a_turbo", "type": "openai/chat-completions"}, nil)
	if none.Data == nil || len(none.Data) != 0 {
		t.Errorf("type filter: %v, want an empty list", ids(none))
	}
	for _, q := range []map[string]string{{"type": "video"}, {"capabilities": "nonsense"}, {"id": "no-such-model"}} {
		if _, _, l := getModels(t, h, q, nil); l.Data == nil || len(l.Data) != 0 {
			t.Errorf("%v: %v, want an empty list", q, ids(l))
		}
	}
	_, _, mixed := getModels(t, h, map[string]string{"type": "video, " + strings.ToUpper(ModelType), "capabilities": "nonsense,text_to_video"}, nil)
	_, _, t2v := getModels(t, h, map[string]string{"capabilities": "text_to_video"}, nil)
	if len(t2v.Data) == 0 || !slices.Equal(ids(mixed), ids(t2v)) {
		t.Errorf("unknown values beside known ones: %v, want the known ones' %v", ids(mixed), ids(t2v))
	}
	_, _, v2v := getModels(t, h, map[string]string{"capabilities": "VIDEO_TO_VIDEO", "include": "capabilities"}, nil)
	want := 0
	for _, id := range c.IDs() {
		m, _ := c.Lookup(id)
		if slices.Contains(m.Modes, catalog.VideoToVideo) {
			want++
		}
	}
	if len(v2v.Data) != want || want == 0 || want == len(all.Data) {
		t.Errorf("capabilities=video_to_video: %d models, the catalogue has %d of %d", len(v2v.Data), want, len(all.Data))
	}
	for _, m := range v2v.Data {
		if !slices.Contains(m.Capabilities, "video_to_video") || m.Modalities != nil {
			t.Errorf("%s: capabilities %v, modalities %v", m.ID, m.Capabilities, m.Modalities)
		}
	}
	_, _, gen3 := getModels(t, h, map[string]string{"id": "gen3a_turbo", "details": "true"}, nil)
	if len(gen3.Data) != 1 {
		t.Fatalf("details=true: %v", ids(gen3))
	}
	m := gen3.Data[0]
	if !slices.Equal(m.Capabilities, []string{"image_to_video"}) || m.Modalities == nil ||
		!slices.Equal(m.Modalities.Input, []string{"text", "image"}) || !slices.Equal(m.Modalities.Output, []string{"video"}) {
		t.Errorf("gen3a_turbo with details: capabilities %v modalities %+v", m.Capabilities, m.Modalities)
	}
}

// The answer's ETag revalidates: sent back, an unchanged list is 304 with
// no body; another query's list has another tag.
func TestModelsETag(t *testing.T) {
	h, _, _ := newHandler(t)
	status, hdr, _ := getModels(t, h, nil, nil)
	etag := hdr["ETag"]
	if status != 200 || etag == "" || hdr["Cache-Control"] == "" {
		t.Fatalf("%d %v", status, hdr)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		if status, hdr, _ := getModels(t, h, nil, map[string]string{"if-none-match": inm}); status != 304 || hdr["ETag"] != etag {
			t.Errorf("If-None-Match %s: %d %v", inm, status, hdr)
		}
	}
	if status, _, _ := getModels(t, h, nil, map[string]string{"if-none-match": `"stale"`}); status != 200 {
		t.Errorf("a stale tag: %d", status)
	}
	_, other, _ := getModels(t, h, map[string]string{"id": "gen3a_turbo"}, nil)
	if other["ETag"] == etag {
		t.Errorf("the filtered list has the whole list's tag %s", etag)
	}
	if status, hdr, _ := getModels(t, h, map[string]string{"id": "gen3a_turbo"}, map[string]string{"If-None-Match": etag}); status != 200 || hdr["ETag"] != other["ETag"] {
		t.Errorf("the whole list's tag on the filtered list: %d", status)
	}
}

// Only GET is served, and a key is not needed (nor refused).
func TestModelsMethodsAndKey(t *testing.T) {
	h, _, _ := newHandler(t)
	resp, _ := h.Handle(t.Context(), request("POST", PathModels, "", "application/json", "{}"))
	if resp.StatusCode != 405 || resp.Headers["Allow"] != "GET" {
		t.Fatalf("POST: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	resp, _ = h.Handle(t.Context(), request("GET", PathModels+"/", "keyA", "", ""))
	if resp.StatusCode != 200 {
		t.Fatalf("GET with a key: %d %s", resp.StatusCode, resp.Body)
	}
	resp, _ = h.Handle(t.Context(), request("GET", PathModels, "not-a-key", "", ""))
	if resp.StatusCode != 200 {
		t.Fatalf("GET with an unknown key: %d %.200s", resp.StatusCode, resp.Body)
	}
}
