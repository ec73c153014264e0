package vidgen_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/catalog"
)

// decodeJSON decodes a JSON value with numbers as json.Number, to compare
// bodies member by member.
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// Any model's body survives Request: decoded and encoded again, it is the
// body it was, member for member (typed fields, Params, nested objects,
// explicit nulls, zero values, a duration given as a string), and the
// catalogue accepts what it accepted.
func TestRequestRoundTrip(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body string
		want       vidgen.Request // its typed fields
		valid      bool           // the catalogue accepts it
	}{
		{"gen3a_turbo", `{"model":"gen3a_turbo","prompt":"a calm sea","image_url":"https://example.com/a.jpg","tail_image_url":"https://example.com/b.jpg","aspect_ratio":"9:16","duration":10,"seed":42}`,
			vidgen.Request{Model: "gen3a_turbo", Prompt: "a calm sea", ImageURL: "https://example.com/a.jpg", TailImageURL: "https://example.com/b.jpg", AspectRatio: "9:16", Duration: 10, Seed: ptr(int64(42))}, true},
		{"kling with camera control", `{"model":"klingai/v2-master-text-to-video","prompt":"a fox","duration":10,"negative_prompt":"blur","cfg_scale":0.5,` +
			`"advanced_camera_control":{"movement_type":"zoom","movement_value":-3}}`,
			vidgen.Request{Model: "klingai/v2-master-text-to-video", Prompt: "a fox", Duration: 10}, true},
		{"a duration as a string, a null, a zero", `{"model":"x","duration":"5","seed":null,"prompt":"","aspect_ratio":7}`,
			vidgen.Request{Model: "x"}, false},
		{"a seed beyond int64", `{"model":"x","seed":18446744073709551615}`, vidgen.Request{Model: "x"}, false},
		{"an empty model", `{"model":""}`, vidgen.Request{}, false},
		{"a null model and a prompt", `{"model":null,"prompt":"p"}`, vidgen.Request{Prompt: "p"}, false},
		{"an empty model, a string duration", `{"model":"","duration":"5","image_url":"https://example.com/a.jpg"}`,
			vidgen.Request{ImageURL: "https://example.com/a.jpg"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r vidgen.Request
			if err := json.Unmarshal([]byte(tc.body), &r); err != nil {
				t.Fatal(err)
			}
			typed := r
			typed.Params = nil
			if !reflect.DeepEqual(typed, tc.want) {
				t.Errorf("typed fields %+v, want %+v", typed, tc.want)
			}
			out, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := decodeJSON(t, out), decodeJSON(t, []byte(tc.body)); !reflect.DeepEqual(got, want) {
				t.Errorf("encoded again\n%s\nwas\n%s", out, tc.body)
			}
			if _, _, problems := c.Validate(out); (len(problems) == 0) != tc.valid {
				t.Errorf("the catalogue's problems with %s: %v", out, problems)
			}
		})
	}
}

// A Request built in Go with Params is one flat object, the typed fields
// first; a field set twice is an error, not a silent choice.
func TestRequestParams(t *testing.T) {
	r := vidgen.Request{Model: "klingai/v2-master-text-to-video", Prompt: "a fox", Duration: 5,
		Params: map[string]any{"negative_prompt": "blur", "advanced_camera_control": map[string]any{"movement_type": "pan", "movement_value": 2}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"model":"klingai/v2-master-text-to-video","prompt":"a fox","duration":5,` +
		`"advanced_camera_control":{"movement_type":"pan","movement_value":2},"negative_prompt":"blur"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, problems := c.Validate(b); len(problems) > 0 {
		t.Errorf("the catalogue refuses %s: %v", b, problems)
	}
	// gen3a_turbo's JSON is what it was before Params.
	seed := int64(7)
	b, err = json.Marshal(vidgen.Request{Model: "gen3a_turbo", ImageURL: "https://example.com/a.jpg?x=1&y=2", Seed: &seed, CallbackURL: "https://hooks.example.com/h"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg?x=1\u0026y=2","seed":7,"callback_url":"https://hooks.example.com/h"}`; string(b) != want {
		t.Errorf("gen3a_turbo: %s\nwant %s", b, want)
	}
	_, err = json.Marshal(vidgen.Request{Model: "m", Duration: 5, Params: map[string]any{"duration": "5"}})
	if err == nil || !strings.Contains(err.Error(), `"duration"`) {
		t.Errorf("duration twice: %v", err)
	}
	if _, err := json.Marshal(vidgen.Request{Model: "m", Params: map[string]any{"duration": "5"}}); err != nil {
		t.Errorf("duration in Params only: %v", err)
	}
	if _, err := json.Marshal(vidgen.Request{Model: "m", Params: map[string]any{"bad": func() {}}}); err == nil {
		t.Error("a value JSON cannot hold: no error")
	}
}

func ptr[T any](v T) *T { return &v }
