package job_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/catalog/catalogtest"
	"github.com/vidgen/vidgen/internal/job"
)

// For one model of every provider: a valid request is accepted and held
// as the body sent, which is what it encodes to (the upstream's body and
// the record's), decodes back from, and hashes by; its Duration is the
// catalogue's.
func TestParseRequestEveryProvider(t *testing.T) {
	for _, m := range append(catalogtest.ByProvider(t, "runway/gen4_turbo"), gen3aTurbo(t)) {
		t.Run(m.ID, func(t *testing.T) {
			sent := catalogtest.Body(m, "https://media.example.com/")
			raw, _ := json.Marshal(sent)
			req, err := job.ParseRequest(raw, job.ParseOptions{})
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if req.Model != m.ID || req.Duration != m.Duration(sent) || req.Duration <= 0 {
				t.Errorf("model %q duration %d, want %q %d", req.Model, req.Duration, m.ID, m.Duration(sent))
			}
			enc, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			want := maps.Clone(sent)
			if m.ID == job.Model {
				// gen3a_turbo's record holds the defaults explicitly.
				want["aspect_ratio"], want["duration"] = job.DefaultAspectRatio, json.Number("5")
			}
			if got := catalogtest.Decode(enc); !reflect.DeepEqual(got, want) {
				t.Errorf("encodes as\n%s, want the body sent\n%s", enc, raw)
			}
			var back job.Request
			if err := json.Unmarshal(enc, &back); err != nil || !reflect.DeepEqual(back, req) {
				t.Errorf("decodes back as %+v (%v), want %+v", back, err, req)
			}
			if job.HashRequest(back) != job.HashRequest(req) {
				t.Error("hash differs after a round trip")
			}
			var paths []string
			for _, md := range req.Media() {
				paths = append(paths, md.Path)
			}
			for _, md := range m.Media {
				if md.Required && !slices.ContainsFunc(paths, func(p string) bool { return samePath(md.Path, p) }) {
					t.Errorf("media %v, want the required %s among them", paths, md.Path)
				}
			}
		})
	}
}

func gen3aTurbo(t *testing.T) *catalog.Model {
	m, ok := catalogtest.Builtin(t).Lookup(job.Model)
	if !ok {
		t.Fatal("gen3a_turbo is not catalogued")
	}
	return m
}

// samePath reports whether a value's path (image_urls[0]) is at a media
// field's (image_urls[]).
func samePath(field, path string) bool {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] == '[' {
			j := strings.IndexByte(path[i:], ']')
			b.WriteString("[]")
			i += j
			continue
		}
		b.WriteByte(path[i])
	}
	return b.String() == field
}

// For one model of every provider, a request with an unknown member, every
// media value an http URL, and a duration no model allows is refused with
// each of them named, at once.
func TestParseRequestEveryProviderNamesEveryBadField(t *testing.T) {
	for _, m := range catalogtest.ByProvider(t) {
		t.Run(m.Provider, func(t *testing.T) {
			body := catalogtest.Body(m, "http://media.example.com/")
			body["colour"] = "red"
			want := []string{"colour"}
			if m.Schema.Properties["duration"] != nil {
				body["duration"] = 7777
				want = append(want, "duration")
			}
			_ = m.EachMedia(body, func(path string, _ catalog.MediaKind, v string) (string, error) {
				want = append(want, path)
				return v, nil
			})
			raw, _ := json.Marshal(body)
			_, err := job.ParseRequest(raw, job.ParseOptions{})
			var ve *job.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%s: %v, want a *job.ValidationError", raw, err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: bad fields %v, want %v (%v)", raw, got, want, err)
			}
		})
	}
}

// Media values of every kind get the data-URI checks gen3a_turbo's images
// always had: base64 of a type of their kind, within the size limit.
func TestParseRequestMediaOfEveryKind(t *testing.T) {
	uri := func(typ string, n int) string { return "data:" + typ + ";base64," + strings.Repeat("AAAA", n/3) }
	for _, tc := range []struct {
		name, body string
		bad        map[string]string // field → part of its message; nil: valid
	}{
		{"video and audio data URIs", `{"model":"klingai/avatar-pro","image_url":"` + uri("image/png", 30) + `","audio_url":"` + uri("audio/mpeg", 30) + `"}`, nil},
		{"audio given as an image", `{"model":"klingai/avatar-pro","image_url":"` + uri("image/png", 30) + `","audio_url":"` + uri("image/png", 30) + `"}`,
			map[string]string{"audio_url": `data URI type "image/png" is not mpeg, mp3, wav, x-wav, mp4, aac, ogg or webm`}},
		{"video too large", `{"model":"alibaba/wan2.2-vace-fun-a14b-inpainting","prompt":"p","video_url":"` + uri("video/mp4", job.MaxImageBytes+3) + `"}`,
			map[string]string{"video_url": "video is larger than"}},
		{"images in an array and objects", `{"model":"klingai/video-o1-reference-to-video","prompt":"p","image_list":["https://a.example/1.png","data:image/gif;base64,R0lG"],` +
			`"elements":[{"frontal_image_url":"http://a.example/f.png","reference_image_urls":["data:image/png,raw"]}]}`,
			map[string]string{"image_list[1]": `data URI type "image/gif"`, "elements[0].frontal_image_url": "https", "elements[0].reference_image_urls[0]": "data:image/{png,jpeg,webp};base64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := job.ParseRequest([]byte(tc.body), job.ParseOptions{})
			if tc.bad == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ve *job.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != len(tc.bad) {
				t.Fatalf("%v, want problems with %v", err, tc.bad)
			}
			for _, f := range ve.Fields {
				if !strings.Contains(f.Message, tc.bad[f.Field]) || tc.bad[f.Field] == "" {
					t.Errorf("%s: %q, want it to say %q", f.Field, f.Message, tc.bad[f.Field])
				}
			}
		})
	}
}

// Luma's keyframes are checked as its schema says (an image, a generation
// or null), not passed upstream whatever they hold: each bad one is
// refused naming the keyframe or what in it is wrong, and only that.
func TestParseRequestLumaKeyframes(t *testing.T) {
	body := func(keyframes string) []byte {
		return []byte(`{"model":"luma/ray-2","prompt":"a","keyframes":` + keyframes + `}`)
	}
	for _, ok := range []string{
		`{"frame0":{"type":"image","url":"https://a.example/0.png"},"frame1":{"type":"generation","id":"0f8fad5b-d9cb-469f-a165-70867728950e"}}`,
		`{"frame0":null,"frame1":{"type":"image","url":"data:image/png;base64,AAAA"}}`,
	} {
		if _, err := job.ParseRequest(body(ok), job.ParseOptions{}); err != nil {
			t.Errorf("keyframes %s: %v", ok, err)
		}
	}
	for keyframes, want := range map[string]map[string]string{
		`{"frame0":42}`:                                                        {"keyframes.frame0": "must be an object"},
		`{"frame0":{"type":"image"}}`:                                          {"keyframes.frame0.url": "is required"},
		`{"frame0":{"type":"generation","id":"nope"}}`:                         {"keyframes.frame0.id": "must be a UUID"},
		`{"frame0":"https://a.example/0.png"}`:                                 {"keyframes.frame0": "must be an object"},
		`{"frame0":{"type":"image","url":"https://a.example/0.png","junk":1}}`: {"keyframes.frame0.junk": "unknown field"},
		`{"frame0":{"type":"image","url":"not a url","junk":1}}`:               {"keyframes.frame0.url": "absolute URL", "keyframes.frame0.junk": "unknown field"},
		`{"frame0":{"type":"image","url":"http://a.example/0.png"}}`:           {"keyframes.frame0.url": "https"},
	} {
		_, err := job.ParseRequest(body(keyframes), job.ParseOptions{})
		ve, ok := errors.AsType[*job.ValidationError](err)
		if !ok || len(ve.Fields) != len(want) {
			t.Errorf("keyframes %s: %v, want problems with %v", keyframes, err, want)
			continue
		}
		for _, f := range ve.Fields {
			if want[f.Field] == "" || !strings.Contains(f.Message, want[f.Field]) {
				t.Errorf("keyframes %s: %s: %q, want %v", keyframes, f.Field, f.Message, want)
			}
		}
	}
}

// A model's request keeps what the caller sent, defaults left to the
// upstream, and gen3a_turbo's keeps its explicit defaults; on the legacy
// route ratio stands for aspect_ratio in any model that has the latter
// and no ratio of its own.
func TestParseRequestDefaultsAndRatio(t *testing.T) {
	kling := `{"model":"klingai/v2-master-text-to-video","prompt":"a cat"}`
	req, err := job.ParseRequest([]byte(kling), job.ParseOptions{AllowRatio: true})
	if err != nil {
		t.Fatal(err)
	}
	if enc, _ := json.Marshal(req); string(enc) != kling || req.Duration != 5 {
		t.Errorf("Kling request %s, duration %d; want %s, 5", enc, req.Duration, kling)
	}
	gen4 := `{"model":"runway/gen4_turbo","prompt":"a cat","image_url":"https://a.example/x.png","ratio":"4:3"}`
	if req, err := job.ParseRequest([]byte(gen4), job.ParseOptions{AllowRatio: true}); err != nil || req.Body["aspect_ratio"] != "4:3" || req.Body["ratio"] != nil {
		t.Errorf("gen4_turbo's ratio on the legacy route: %v, %v; want it as aspect_ratio", req.Body, err)
	}
	_, err = job.ParseRequest([]byte(strings.Replace(gen4, "4:3", "5:4", 1)), job.ParseOptions{AllowRatio: true})
	if ve, ok := errors.AsType[*job.ValidationError](err); !ok || len(ve.Fields) != 1 || ve.Fields[0].Field != "ratio" {
		t.Errorf("a bad ratio of gen4_turbo: %v, want it named as sent", err)
	}
	if _, err := job.ParseRequest([]byte(gen4), job.ParseOptions{}); err == nil {
		t.Error("ratio accepted off the legacy route")
	}
	_, err = job.ParseRequest([]byte(`{"model":"klingai/v2-master-image-to-video","image_url":"https://a.example/x.png","ratio":"16:9"}`), job.ParseOptions{AllowRatio: true})
	if ve, ok := errors.AsType[*job.ValidationError](err); !ok || len(ve.Fields) != 1 || ve.Fields[0].Field != "ratio" {
		t.Errorf("ratio for a model without aspect_ratio: %v, want it refused as unknown", err)
	}
}

// A record of a model no longer catalogued still decodes, as its body.
func TestRequestOfAnUncataloguedModelDecodes(t *testing.T) {
	var r job.Request
	if err := json.Unmarshal([]byte(`{"model":"retired/v1","prompt":"p","duration":"8"}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.Model != "retired/v1" || r.Duration != 8 || r.Body["prompt"] != "p" || len(r.Media()) != 0 {
		t.Errorf("decoded %+v", r)
	}
}

// MapMedia changes a copy: the request it was called on keeps its values.
func TestMapMediaLeavesTheRequest(t *testing.T) {
	req, err := job.ParseRequest([]byte(`{"model":"klingai/video-o1-reference-to-video","prompt":"p","image_list":["https://a.example/1.png"]}`), job.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := req.MapMedia(func(m job.Media) (string, error) { return "blob:x/" + m.Path, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Media()[0].Value; got != "blob:x/image_list[0]" {
		t.Errorf("mapped value %q", got)
	}
	if got := req.Media()[0].Value; got != "https://a.example/1.png" {
		t.Errorf("the original now holds %q", got)
	}
}

// Submission.Hash of a model's request covers its callback, and of a
// gen3a_turbo request is what it always was.
func TestSubmissionHashOfModels(t *testing.T) {
	req, err := job.ParseRequest([]byte(`{"model":"klingai/v2-master-text-to-video","prompt":"a cat"}`), job.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain := job.Submission{Request: req}
	hooked := job.Submission{Request: req, CallbackURL: "https://hooks.example.com/v"}
	if plain.Hash() != job.HashRequest(req) || hooked.Hash() == plain.Hash() {
		t.Error("hash ignores the callback or differs from HashRequest without one")
	}
	if _, ok := req.Body["callback_url"]; ok {
		t.Error("Hash changed the request's body")
	}
	g := job.Submission{Request: job.Request{Model: job.Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5}, CallbackURL: "https://h.example.com/"}
	// What Hash hashed before other models existed (claims in the
	// stores hold it).
	old := sha256.Sum256([]byte(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","aspect_ratio":"16:9","duration":5,"callback_url":"https://h.example.com/"}`))
	if got := g.Hash(); got != hex.EncodeToString(old[:]) {
		t.Errorf("gen3a_turbo submission hash %s, want %x as before", got, old)
	}
}

// An empty model is an unknown one, not gen3a_turbo's.
func TestParseRequestEmptyModel(t *testing.T) {
	_, err := job.ParseRequest([]byte(`{"model":"","image_url":"https://example.com/a.jpg"}`), job.ParseOptions{})
	if ve, ok := errors.AsType[*job.ValidationError](err); !ok || len(ve.Fields) != 1 || ve.Fields[0].Field != "model" ||
		!strings.Contains(ve.Fields[0].Message, `unknown model ""; supported models: `) {
		t.Errorf("%v, want the model named unknown", err)
	}
}

// vidgen's own bounds on a model's request, where its schema sets none: a
// prompt-like string of more than 10,000 characters, a number of more
// than 38 significant digits or beyond DynamoDB's range, and a request
// too large for a DynamoDB item are each a field error naming the field.
func TestParseRequestOwnBounds(t *testing.T) {
	c := catalogtest.Builtin(t)
	var strModel, numModel *catalog.Model
	var strField, numField string
	for _, id := range c.IDs() {
		m, _ := c.Lookup(id)
		if id == job.Model {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(m.Schema.Properties)) {
			p := m.Schema.Properties[name]
			switch {
			case strModel == nil && (name == "prompt" || name == "negative_prompt") && len(p.Enum) == 0 && (p.MaxLength == nil || *p.MaxLength > job.MaxStringRunes):
				strModel, strField = m, name
			case numModel == nil && slices.Equal(p.Types, []string{"number"}) && len(p.Enum) == 0:
				numModel, numField = m, name
			}
		}
	}
	if strModel == nil || numModel == nil {
		t.Fatalf("no model with an unbounded prompt (%v) or a number field (%v)", strModel, numModel)
	}
	refused := func(m *catalog.Model, field string, v any, want string) {
		t.Helper()
		body := catalogtest.Body(m, "https://example.com/")
		body[field] = v
		raw, _ := json.Marshal(body)
		_, err := job.ParseRequest(raw, job.ParseOptions{})
		var ve *job.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("%s with %s=%.40v: %v, want a field error", m.ID, field, v, err)
		}
		for _, f := range ve.Fields {
			if f.Field == field && strings.Contains(f.Message, want) {
				return
			}
		}
		t.Errorf("%s with %s=%.40v: %v, want %s %q", m.ID, field, v, err, field, want)
	}
	accepted := func(m *catalog.Model, field string, v any) {
		t.Helper()
		body := catalogtest.Body(m, "https://example.com/")
		body[field] = v
		raw, _ := json.Marshal(body)
		if _, err := job.ParseRequest(raw, job.ParseOptions{}); err != nil {
			t.Errorf("%s with %s=%.40v: %v", m.ID, field, v, err)
		}
	}
	accepted(strModel, strField, strings.Repeat("é", job.MaxStringRunes))
	refused(strModel, strField, strings.Repeat("é", job.MaxStringRunes+1), "at most 10000 characters")
	refused(strModel, strField, strings.Repeat("x", 900<<10), "at most 10000 characters")
	// Within any sane minimum and maximum, so the schema takes them.
	accepted(numModel, numField, json.Number("0.10000000000000000000000000000000000001")) // 38 digits
	refused(numModel, numField, json.Number("0.100000000000000000000000000000000000001"), "at most 38 significant digits")
	refused(numModel, numField, json.Number("1e-131"), "magnitude")
	accepted(numModel, numField, json.Number("0"))
}

// A request each of whose values is within bounds can still be too large
// for the record: 40 image URLs of 2,000 characters, where the schema sets
// no maximum count, are refused naming the body; 10 are accepted.
func TestParseRequestBodySize(t *testing.T) {
	m, err := catalogtest.Builtin(t).Model("alibaba/wan2.2-vace-fun-a14b-inpainting")
	if err != nil {
		t.Fatal(err)
	}
	body := func(n int) []byte {
		b := catalogtest.Body(m, "https://example.com/")
		var urls []any
		for i := range n {
			urls = append(urls, fmt.Sprintf("https://example.com/%04d/%s.png", i, strings.Repeat("x", 1970)))
		}
		b["image_list"] = urls
		raw, _ := json.Marshal(b)
		return raw
	}
	if _, err := job.ParseRequest(body(10), job.ParseOptions{}); err != nil {
		t.Fatalf("10 URLs: %v", err)
	}
	_, err = job.ParseRequest(body(40), job.ParseOptions{})
	var ve *job.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "body" || !strings.Contains(ve.Fields[0].Message, "at most 65536 bytes") {
		t.Errorf("40 URLs: %v, want body refused as larger than 64 KiB", err)
	}
	// The size is told with the body's other problems, not after them.
	tooLarge := bytes.Replace(body(40), []byte(`{`), []byte(`{"bogus":1,`), 1)
	_, err = job.ParseRequest(tooLarge, job.ParseOptions{})
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Field != "body" || ve.Fields[1] != (job.FieldError{Field: "bogus", Message: "unknown field"}) {
		t.Errorf("40 URLs and an unknown field: %v, want both refused", err)
	}
}

// A member given twice is named under its own path with every other
// problem of the body, whose duplicated members are checked with their
// last values (the upstream's reading): at the top, inside a member, and
// in vidgen's own fields.
func TestParseSubmissionDuplicates(t *testing.T) {
	opts := job.ParseOptions{CheckCallback: func(string) error { return nil }, Direct: true}
	for _, tc := range []struct {
		body string
		want []job.FieldError
	}{
		{`{"model":"klingai/v2-master-text-to-video","prompt":"a","prompt":"b","duration":7,"bogus":1}`, []job.FieldError{
			{Field: "bogus", Message: "unknown field"},
			{Field: "duration", Message: "must be one of 5, 10"},
			{Field: "prompt", Message: "appears more than once"}}},
		{`{"model":"klingai/v2-master-image-to-video","image_url":"https://a.example/x.png","image_url":"http://a.example/y.png"}`, []job.FieldError{
			{Field: "image_url", Message: "appears more than once"},
			{Field: "image_url", Message: `URL scheme must be https, not "http"`}}},
		{`{"model":"runway/act_two","character":{"type":"image","url":"https://a.example/x.png","url":"http://a.example/y.png"},"reference":{"type":"video","url":"https://a.example/r.mp4"}}`, []job.FieldError{
			{Field: "character.url", Message: "appears more than once"},
			{Field: "character.url", Message: `URL scheme must be https, not "http"`}}},
		{`{"model":"klingai/v2-master-text-to-video","prompt":"a","callback_url":"https://a.example/1","callback_url":"https://a.example/2","batch":{"id":"b","id":"c","item":1}}`, []job.FieldError{
			{Field: "batch.id", Message: "appears more than once"},
			{Field: "callback_url", Message: "appears more than once"}}},
	} {
		_, err := job.ParseSubmission([]byte(tc.body), opts)
		ve, ok := errors.AsType[*job.ValidationError](err)
		if !ok || !slices.Equal(ve.Fields, tc.want) {
			t.Errorf("%s: %v, want %v", tc.body, err, tc.want)
		}
	}
}
