package job

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func pngURI(n int) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(make([]byte, n))
}

func TestParseRequest(t *testing.T) {
	const img = `"image_url":"https://example.com/a.jpg"`
	seed := int64(4294967295)
	tests := []struct {
		name   string
		body   string
		opts   ParseOptions
		want   Request
		fields []string // bad fields, in order; nil means valid
	}{
		{name: "minimal gets defaults", body: `{"model":"gen3a_turbo",` + img + `}`,
			want: Request{Model: Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5}},
		{name: "everything", body: `{"model":"gen3a_turbo",` + img + `,"tail_image_url":"` + pngURI(3) + `","prompt":"a dragon","aspect_ratio":"9:16","duration":10,"seed":4294967295}`,
			want: Request{Model: Model, ImageURL: "https://example.com/a.jpg", TailImageURL: pngURI(3), Prompt: "a dragon", AspectRatio: "9:16", Duration: 10, Seed: &seed}},
		{name: "integral float duration", body: `{"model":"gen3a_turbo",` + img + `,"duration":10.0}`,
			want: Request{Model: Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 10}},
		{name: "nulls take defaults", body: `{"model":"gen3a_turbo",` + img + `,"prompt":null,"duration":null}`,
			want: Request{Model: Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5}},
		{name: "ratio alias on legacy route", body: `{"model":"gen3a_turbo",` + img + `,"ratio":"9:16"}`, opts: ParseOptions{AllowRatio: true},
			want: Request{Model: Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "9:16", Duration: 5}},
		{name: "ratio unknown on new route", body: `{"model":"gen3a_turbo",` + img + `,"ratio":"9:16"}`, fields: []string{"ratio"}},
		{name: "ratio and aspect_ratio", body: `{"model":"gen3a_turbo",` + img + `,"ratio":"9:16","aspect_ratio":"16:9"}`, opts: ParseOptions{AllowRatio: true}, fields: []string{"ratio"}},
		{name: "every field wrong at once",
			body:   `{"model":"gen3a_turbo","image_url":"http://x.com/a.png","tail_image_url":"javascript:alert(1)","prompt":"` + strings.Repeat("é", 1001) + `","aspect_ratio":"4:3","duration":7,"seed":-1,"extra":true}`,
			fields: []string{"aspect_ratio", "duration", "extra", "image_url", "prompt", "seed", "tail_image_url"}},
		// A model the catalogue does not have has no schema to judge the
		// other fields by: the one error names the supported models.
		{name: "unknown model", body: `{"model":"gen4","image_url":"http://x.com/a.png","duration":7,"extra":true}`, fields: []string{"model"}},
		{name: "unknown null field", body: `{"model":"gen3a_turbo",` + img + `,"extra":null}`, fields: []string{"extra"}},
		{name: "bad ratio named as sent", body: `{"model":"gen3a_turbo",` + img + `,"ratio":"1:1"}`, opts: ParseOptions{AllowRatio: true}, fields: []string{"ratio"}},
		{name: "null ratio with aspect_ratio", body: `{"model":"gen3a_turbo",` + img + `,"ratio":null,"aspect_ratio":"9:16"}`, opts: ParseOptions{AllowRatio: true},
			want: Request{Model: Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "9:16", Duration: 5}},
		{name: "missing required", body: `{}`, fields: []string{"image_url", "model"}},
		{name: "null required", body: `{"model":null,"image_url":null}`, fields: []string{"image_url", "model"}},
		{name: "1000 runes is fine", body: `{"model":"gen3a_turbo",` + img + `,"prompt":"` + strings.Repeat("é", 1000) + `"}`,
			want: Request{Model: Model, ImageURL: "https://example.com/a.jpg", Prompt: strings.Repeat("é", 1000), AspectRatio: "16:9", Duration: 5}},
		{name: "wrong types", body: `{"model":1,"image_url":true,"duration":"5","seed":1.5,"prompt":{}}`, fields: []string{"duration", "image_url", "model", "prompt", "seed"}},
		{name: "seed too big", body: `{"model":"gen3a_turbo",` + img + `,"seed":4294967296}`, fields: []string{"seed"}},
		{name: "huge number", body: `{"model":"gen3a_turbo",` + img + `,"seed":1e400}`, fields: []string{"seed"}},
		{name: "non-image data URI", body: `{"model":"gen3a_turbo","image_url":"data:text/html;base64,PGgxPg=="}`, fields: []string{"image_url"}},
		{name: "bad base64", body: `{"model":"gen3a_turbo","image_url":"data:image/png;base64,@@@"}`, fields: []string{"image_url"}},
		{name: "data URI without base64", body: `{"model":"gen3a_turbo","image_url":"data:image/png,abc"}`, fields: []string{"image_url"}},
		{name: "file URL", body: `{"model":"gen3a_turbo","image_url":"file:///etc/passwd"}`, fields: []string{"image_url"}},
		{name: "credentials in URL", body: `{"model":"gen3a_turbo","image_url":"https://u:p@example.com/a.png"}`, fields: []string{"image_url"}},
		{name: "relative URL", body: `{"model":"gen3a_turbo","image_url":"/a.png"}`, fields: []string{"image_url"}},
		{name: "long URL", body: `{"model":"gen3a_turbo","image_url":"https://e.com/` + strings.Repeat("a", MaxURLLength) + `"}`, fields: []string{"image_url"}},
		{name: "not an object", body: `[1,2]`, fields: []string{"body"}},
		{name: "malformed", body: `{"model":`, fields: []string{"body"}},
		{name: "trailing data", body: `{"model":"gen3a_turbo",` + img + `} {}`, fields: []string{"body"}},
		{name: "duplicate key", body: `{"model":"gen3a_turbo",` + img + `,` + img + `}`, fields: []string{"image_url"}},
		// A duplicate is named beside every other problem; its last value,
		// the one the upstream would read, is checked too.
		{name: "duplicate key and other problems", body: `{"model":"gen3a_turbo",` + img + `,"prompt":"a","prompt":5,"prompt":"c","duration":7,"bogus":1}`,
			fields: []string{"bogus", "duration", "prompt"}},
		{name: "duplicate key, last value checked", body: `{"model":"gen3a_turbo",` + img + `,"prompt":"a","prompt":5}`,
			fields: []string{"prompt", "prompt"}},
		{name: "invalid UTF-8", body: "{\"model\":\"gen3a_turbo\",\"prompt\":\"\xff\"}", fields: []string{"body"}},
		{name: "empty body", body: ``, fields: []string{"body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tt.body), tt.opts)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("ParseRequest: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			var names []string
			for _, f := range ve.Fields {
				if f.Message == "" {
					t.Errorf("field %s has no message", f.Field)
				}
				names = append(names, f.Field)
			}
			if !reflect.DeepEqual(names, tt.fields) {
				t.Fatalf("bad fields = %v, want %v (%v)", names, tt.fields, err)
			}
		})
	}
}

func TestParseRequestImageSizeBound(t *testing.T) {
	ok := `{"model":"gen3a_turbo","image_url":"` + pngURI(MaxImageBytes) + `"}`
	if _, err := ParseRequest([]byte(ok), ParseOptions{}); err != nil {
		t.Fatalf("image of exactly the limit: %v", err)
	}
	big := `{"model":"gen3a_turbo","image_url":"` + pngURI(MaxImageBytes+1) + `"}`
	if _, err := ParseRequest([]byte(big), ParseOptions{}); err == nil {
		t.Fatal("image over the limit accepted")
	}
}
