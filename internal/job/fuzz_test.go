package job_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vidgen/vidgen/internal/job"
)

// FuzzParseRequest checks that ParseRequest never panics, that every
// request it accepts obeys the documented rules and survives a round trip
// through json.Marshal, and that every refusal is a *ValidationError naming
// each bad field. Committed hostile inputs live in
// testdata/fuzz/FuzzParseRequest; `go test` runs them with the seeds below.
func FuzzParseRequest(f *testing.F) {
	const img = `"image_url":"https://example.com/a.jpg"`
	png := "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n"))
	for _, seed := range []struct {
		body       string
		allowRatio bool
	}{
		{`{"model":"gen3a_turbo",` + img + `}`, false},
		{`{"model":"gen3a_turbo",` + img + `,"prompt":"a dragon","aspect_ratio":"9:16","duration":10,"seed":4294967295}`, false},
		{`{"model":"gen3a_turbo","image_url":"` + png + `","tail_image_url":"data:image/WEBP;base64,UklGRg=="}`, false},
		{`{"model":"gen3a_turbo",` + img + `,"ratio":"9:16"}`, true},
		{`{"model":"gen3a_turbo",` + img + `,"ratio":"9:16","aspect_ratio":"16:9"}`, true},
		{`{"model":"gen3a_turbo",` + img + `,"ratio":null,"aspect_ratio":"9:16"}`, true},
		{`{"model":"gen3a_turbo",` + img + `,"duration":10.0,"seed":0}`, false},
		{`{"model":"gen3a_turbo",` + img + `,"duration":5.5,"seed":-1}`, false},
		{`{"model":"gen3a_turbo",` + img + `,"seed":1e400,"duration":"5"}`, false},
		{`{"model":"gen3a_turbo",` + img + `,"prompt":"` + strings.Repeat("é", job.MaxPromptRunes) + `"}`, false},
		{`{"model":"gen3a_turbo",` + img + `,"prompt":"\ud800 \u0000 \u2028 <script>"}`, false},
		{`{"model":null,"image_url":null,"prompt":null,"duration":null}`, false},
		{`{"mod\u0065l":"gen3a_turbo","model":"gen3a_turbo",` + img + `}`, false},
		{`{"model":"gen3a_turbo","image_url":"https://u:p@example.com/a.png","extra":{}}`, false},
		{`{"model":"gen3a_turbo","image_url":"HTTPS://EXAMPLE.COM/a.png#frag"}`, false},
		{`{"model":"gen3a_turbo","image_url":"data:image/png;base64,"}`, false},
		{`{"model":"gen3a_turbo",` + img + `} {}`, false},
		{`[{"model":"gen3a_turbo"}]`, false},
		{``, false},
	} {
		f.Add([]byte(seed.body), seed.allowRatio)
	}
	f.Fuzz(func(t *testing.T, body []byte, allowRatio bool) {
		opts := job.ParseOptions{AllowRatio: allowRatio}
		req, err := job.ParseRequest(body, opts)
		// The same body always gets the same answer, whatever the order in
		// which the parser happens to visit its fields.
		again, errAgain := job.ParseRequest(body, opts)
		if !reflect.DeepEqual(req, again) || errString(err) != errString(errAgain) {
			t.Fatalf("two parses differ:\n%+v %v\n%+v %v", req, err, again, errAgain)
		}
		if err != nil {
			checkRefusal(t, req, err)
			return
		}
		checkValid(t, req)

		// Round trip: the canonical JSON of an accepted request parses, on
		// either route, to the very same request.
		canon, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("marshal %+v: %v", req, err)
		}
		for _, o := range []job.ParseOptions{{}, {AllowRatio: true}} {
			back, err := job.ParseRequest(canon, o)
			if err != nil {
				t.Fatalf("round trip (%+v) of %s refused: %v", o, canon, err)
			}
			if !reflect.DeepEqual(back, req) {
				t.Fatalf("round trip (%+v) changed the request:\n got %+v\nwant %+v", o, back, req)
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// checkRefusal asserts the shape of a refusal.
func checkRefusal(t *testing.T, req job.Request, err error) {
	t.Helper()
	var ve *job.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T %v is not a *job.ValidationError", err, err)
	}
	if len(ve.Fields) == 0 {
		t.Fatalf("validation error names no field: %v", err)
	}
	for i, fe := range ve.Fields {
		if fe.Field == "" || fe.Message == "" {
			t.Fatalf("field error %d is incomplete: %+v (all: %+v)", i, fe, ve.Fields)
		}
	}
	if !reflect.DeepEqual(req, job.Request{}) {
		t.Fatalf("a refused request came back non-empty: %+v", req)
	}
}

// checkValid asserts every rule docs/api.md and request.go document,
// independently of how ParseRequest enforces them.
func checkValid(t *testing.T, req job.Request) {
	t.Helper()
	if req.Model != job.Model {
		t.Errorf("model %q", req.Model)
	}
	if msg := imageProblem(req.ImageURL); msg != "" {
		t.Errorf("image_url %.80q: %s", req.ImageURL, msg)
	}
	if req.TailImageURL != "" {
		if msg := imageProblem(req.TailImageURL); msg != "" {
			t.Errorf("tail_image_url %.80q: %s", req.TailImageURL, msg)
		}
	}
	if !utf8.ValidString(req.Prompt) {
		t.Errorf("prompt is not valid UTF-8: %q", req.Prompt)
	}
	if n := utf8.RuneCountInString(req.Prompt); n > job.MaxPromptRunes {
		t.Errorf("prompt has %d runes", n)
	}
	if req.AspectRatio != "16:9" && req.AspectRatio != "9:16" {
		t.Errorf("aspect_ratio %q", req.AspectRatio)
	}
	if req.Duration != 5 && req.Duration != 10 {
		t.Errorf("duration %d", req.Duration)
	}
	if req.Seed != nil && (*req.Seed < 0 || *req.Seed > job.MaxSeed) {
		t.Errorf("seed %d", *req.Seed)
	}
}

// imageProblem says why s is neither an https URL nor a base64 data URI of
// a PNG, JPEG or WebP image, or returns "".
func imageProblem(s string) string {
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		if !ok {
			return "data URI without a comma"
		}
		switch strings.ToLower(meta) { // media types are case-insensitive
		case "image/png;base64", "image/jpeg;base64", "image/webp;base64":
		default:
			return "data URI is not image/{png,jpeg,webp};base64"
		}
		decoded, err := base64.StdEncoding.DecodeString(data)
		switch {
		case err != nil:
			return "invalid base64: " + err.Error()
		case len(decoded) == 0:
			return "no image data"
		case len(decoded) > job.MaxImageBytes:
			return "image too large"
		}
		return ""
	}
	if len(s) > job.MaxURLLength {
		return "URL too long"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err.Error()
	case u.Scheme != "https":
		return "scheme " + u.Scheme
	case u.Host == "":
		return "no host"
	case u.User != nil:
		return "credentials in URL"
	}
	return ""
}
