package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/cli"
)

// vidgen models lists every model the API serves with its provider and
// modes; --json prints the API's models; with an id it shows the model's
// fields, their values and which are required.
func TestModels(t *testing.T) {
	url := startLocal(t)
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, url, "", "models")
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != len(c.IDs())+1 || !strings.HasPrefix(lines[0], "MODEL") {
		t.Fatalf("%d lines for %d models:\n%.500s", len(lines), len(c.IDs()), r.stdout)
	}
	for _, want := range [][]string{{"gen3a_turbo", "Runway", "image-to-video"}, {"klingai/v2-master-text-to-video", "Kling", "text-to-video"}} {
		found := false
		for _, l := range lines {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == want[0] {
				found = f[1] == want[1] && strings.Contains(l, want[2])
			}
		}
		if !found {
			t.Errorf("no line %v in\n%.2000s", want, r.stdout)
		}
	}

	r = run(t, url, "", "models", "--json")
	var list []vidgen.Model
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || r.code != cli.ExitOK {
		t.Fatalf("--json: exit %d, %v: %.300s", r.code, err, r.stdout)
	}
	if len(list) != len(c.IDs()) || list[0].Capabilities == nil || len(list[0].Schema) == 0 {
		t.Errorf("--json: %d models, the first %+v", len(list), list[0])
	}

	r = run(t, url, "", "models", "klingai/v2-master-text-to-video")
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"provider  Kling", "modes     text-to-video", "* prompt ", "* model ", "one of 5, 10", "negative_prompt", "callback_url",
		"advanced_camera_control  object {movement_type, movement_value}", "cfg_scale", "0 to 1", `aspect_ratio             string; one of "16:9", "9:16", "1:1"; default "16:9"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the model's fields lack %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "* duration") {
		t.Errorf("duration shown as required:\n%s", r.stdout)
	}

	// Ranges are plain numbers, a seed's bound not 4.294967295e+09.
	r = run(t, url, "", "models", "gen3a_turbo")
	if r.code != cli.ExitOK || !regexp.MustCompile(`(?m)^  seed +integer; 0 to 4294967295$`).MatchString(r.stdout) {
		t.Errorf("gen3a_turbo: exit %d, want seed 0 to 4294967295:\n%s", r.code, r.stdout)
	}

	r = run(t, url, "", "models", "no-such-model")
	if r.code != cli.ExitAPIError || !strings.Contains(r.stderr, `no model "no-such-model"`) {
		t.Errorf("an unknown model: exit %d, stderr %q", r.code, r.stderr)
	}
}

// recorder is a proxy in front of the API that keeps the body of every
// submit it forwards.
type recorder struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (rec *recorder) proxy(t *testing.T, api string) string {
	t.Helper()
	target, err := url.Parse(api)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				t.Error(err)
			}
			rec.mu.Lock()
			rec.bodies = append(rec.bodies, b)
			rec.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (rec *recorder) last(t *testing.T) any {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.bodies) == 0 {
		t.Fatal("nothing submitted")
	}
	dec := json.NewDecoder(bytes.NewReader(rec.bodies[len(rec.bodies)-1]))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func jsonValue(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// submit --model and --param send the model's body as one flat object:
// each --param's value as JSON when it parses, else as a string; the API
// answers it (here the real local runtime, through a proxy that keeps
// what was sent).
func TestSubmitModelParams(t *testing.T) {
	rec := &recorder{}
	url := rec.proxy(t, startLocal(t))

	r := run(t, url, "", "submit", "--image", "https://example.com/a.jpg", "--prompt", "a calm sea",
		"--param", "seed=7", "--param", "tail_image_url=https://example.com/b.jpg")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "status  queued") {
		t.Fatalf("gen3a_turbo with params: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	want := jsonValue(t, `{"model":"gen3a_turbo","prompt":"a calm sea","image_url":"https://example.com/a.jpg","seed":7,"tail_image_url":"https://example.com/b.jpg"}`)
	if got := rec.last(t); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}

	// A JSON string param stays a string, and the API refuses it by name.
	r = run(t, url, "", "submit", "--image", "https://example.com/a.jpg", "--param", `seed="7"`, "--json")
	if r.code != cli.ExitAPIError || !strings.Contains(r.stderr, `"field":"seed"`) {
		t.Errorf("seed as a string: exit %d, stderr %s", r.code, r.stderr)
	}
	if got, want := rec.last(t), jsonValue(t, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","seed":"7"}`); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}

	// Another model: no --image needed, nested JSON kept, and the API
	// takes it.
	r = run(t, url, "", "submit", "--model", "klingai/v2-master-text-to-video", "--prompt", "a fox", "--duration", "10",
		"--param", "negative_prompt=blur", "--param", `advanced_camera_control={"movement_type":"pan","movement_value":2}`)
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "status  queued") {
		t.Errorf("a Kling request: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	want = jsonValue(t, `{"model":"klingai/v2-master-text-to-video","prompt":"a fox","duration":10,"negative_prompt":"blur",`+
		`"advanced_camera_control":{"movement_type":"pan","movement_value":2}}`)
	if got := rec.last(t); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	// gen3a_turbo's own checks are not another model's: any duration goes
	// to the API, which judges it by the model's (7 s is not one of Kling's).
	r = run(t, url, "", "submit", "--model", "klingai/v2-master-text-to-video", "--prompt", "a fox", "--duration", "7")
	if r.code != cli.ExitAPIError || !strings.Contains(r.stderr, "duration must be one of 5, 10") {
		t.Errorf("a Kling request with a 7 s duration: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got, want := rec.last(t), jsonValue(t, `{"model":"klingai/v2-master-text-to-video","prompt":"a fox","duration":7}`); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
}

// batch reads a local file named by any media field of the line's model
// (top level, in an array, in an array's objects) into a data URI, as it
// does image_url, relative to the batch file; a missing one is told by
// its path before anything is sent.
func TestBatchLocalMediaFiles(t *testing.T) {
	rec := &recorder{}
	api := rec.proxy(t, startLocal(t))
	dir := filepath.Dir(pngFile(t))
	uri := "data:image/png;base64,"
	frame, err := os.ReadFile(filepath.Join(dir, "frame.png"))
	if err != nil {
		t.Fatal(err)
	}
	uri += base64.StdEncoding.EncodeToString(frame)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("media.jsonl", `{"model":"minimax/hailuo-02","prompt":"a climb","image_url":"frame.png","last_image_url":"`+filepath.Join(dir, "frame.png")+`"}
{"model":"klingai/video-o1-reference-to-video","prompt":"a walk","image_list":["frame.png","https://example.com/b.jpg"],"elements":[{"frontal_image_url":"frame.png","reference_image_urls":["frame.png"]}]}
`)
	r := run(t, api, "", "batch", good)
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	rec.mu.Lock()
	bodies := slices.Clone(rec.bodies)
	rec.mu.Unlock()
	var sent []map[string]any
	for _, b := range bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	slices.SortFunc(sent, func(a, b map[string]any) int { return strings.Compare(a["model"].(string), b["model"].(string)) })
	if len(sent) != 2 {
		t.Fatalf("%d submits, want 2", len(sent))
	}
	kling, hailuo := sent[0], sent[1]
	if hailuo["image_url"] != uri || hailuo["last_image_url"] != uri {
		t.Errorf("MiniMax: image_url and last_image_url not sent as the file's data URI: %.80v", hailuo)
	}
	list, _ := kling["image_list"].([]any)
	elems, _ := kling["elements"].([]any)
	if len(list) != 2 || list[0] != uri || list[1] != "https://example.com/b.jpg" || len(elems) != 1 || elems[0].(map[string]any)["frontal_image_url"] != uri ||
		fmt.Sprint(elems[0].(map[string]any)["reference_image_urls"]) != "["+uri+"]" {
		t.Errorf("Kling: image_list and elements[0].frontal_image_url and elements[0]'s images not sent as the file's data URI: %.200v", kling)
	}

	bad := write("missing.jsonl", `{"model":"klingai/video-o1-reference-to-video","prompt":"a walk","image_list":["frame.png","gone.png"]}
`)
	r = run(t, api, "", "batch", bad)
	if want := "line 1: image_list[1]: image " + filepath.Join(dir, "gone.png") + ": "; r.code != cli.ExitUsage || !strings.Contains(r.stderr, want) ||
		strings.Count(r.stderr, "image_list[1]") != 1 {
		t.Errorf("a missing nested file: exit %d, stderr %q; want 2 and %q once", r.code, r.stderr, want)
	}
}
