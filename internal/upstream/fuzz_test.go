package upstream

import (
	"encoding/json"
	"math"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/vidgen/vidgen/internal/job"
)

// FuzzParseGeneration checks that parseGeneration never panics and that
// whatever it accepts is something Submit and Poll can act on: an id, a
// status that is either a job status or "" (unknown, keep polling), a
// fetchable video URL whenever it says completed, a named error whenever it
// says error, bounded one-line error text and non-negative finite numbers.
// Committed hostile inputs live in testdata/fuzz/FuzzParseGeneration.
func FuzzParseGeneration(f *testing.F) {
	const u = "https://cdn.example.com/v.mp4"
	for _, seed := range []string{
		// Every shape the reference and the simulator send.
		`{"id":"g","status":"queued"}`,
		`{"id":"g","status":"waiting","video":null,"error":null,"meta":null}`,
		`{"id":"g","status":"generating","video":null,"error":null,"meta":{"usage":{"tokens_used":0}}}`,
		`{"id":"g","status":"processing"}`,
		`{"id":"g","status":"completed","video":{"url":"` + u + `","duration":5},"error":null,"meta":{"usage":{"tokens_used":500000}}}`,
		`{"id":"g","status":"complete","video":["` + u + `"],"duration":10,"meta":{"usage":{"credits_used":0.5}}}`,
		`{"id":"g","status":"completed","video":[{"url":"` + u + `","duration":"10"}],"meta":{"usage":{"credits_used":2,"tokens_used":9}}}`,
		`{"id":"g","status":" Success ","video":"http://127.0.0.1:3000/sim/files/g.mp4","duration":"5"}`,
		`{"id":"g","status":"error","error":{"name":"ContentModeration","message":"flagged"}}`,
		`{"id":"g","status":"failed","error":"out of GPUs"}`,
		`{"id":"g","status":"error","error":null}`,
		`{"id":"g","status":"error","error":{}}`,
		`{"id":"g","status":"error","error":42}`,
		`{"id":"g","status":"rendering","meta":"n/a"}`,
		// What must be refused.
		`{"id":"g","status":"completed","video":null}`,
		`{"id":"g","status":"completed","video":["/v.mp4"]}`,
		`{"id":7,"status":"queued"}`,
		`{"id":"g","status":null}`,
		`<html><body>502 Bad Gateway</body></html>`,
		`{"id":"g","status":"queu`,
		`null`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := parseGeneration(data)
		g2, err2 := parseGeneration(data)
		if !reflect.DeepEqual(g, g2) || (err == nil) != (err2 == nil) {
			t.Fatalf("two parses differ:\n%+v %v\n%+v %v", g, err, g2, err2)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error with no message")
			}
			if !reflect.DeepEqual(g, Generation{}) {
				t.Fatalf("a refused answer came back non-empty: %+v", g)
			}
			return
		}
		checkGeneration(t, g)

		// Written back in the reference's own shape, the parsed generation
		// reads the same: nothing the parser keeps depends on the shape it
		// came in. Error text cut by clip grows an ellipsis past the bound
		// and would be cut again, so only uncut text is compared.
		back, err := parseGeneration(referenceShape(t, g))
		if err != nil {
			t.Fatalf("the reference shape of %+v is refused: %v", g, err)
		}
		if g.Error != nil && (len(g.Error.Name) > maxMessage || len(g.Error.Message) > maxErrorMessage) {
			back.Error, g.Error = nil, nil
		}
		if !reflect.DeepEqual(back, g) {
			t.Fatalf("round trip changed the generation:\n got %s\nwant %s", dump(back), dump(g))
		}
	})
}

// checkGeneration asserts what callers of a successful parse rely on.
func checkGeneration(t *testing.T, g Generation) {
	t.Helper()
	if g.ID == "" || g.RawStatus == "" {
		t.Fatalf("accepted without an id or a status: %s", dump(g))
	}
	if want := statusOf(g.RawStatus); g.Status != want {
		t.Errorf("status %q normalized to %q, want %q", g.RawStatus, g.Status, want)
	}
	switch g.Status {
	case "", job.Queued, job.Generating, job.Completed, job.Failed:
	default:
		t.Errorf("status %q is no job status", g.Status)
	}
	if g.Status == job.Completed && g.Video == nil {
		t.Errorf("completed without a video: %s", dump(g))
	}
	if g.Status == job.Failed && g.Error == nil {
		t.Errorf("error without an error: %s", dump(g))
	}
	if v := g.Video; v != nil {
		pu, err := url.Parse(v.URL)
		if v.URL == "" || err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			t.Errorf("video URL %q is not an absolute http(s) URL", v.URL)
		}
		checkNumber(t, "video duration", v.Duration)
	}
	checkNumber(t, "credits used", g.CreditsUsed)
	if e := g.Error; e != nil {
		if e.Name == "" {
			t.Errorf("error without a name: %+v", e)
		}
		checkText(t, "error name", e.Name, maxMessage)
		checkText(t, "error message", e.Message, maxErrorMessage)
	}
}

// statusOf is the documented mapping of upstream statuses, written out
// separately from normalize.
func statusOf(raw string) job.Status {
	words := map[string]job.Status{
		"queued": job.Queued, "waiting": job.Queued,
		"generating": job.Generating, "processing": job.Generating, "in_progress": job.Generating,
		"completed": job.Completed, "complete": job.Completed, "succeeded": job.Completed, "success": job.Completed,
		"error": job.Failed, "failed": job.Failed,
	}
	return words[strings.ToLower(strings.TrimSpace(raw))]
}

func checkNumber(t *testing.T, what string, n *float64) {
	t.Helper()
	if n != nil && (*n < 0 || math.IsInf(*n, 0) || math.IsNaN(*n)) {
		t.Errorf("%s is %v", what, *n)
	}
}

// checkText asserts that s is one line of valid UTF-8 of at most limit bytes
// plus an ellipsis.
func checkText(t *testing.T, what, s string, limit int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8: %q", what, s)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		t.Errorf("%s holds control characters: %q", what, s)
	}
	if len(s) > limit+len("…") || (len(s) > limit && !strings.HasSuffix(s, "…")) {
		t.Errorf("%s has %d bytes, more than %d: %.40q…", what, len(s), limit, s)
	}
}

// referenceShape writes g as the reference's poll answer.
func referenceShape(t *testing.T, g Generation) []byte {
	t.Helper()
	type video struct {
		URL      string   `json:"url"`
		Duration *float64 `json:"duration"`
	}
	type usage struct {
		CreditsUsed *float64 `json:"credits_used,omitempty"`
	}
	w := struct {
		ID     string     `json:"id"`
		Status string     `json:"status"`
		Video  *video     `json:"video"`
		Error  *job.Error `json:"error"`
		Meta   struct {
			Usage usage `json:"usage"`
		} `json:"meta"`
	}{ID: g.ID, Status: g.RawStatus, Error: g.Error}
	if g.Video != nil {
		w.Video = &video{URL: g.Video.URL, Duration: g.Video.Duration}
	}
	w.Meta.Usage.CreditsUsed = g.CreditsUsed
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatalf("encode %+v: %v", g, err)
	}
	return b
}

func dump(g Generation) string {
	b, _ := json.Marshal(g)
	return string(b)
}
