package catalog

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func builtinCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every model of the reference is catalogued, each with a provider, its
// modes, a prior and a deadline past its longest clip's prior, and every
// provider of the reference has models.
func TestBuiltinCataloguesEveryReferenceModel(t *testing.T) {
	c := builtinCatalog(t)
	var ref reference
	if err := json.Unmarshal(readReference(t), &ref); err != nil {
		t.Fatal(err)
	}
	if got, want := c.IDs(), slices.Sorted(maps.Keys(ref.Models)); !slices.Equal(got, want) || len(got) != 143 {
		t.Fatalf("catalogued %d models, the reference has %d (want 143)", len(got), len(want))
	}
	providers := map[string]int{}
	for _, id := range c.IDs() {
		m, _ := c.Lookup(id)
		providers[m.Provider]++
		if len(m.Modes) == 0 || len(m.Prior) == 0 || m.Deadline <= m.PriorFor(m.maxDuration()) {
			t.Errorf("%s: modes %v, prior %v, deadline %s", id, m.Modes, m.Prior, m.Deadline)
		}
	}
	var md meta
	if err := json.Unmarshal(modelsJSON, &md); err != nil {
		t.Fatal(err)
	}
	for _, p := range md.Providers {
		if providers[p.Name] == 0 {
			t.Errorf("provider %s has no model", p.Name)
		}
	}
	t.Logf("models by provider: %v", providers)
}

// The generic path validates every catalogued model: a body made of each
// schema's required fields (and, for a duration, each allowed value) is
// accepted, decoded unchanged.
func TestEveryModelAcceptsAValidRequest(t *testing.T) {
	c := builtinCatalog(t)
	for _, id := range c.IDs() {
		m, _ := c.Lookup(id)
		body := example(m.Schema, true).(map[string]any)
		body["model"] = id // some specs serve several ids
		raw, _ := json.Marshal(body)
		got, obj, problems := c.Validate(raw)
		if len(problems) > 0 || got != m {
			t.Errorf("%s: %s refused: %v", id, raw, problems)
			continue
		}
		again, _ := json.Marshal(obj)
		if string(again) != string(raw) {
			t.Errorf("%s: decoded %s, sent %s", id, again, raw)
		}
	}
}

// example is a value s accepts: required members only when minimal.
func example(s *Schema, minimal bool) any {
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if len(s.AnyOf) > 0 {
		return example(s.AnyOf[0], minimal)
	}
	if len(s.OneOf) > 0 {
		return example(s.OneOf[0], minimal)
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
		return strings.Repeat("a", max(1, deref(s.MinLength)))
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
		n := max(1, deref(s.MinItems))
		items := make([]any, n)
		for i := range items {
			items[i] = example(s.Items, minimal)
		}
		return items
	}
	obj := map[string]any{}
	for name, p := range s.Properties {
		if !minimal || slices.Contains(s.Required, name) {
			obj[name] = example(p, minimal)
		}
	}
	return obj
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// A request with several bad fields is refused naming each, with what the
// field allows; the model's own schema decides (Kling master's durations
// are 5 and 10, gen3a_turbo's ratios 16:9 and 9:16).
func TestValidateNamesEveryBadField(t *testing.T) {
	c := builtinCatalog(t)
	for _, tc := range []struct {
		body string
		want map[string]string // field → part of its message
	}{
		{`{"model":"klingai/v2-master-text-to-video","prompt":"a cat","duration":7,"aspect_ratio":"4:3","cfg_scale":2,"colour":"red"}`,
			map[string]string{"duration": "must be one of 5, 10", "aspect_ratio": `"16:9", "9:16", "1:1"`, "cfg_scale": "between 0 and 1", "colour": "unknown field"}},
		{`{"model":"klingai/v2-master-text-to-video","advanced_camera_control":{"movement_type":"spin"}}`,
			map[string]string{"prompt": "is required", "advanced_camera_control.movement_type": `"horizontal"`, "advanced_camera_control.movement_value": "is required"}},
		{`{"model":"gen3a_turbo","prompt":5,"image_url":"not a url","duration":"10"}`,
			map[string]string{"prompt": "must be a string", "image_url": "absolute URL", "duration": "must be an integer"}},
	} {
		_, _, problems := c.Validate([]byte(tc.body))
		got := map[string]string{}
		for _, p := range problems {
			got[p.Field] = p.Message
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: problems %v, want one for each of %v", tc.body, problems, slices.Sorted(maps.Keys(tc.want)))
		}
		for f, part := range tc.want {
			if !strings.Contains(got[f], part) {
				t.Errorf("%s: %s: %q, want it to say %q", tc.body, f, got[f], part)
			}
		}
	}
}

// An unknown model, a missing one and a body that is not one object are
// each refused with one clear error.
func TestValidateRefusesBadBodies(t *testing.T) {
	c := builtinCatalog(t)
	for _, tc := range []struct{ body, field, part string }{
		{`{"model":"runway/gen9","prompt":"x"}`, "model", "gen3a_turbo"},
		{`{"prompt":"x"}`, "model", "is required"},
		{`{"model":5}`, "model", "must be a string"},
		{`[1]`, "body", "JSON object"},
		{`{"model":"gen3a_turbo"} {}`, "body", "exactly one"},
		{`{"model":"gen3a_turbo",`, "body", "malformed JSON"},
		{"\xff", "body", "UTF-8"},
	} {
		_, _, problems := c.Validate([]byte(tc.body))
		if len(problems) != 1 || problems[0].Field != tc.field || !strings.Contains(problems[0].Message, tc.part) {
			t.Errorf("%s: %v, want one problem with %s saying %q", tc.body, problems, tc.field, tc.part)
		}
	}
}

// A member given twice, at any depth, is refused under its own path, once
// however often it is repeated, beside every other problem of the body,
// which is checked with the last of its values (the one the upstream would
// read).
func TestValidateNamesDuplicates(t *testing.T) {
	c := builtinCatalog(t)
	for _, tc := range []struct {
		body string
		want map[string]string // field: part of its message
	}{
		{`{"model":"klingai/v2-master-text-to-video","prompt":"a","prompt":"b","duration":7,"bogus":1}`,
			map[string]string{"prompt": "appears more than once", "duration": "one of 5, 10", "bogus": "unknown field"}},
		// The last model is the one checked.
		{`{"model":"gen3a_turbo","image_url":"https://a.example/x.png","model":"veo2"}`,
			map[string]string{"model": "appears more than once", "image_url": "unknown field", "prompt": "is required"}},
		{`{"model":"runway/act_two","character":{"type":"image","url":"https://a/x","url":"https://b/y","url":"https://c/z"},"reference":{"type":"video","url":"https://a/r"}}`,
			map[string]string{"character.url": "appears more than once"}},
		// Duplicates in two objects, each named.
		{`{"model":"runway/act_two","character":{"type":"image","url":"https://a/x","url":"b"},"reference":{"type":"video","url":"https://a/r"},"seed":1,"seed":-1}`,
			map[string]string{"character.url": "appears more than once", "seed": "appears more than once"}},
		{`{"prompt":"a","prompt":"b"}`, map[string]string{"prompt": "appears more than once", "model": "is required"}},
	} {
		_, obj, problems := c.Validate([]byte(tc.body))
		got := map[string][]string{}
		for _, p := range problems {
			got[p.Field] = append(got[p.Field], p.Message)
		}
		if obj != nil || len(got) != len(tc.want) {
			t.Errorf("%s: %v, want a problem for each of %v", tc.body, problems, slices.Sorted(maps.Keys(tc.want)))
		}
		for f, part := range tc.want {
			if !slices.ContainsFunc(got[f], func(m string) bool { return strings.Contains(m, part) }) {
				t.Errorf("%s: %s: %q, want one to say %q", tc.body, f, got[f], part)
			}
		}
	}
	// The last value of a duplicated member is checked with the rest.
	_, _, problems := c.Validate([]byte(`{"model":"runway/act_two","character":{"type":"image","url":"https://a/x","url":"b"},"reference":{"type":"video","url":"https://a/r"}}`))
	if !slices.Contains(problems, FieldError{Field: "character.url", Message: "must be an absolute URL or a data: URI"}) {
		t.Errorf("a duplicated member's last value, no URL: %v, want it refused too", problems)
	}
}

// OpenAPI 3.0 is translated: nullable allows null (also in an enum), a
// string default of a number is that number, and 5.0 is an integer.
func TestTranslate(t *testing.T) {
	raw := `{"type":"object","properties":{
		"model":{"type":"string","enum":["m"]},
		"duration":{"type":"integer","enum":[5,10],"default":"5"},
		"ratio":{"type":"string","enum":["16:9"],"nullable":true},
		"seed":{"type":"integer","nullable":true}},"required":["model"]}`
	var s openAPISchema
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	tr, err := translate(&s, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := tr.Properties["duration"].Default; d != 5.0 {
		t.Errorf("duration default %#v, want the number 5", d)
	}
	for _, body := range []string{`{"model":"m","ratio":null,"seed":null}`, `{"model":"m","duration":5.0}`} {
		var v any
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		_ = dec.Decode(&v)
		if p := tr.check(v, ""); len(p) != 0 {
			t.Errorf("%s: %v", body, p)
		}
	}
	var alone openAPISchema
	if err := json.Unmarshal([]byte(`{"anyOf":[{"type":"string"},{"nullable":true}]}`), &alone); err != nil {
		t.Fatal(err)
	}
	if tr, err := translate(&alone, ""); err != nil || !slices.Equal(tr.AnyOf[1].Types, []string{"null"}) {
		t.Errorf("nullable alone: %+v, %v, want the type null", tr.AnyOf[1], err)
	}
	var bad openAPISchema
	if err := json.Unmarshal([]byte(`{"type":"integer","default":"five"}`), &bad); err != nil {
		t.Fatal(err)
	}
	if _, err := translate(&bad, "duration"); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Errorf("a default that is no number: %v, want an error naming the field", err)
	}
}

// Media fields are found in every shape the specs use, with their kind.
// No translated schema allows any value where its reference node says
// something, however little: {"nullable": true} once became {}, which made
// Luma's keyframes take anything. A node that says nothing ({} or a
// description alone) would mean any value, and may stay one.
func TestNoSchemaAllowsAnythingUnmeant(t *testing.T) {
	c := builtinCatalog(t)
	var ref struct {
		Models map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"models"`
	}
	if err := json.Unmarshal(readReference(t), &ref); err != nil {
		t.Fatal(err)
	}
	describes := func(raw map[string]any) bool {
		for k := range raw {
			switch k {
			case "description", "title", "example", "examples", "deprecated", "default":
			default:
				return false
			}
		}
		return true
	}
	var walk func(id, path string, s *Schema, raw map[string]any)
	walk = func(id, path string, s *Schema, raw map[string]any) {
		if s.unconstrained() && !describes(raw) {
			t.Errorf("%s: %s translates to a schema that allows anything, from %v", id, path, raw)
		}
		sub := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
		for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
			walk(id, join(path, name), s.Properties[name], sub(sub(raw["properties"])[name]))
		}
		if s.Items != nil {
			walk(id, path+"[]", s.Items, sub(raw["items"]))
		}
		rawAnyOf, _ := raw["anyOf"].([]any)
		for i, alt := range s.AnyOf {
			walk(id, fmt.Sprintf("%s(anyOf %d)", path, i), alt, sub(rawAnyOf[i]))
		}
		rawOneOf, _ := raw["oneOf"].([]any)
		for i, alt := range s.OneOf {
			walk(id, fmt.Sprintf("%s(oneOf %d)", path, i), alt, sub(rawOneOf[i]))
		}
	}
	for _, id := range c.IDs() {
		m, _ := c.Lookup(id)
		walk(id, "", m.Schema, ref.Models[id].Schema)
	}
}

// Luma's keyframes are an image by URL, an earlier generation by id, or
// null, and nothing else: each bad one is refused naming the keyframe or
// what in it is wrong.
func TestLumaKeyframes(t *testing.T) {
	c := builtinCatalog(t)
	const gen = `{"type":"generation","id":"0f8fad5b-d9cb-469f-a165-70867728950e"}`
	for _, id := range []string{"luma/ray-1-6", "luma/ray-2", "luma/ray-flash-2"} {
		body := func(keyframes string) []byte {
			return []byte(`{"model":"` + id + `","prompt":"a","keyframes":` + keyframes + `}`)
		}
		for _, ok := range []string{
			`{"frame0":{"type":"image","url":"https://a.example/0.png"}}`,
			`{"frame0":` + gen + `,"frame1":{"type":"image","url":"data:image/png;base64,AA=="}}`,
			`{"frame0":null,"frame1":null}`,
			`{}`,
		} {
			if _, _, problems := c.Validate(body(ok)); len(problems) > 0 {
				t.Errorf("%s: keyframes %s refused: %v", id, ok, problems)
			}
		}
		for _, tc := range []struct {
			keyframes string
			want      map[string]string // field: part of its message
		}{
			{`{"frame0":42}`, map[string]string{"keyframes.frame0": `an object with type "image", url or an object with type "generation", id or null`}},
			{`{"frame0":"https://a.example/0.png"}`, map[string]string{"keyframes.frame0": "or null"}},
			{`{"frame0":{"type":"image"}}`, map[string]string{"keyframes.frame0.url": "is required"}},
			{`{"frame0":{"type":"generation","id":"nope"}}`, map[string]string{"keyframes.frame0.id": "UUID"}},
			{`{"frame0":{"type":"video","url":"https://a.example/0.mp4"}}`, map[string]string{"keyframes.frame0": "or null"}},
			{`{"frame1":{"type":"image","url":"not a url","junk":1}}`,
				map[string]string{"keyframes.frame1.url": "absolute URL", "keyframes.frame1.junk": "unknown field"}},
			{`{"frame0":` + strings.TrimSuffix(gen, "}") + `,"junk":1}}`, map[string]string{"keyframes.frame0.junk": "unknown field"}},
		} {
			_, _, problems := c.Validate(body(tc.keyframes))
			got := map[string]string{}
			for _, p := range problems {
				got[p.Field] = p.Message
			}
			if len(got) != len(tc.want) || len(problems) != len(tc.want) {
				t.Errorf("%s: keyframes %s: %v, want a problem for each of %v", id, tc.keyframes, problems, slices.Sorted(maps.Keys(tc.want)))
			}
			for f, part := range tc.want {
				if !strings.Contains(got[f], part) {
					t.Errorf("%s: keyframes %s: %s: %q, want it to say %q", id, tc.keyframes, f, got[f], part)
				}
			}
		}
	}
}

// A value no alternative of anyOf or oneOf accepts is told by the problems
// of the one it was evidently meant for, if any.
func TestAlternativesNameTheIntendedOne(t *testing.T) {
	c := builtinCatalog(t)
	for _, tc := range []struct{ body, field, part string }{
		// Of a string or an array, the string.
		{`{"model":"klingai/kling-video-v1.6-pro-effects","image_url":"not a url","effect_scene":"hug"}`, "image_url", "absolute URL"},
		// Of a string or an array, the array.
		{`{"model":"klingai/kling-video-v1.6-pro-effects","image_url":["not a url"],"effect_scene":"hug"}`, "image_url[0]", "absolute URL"},
		// Neither.
		{`{"model":"klingai/kling-video-v1.6-pro-effects","image_url":5,"effect_scene":"hug"}`, "image_url", "must be a string (uri) or an array"},
		// Runway's character, by its type.
		{`{"model":"runway/act_two","character":{"type":"video"},"reference":{"type":"video","url":"https://a.example/r.mp4"}}`, "character.url", "is required"},
		{`{"model":"runway/act_two","character":{"type":"audio","url":"https://a.example/r.mp3"},"reference":{"type":"video","url":"https://a.example/r.mp4"}}`,
			"character", `an object with type "video", url or an object with type "image", url`},
	} {
		_, _, problems := c.Validate([]byte(tc.body))
		if len(problems) != 1 || problems[0].Field != tc.field || !strings.Contains(problems[0].Message, tc.part) {
			t.Errorf("%s: %v, want one problem with %s saying %q", tc.body, problems, tc.field, tc.part)
		}
	}
}

func TestMediaFields(t *testing.T) {
	c := builtinCatalog(t)
	for id, want := range map[string][]string{
		"gen3a_turbo":                             {"image_url image required", "tail_image_url image"},
		"klingai/kling-video-v1.6-pro-effects":    {"image_url image required"},
		"klingai/video-o1-reference-to-video":     {"elements[].frontal_image_url image", "elements[].reference_image_urls[] image", "image_list[] image"},
		"luma/ray-2":                              {"keyframes.frame0.url image", "keyframes.frame1.url image"},
		"runway/act_two":                          {"character.url image required", "reference.url image required"},
		"alibaba/wan2.2-vace-fun-a14b-inpainting": {"image_list[] image", "mask_video_url video", "video_url video required"},
		"klingai/avatar-pro":                      {"audio_url audio required", "image_url image required"},
		// A bare string (no format, no _url) that is a mask image.
		"kling-video/v1.5/pro/image-to-video": {"dynamic_masks[].mask image", "static_mask image"},
	} {
		m, ok := c.Lookup(id)
		if !ok {
			t.Errorf("%s not catalogued", id)
			continue
		}
		var got []string
		for _, md := range m.Media {
			s := md.Path + " " + string(md.Kind)
			if md.Required {
				s += " required"
			}
			got = append(got, s)
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: media %q, want %q among them", id, got, w)
			}
		}
	}
}

// Modes follow the media: gen3a_turbo needs an image, Kling master
// text-to-video takes text, Veo i2v an image, a video edit a video.
func TestModes(t *testing.T) {
	c := builtinCatalog(t)
	for id, want := range map[string][]Mode{
		"gen3a_turbo":                          {ImageToVideo},
		"klingai/v2-master-text-to-video":      {TextToVideo},
		"klingai/video-o1-video-to-video-edit": {VideoToVideo},
		"google/veo-3.1-i2v":                   {ImageToVideo},
		"x-ai/grok-imagine-video":              {TextToVideo, ImageToVideo},
	} {
		m, _ := c.Lookup(id)
		if m == nil || !slices.Equal(m.Modes, want) {
			t.Errorf("%s: modes %v, want %v", id, m.Modes, want)
		}
	}
}

// Priors and deadlines come from models.json, a model's own over its
// provider's, and PriorFor fills durations between and beyond the points.
func TestPriors(t *testing.T) {
	c := builtinCatalog(t)
	kling, _ := c.Lookup("klingai/v2-master-text-to-video")
	gen3, _ := c.Lookup("gen3a_turbo")
	veo, _ := c.Lookup("google/veo-3.1-t2v")
	s := time.Second
	for _, tc := range []struct {
		m    *Model
		d    int
		want time.Duration
	}{
		{gen3, 5, 25 * s}, {gen3, 10, 45 * s}, {gen3, 7, 33 * s},
		{kling, 5, 330 * s}, {kling, 10, 750 * s}, {kling, 15, 1125 * s}, {kling, 1, 66 * s},
		{veo, 8, 120 * s}, {veo, 4, 60 * s},
	} {
		if got := tc.m.PriorFor(tc.d); got != tc.want {
			t.Errorf("%s, %d s: prior %s, want %s", tc.m.ID, tc.d, got, tc.want)
		}
	}
	if kling.Deadline != 45*time.Minute || gen3.Deadline != 30*time.Minute {
		t.Errorf("deadlines: kling master %s, gen3a_turbo %s", kling.Deadline, gen3.Deadline)
	}
	if d := veo.Duration(map[string]any{}); d != 8 {
		t.Errorf("veo's default duration %d, want 8", d)
	}
	if d := kling.Duration(map[string]any{"duration": json.Number("10")}); d != 10 {
		t.Errorf("kling duration %d, want 10", d)
	}
}

// A catalogue that disagrees with itself does not load.
func TestParseRefusesInconsistentData(t *testing.T) {
	ref := `{"models":{"a/x":{"schema":{"type":"object","properties":{"model":{"type":"string","enum":["a/x"]}}}}}}`
	for _, tc := range []struct{ ref, meta, part string }{
		{ref, `{"providers":[]}`, "no provider"},
		{ref, `{"providers":[{"name":"A","prefixes":["a/"],"prior":{"5":60},"deadline":600},{"name":"B","ids":["a/x"],"prior":{"5":60},"deadline":600}]}`, "both A and B"},
		{ref, `{"providers":[{"name":"A","prefixes":["a/"],"prior":{"5":60},"deadline":600}],"models":{"a/y":{}}}`, `"a/y" has no schema`},
		{ref, `{"providers":[{"name":"A","prefixes":["a/"],"prior":{"5":600},"deadline":600}]}`, "not past"},
		{strings.Replace(ref, `["a/x"]`, `["a/z"]`, 1), `{"providers":[{"name":"A","prefixes":["a/"],"prior":{"5":60},"deadline":600}]}`, "does not name it"},
	} {
		if _, err := Parse([]byte(tc.ref), []byte(tc.meta)); err == nil || !strings.Contains(err.Error(), tc.part) {
			t.Errorf("%s: %v, want an error saying %q", tc.meta, err, tc.part)
		}
	}
}

func ExampleCatalog_Validate() {
	c, _ := Builtin()
	_, _, problems := c.Validate([]byte(`{"model":"klingai/v2-master-text-to-video","prompt":"a cat","duration":7}`))
	fmt.Println(problems)
	// Output: [{duration must be one of 5, 10}]
}

// PixVerse's prose rule: 1080p is refused with 8 s, not with 5 s, and
// only for PixVerse.
func TestProseRules(t *testing.T) {
	c := builtinCatalog(t)
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"model":"pixverse/v5/text-to-video","prompt":"a cat","resolution":"1080p","duration":8}`, false},
		{`{"model":"pixverse/v5.5/image-to-video","prompt":"a cat","image_url":"https://a.example/x.png","resolution":"1080p","duration":8.0}`, false},
		{`{"model":"pixverse/v5/text-to-video","prompt":"a cat","resolution":"1080p","duration":5}`, true},
		{`{"model":"pixverse/v5/text-to-video","prompt":"a cat","resolution":"720p","duration":8}`, true},
	} {
		_, _, problems := c.Validate([]byte(tc.body))
		if tc.ok != (len(problems) == 0) || !tc.ok && (len(problems) != 1 || problems[0].Field != "duration" || !strings.Contains(problems[0].Message, "1080p")) {
			t.Errorf("%s: %v, want ok %v (else one duration problem naming 1080p)", tc.body, problems, tc.ok)
		}
	}
}

// BenchmarkParse is what the first request that validates pays once per
// process (the catalogue is parsed on first use, not at init).
func BenchmarkParse(b *testing.B) {
	ref := readReference(b)
	for b.Loop() {
		if _, err := Parse(ref, modelsJSON); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate is one request's validation against its model.
func BenchmarkValidate(b *testing.B) {
	c, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"model":"klingai/v2-master-text-to-video","prompt":"a cat on a skateboard","duration":10,"aspect_ratio":"16:9","cfg_scale":0.5}`)
	for b.Loop() {
		if _, _, p := c.Validate(body); len(p) > 0 {
			b.Fatal(p)
		}
	}
}

// The built-in data holds together as a whole (Builtin builds each model
// only on first use, so this is where a broken model of it shows).
func TestBuiltinDataParsesWhole(t *testing.T) {
	if _, err := Parse(readReference(t), modelsJSON); err != nil {
		t.Fatal(err)
	}
}

// A lazily parsed catalogue lists every model at once but builds each on
// first use: a broken model fails its own lookups (Model says why) and
// leaves the others working; Parse refuses the same data outright.
func TestParseLazyBuildsOnFirstUse(t *testing.T) {
	ref := `{"models":{
		"a/x":{"schema":{"type":"object","properties":{"model":{"type":"string","enum":["a/x"]}}}},
		"b/y":{"schema":{"type":"object","properties":{"model":{"type":"string","enum":["b/y"]}}}}}}`
	md := `{"providers":[{"name":"A","prefixes":["a/"],"prior":{"5":60},"deadline":600}]}`
	c, err := ParseLazy([]byte(ref), []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.IDs(); !slices.Equal(got, []string{"a/x", "b/y"}) {
		t.Errorf("ids %v", got)
	}
	if m, ok := c.Lookup("a/x"); !ok || m.Provider != "A" {
		t.Errorf("a/x: %v %v", m, ok)
	}
	if _, ok := c.Lookup("b/y"); ok {
		t.Error("b/y has no provider, yet was found")
	}
	if _, err := c.Model("b/y"); err == nil || !strings.Contains(err.Error(), "no provider") {
		t.Errorf("b/y: %v, want an error saying it has no provider", err)
	}
	if _, err := c.Model("c/z"); !errorsAs[*UnknownModelError](err) {
		t.Errorf("c/z: %v, want an UnknownModelError", err)
	}
	if _, err := Parse([]byte(ref), []byte(md)); err == nil || !strings.Contains(err.Error(), "b/y") {
		t.Errorf("Parse: %v, want an error naming b/y", err)
	}
}

func errorsAs[T error](err error) bool {
	_, ok := errors.AsType[T](err)
	return ok
}

// EachMedia visits every media value of a body, nested in arrays and
// objects, with its own path and kind, and puts back what it is given.
func TestEachMedia(t *testing.T) {
	c := builtinCatalog(t)
	body := `{"model":"klingai/video-o1-reference-to-video","prompt":"p",
		"image_list":["https://a.example/1.png","https://a.example/2.png"],
		"elements":[{"frontal_image_url":"https://a.example/f.png","reference_image_urls":["https://a.example/r.png"]}]}`
	m, obj, problems := c.Validate([]byte(body))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var seen []string
	err := m.EachMedia(obj, func(path string, kind MediaKind, v string) (string, error) {
		seen = append(seen, path+" "+string(kind)+" "+v)
		return "x:" + path, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"elements[0].frontal_image_url image https://a.example/f.png",
		"elements[0].reference_image_urls[0] image https://a.example/r.png",
		"image_list[0] image https://a.example/1.png",
		"image_list[1] image https://a.example/2.png",
	}
	if slices.Sort(seen); !slices.Equal(seen, want) {
		t.Errorf("visited %q, want %q", seen, want)
	}
	got, _ := json.Marshal(obj)
	if w := `{"elements":[{"frontal_image_url":"x:elements[0].frontal_image_url","reference_image_urls":["x:elements[0].reference_image_urls[0]"]}],` +
		`"image_list":["x:image_list[0]","x:image_list[1]"],"model":"klingai/video-o1-reference-to-video","prompt":"p"}`; string(got) != w {
		t.Errorf("body after\n%s, want\n%s", got, w)
	}
	stop := errors.New("stop")
	if err := m.EachMedia(obj, func(string, MediaKind, string) (string, error) { return "", stop }); !errors.Is(err, stop) {
		t.Errorf("EachMedia: %v, want fn's error", err)
	}
}

// BenchmarkFirstValidate is what a process's first request pays with the
// lazily parsed catalogue: the catalogue's index and one model built,
// then the request validated.
func BenchmarkFirstValidate(b *testing.B) {
	body := []byte(`{"model":"klingai/v2-master-text-to-video","prompt":"a cat on a skateboard","duration":10,"aspect_ratio":"16:9","cfg_scale":0.5}`)
	for b.Loop() {
		ref, err := gunzip(referenceGzip)
		if err != nil {
			b.Fatal(err)
		}
		c, err := ParseLazy(ref, modelsJSON)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, p := c.Validate(body); len(p) > 0 {
			b.Fatal(p)
		}
	}
}

// A job's deadline is its model's unless an operator set one for every
// model; a model the catalogue does not hold gets gen3a_turbo's.
func TestJobDeadline(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range c.IDs() {
		m, _ := c.Lookup(id)
		if got := JobDeadline(id, 0); got != m.Deadline {
			t.Errorf("%s: JobDeadline = %s, want its catalogued %s", id, got, m.Deadline)
		}
		if got := JobDeadline(id, time.Hour); got != time.Hour {
			t.Errorf("%s: JobDeadline with an override of 1h = %s", id, got)
		}
	}
	for model, want := range map[string]time.Duration{
		"gen3a_turbo": 30 * time.Minute, "klingai/v2.1-master-text-to-video": 45 * time.Minute,
		"google/veo-3.1-t2v-fast": 30 * time.Minute, "no-such-model": DefaultDeadline, "": DefaultDeadline,
	} {
		if got := JobDeadline(model, 0); got != want {
			t.Errorf("JobDeadline(%q, 0) = %s, want %s", model, got, want)
		}
	}
}

// TimingOf, which reads models.json alone, answers what the catalogue's
// models hold, for every one of them.
func TestTimingAgreesWithTheCatalogue(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range c.IDs() {
		m, _ := c.Lookup(id)
		tm, ok := TimingOf(id)
		if !ok || tm.Provider != m.Provider || !maps.Equal(tm.Prior, m.Prior) || tm.Deadline != m.Deadline {
			t.Errorf("%s: TimingOf = %+v, %v; the catalogue has %s %v %s", id, tm, ok, m.Provider, m.Prior, m.Deadline)
		}
		for d := 1; d <= 20; d++ {
			if tm.PriorFor(d) != m.PriorFor(d) {
				t.Errorf("%s: PriorFor(%d) = %s, the model's %s", id, d, tm.PriorFor(d), m.PriorFor(d))
			}
		}
	}
	if _, ok := TimingOf("no-such-model"); ok {
		t.Error("TimingOf answered for a model no provider names")
	}
}

// readReference is reference.json, the data the embedded gzip is made of.
func readReference(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("reference.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The embedded reference is reference.json's: run with -update after
// editing reference.json to rewrite reference.json.gz.
func TestReferenceGzip(t *testing.T) {
	want := readReference(t)
	got, err := gunzip(referenceGzip)
	if err == nil && bytes.Equal(got, want) {
		return
	}
	// -update is doc_test.go's flag (the external test package's, so
	// named here by lookup): one flag rewrites every generated file.
	if f := flag.Lookup("update"); f == nil || f.Value.String() != "true" {
		t.Fatalf("reference.json.gz is not reference.json (%v); run go test ./internal/catalog -run TestReferenceGzip -update", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("reference.json.gz", buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Legacy "ratio" stands for aspect_ratio only in a model that has the one
// and not the other.
func TestRatioAlias(t *testing.T) {
	c := builtinCatalog(t)
	for id, want := range map[string]bool{
		"gen3a_turbo":       true,
		"runway/gen4_turbo": true,
		"kling-video/v1.6/standard/text-to-video": false, // ratio and aspect_ratio both its own
		"minimax/h3":                       false,
		"runway-gen3/turbo/image-to-video": false,
		"klingai/v2-master-image-to-video": false, // neither
	} {
		m, ok := c.Lookup(id)
		if !ok {
			t.Errorf("%s not catalogued", id)
			continue
		}
		if got := m.RatioAlias(); got != want {
			t.Errorf("%s: RatioAlias %v, want %v", id, got, want)
		}
	}
}
