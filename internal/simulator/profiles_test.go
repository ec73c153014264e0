package simulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/clock"
)

func builtin(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exampleOf is a value s accepts, with only the required members of
// objects: the smallest request a client could send.
func exampleOf(s *catalog.Schema, name string) any {
	switch {
	case len(s.AnyOf) > 0:
		return exampleOf(s.AnyOf[0], name)
	case len(s.OneOf) > 0:
		return exampleOf(s.OneOf[0], name)
	case s.Default != nil:
		return s.Default
	}
	for _, e := range s.Enum {
		if e != nil {
			return e
		}
	}
	kind := ""
	if len(s.Types) > 0 {
		kind = s.Types[0]
	}
	switch kind {
	case "integer", "number":
		n := 1.0
		if s.Minimum != nil {
			n = math.Ceil(*s.Minimum)
		}
		return n
	case "boolean":
		return false
	case "array":
		n := 1
		if s.MinItems != nil {
			n = max(n, *s.MinItems)
		}
		items := make([]any, n)
		for i := range items {
			items[i] = exampleOf(s.Items, name)
		}
		return items
	case "object":
		obj := map[string]any{}
		for _, req := range s.Required {
			obj[req] = exampleOf(s.Properties[req], req)
		}
		return obj
	}
	switch {
	case s.Format == "uri" || strings.HasSuffix(name, "_url"):
		return "https://media.example.com/in.png"
	case s.Format == "uuid":
		return "6f1b2a3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	}
	text := "a lighthouse at dusk"
	if s.MinLength != nil && len(text) < *s.MinLength {
		text = strings.Repeat("x", *s.MinLength)
	}
	return text
}

// exampleBody is a minimal valid body for m with prompt in it when m takes
// one (sim: directives ride in it).
func exampleBody(t *testing.T, c *catalog.Catalog, m *catalog.Model, prompt string) (string, bool) {
	t.Helper()
	body := exampleOf(m.Schema, "").(map[string]any)
	body["model"] = m.ID
	if _, ok := m.Schema.Properties["prompt"]; ok && prompt != "" {
		body["prompt"] = prompt
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	_, _, problems := c.Validate(b)
	return string(b), len(problems) == 0
}

// providerModels is one model of every provider in the catalogue: the first
// by id whose minimal body validates (and takes a prompt when withPrompt).
func providerModels(t *testing.T, withPrompt bool) map[string]*catalog.Model {
	t.Helper()
	c := builtin(t)
	out := map[string]*catalog.Model{}
	providers := map[string]bool{}
	for _, id := range c.IDs() {
		m, err := c.Model(id)
		if err != nil {
			t.Fatal(err)
		}
		providers[m.Provider] = true
		if out[m.Provider] != nil {
			continue
		}
		if _, ok := m.Schema.Properties["prompt"]; withPrompt && !ok {
			continue
		}
		if _, ok := exampleBody(t, c, m, "x"); ok {
			out[m.Provider] = m
		}
	}
	for p := range providers {
		if out[p] == nil {
			t.Errorf("no model of %s has a minimal body this test can build", p)
		}
	}
	return out
}

// completedAnswer is a completed poll's answer in any shape the simulator
// serves.
type completedAnswer struct {
	status  string
	url     string
	credits float64
}

func readCompleted(t *testing.T, p pollResult) completedAnswer {
	t.Helper()
	out := completedAnswer{status: p.Status}
	var obj video
	var urls []string
	switch {
	case json.Unmarshal(p.Video, &obj) == nil && obj.URL != "":
		out.url = obj.URL
	case json.Unmarshal(p.Video, &urls) == nil && len(urls) == 1:
		out.url = urls[0]
	default:
		t.Fatalf("video = %s, want an object or an array of one URL", p.Video)
	}
	var m meta
	decode(t, p.Meta, &m)
	if m.Usage.CreditsUsed == nil {
		t.Fatalf("meta = %s, want usage.credits_used", p.Meta)
	}
	out.credits = *m.Usage.CreditsUsed
	return out
}

// Every provider's model is accepted, generates for its catalogue prior
// (after the queue time), completes with a video and reports its credits,
// on the create answer and on the completed poll.
func TestEveryProviderCompletes(t *testing.T) {
	c := builtin(t)
	profs, err := parseProfiles(profilesJSON)
	if err != nil {
		t.Fatal(err)
	}
	models := providerModels(t, false)
	if len(models) < 18 {
		t.Errorf("%d providers, want the reference's 18", len(models))
	}
	for _, provider := range slices.Sorted(maps.Keys(models)) {
		m := models[provider]
		t.Run(provider, func(t *testing.T) {
			f := newFixture(t)
			body, _ := exampleBody(t, c, m, "")
			w := f.call(t, http.MethodPost, newRoute, testKey, body)
			if w.Code != http.StatusOK {
				t.Fatalf("submit %s: %d %s", body, w.Code, w.Body)
			}
			var cr created
			decode(t, w.Body.Bytes(), &cr)
			id := cr.ID + cr.GenerationID
			seconds := m.Duration(mustDecode(t, body))
			wantCredits := profs.of(m).creditsPerSecond * float64(seconds)
			if cr.Status != "queued" || cr.Meta == nil || cr.Meta.Usage.CreditsUsed == nil || *cr.Meta.Usage.CreditsUsed != wantCredits {
				t.Fatalf("create answer %s, want queued with credits_used %v", w.Body, wantCredits)
			}
			end := DefaultQueueTime + m.PriorFor(seconds)
			f.clock.Advance(end - 1)
			if got := f.poll(t, id).Status; got != "generating" {
				t.Fatalf("%s just before %v: %q, want generating", m.ID, end, got)
			}
			f.clock.Advance(1)
			got := readCompleted(t, f.poll(t, id))
			if got.status != "completed" && got.status != "succeeded" {
				t.Fatalf("%s at %v: %q, want completed", m.ID, end, got.status)
			}
			if !strings.Contains(got.url, "/files/"+id+".mp4?") || got.credits != wantCredits {
				t.Errorf("completed %+v, want its video and %v credits", got, wantCredits)
			}
			t.Logf("%s: %d-s clip in %v, %v credits", m.ID, seconds, end, got.credits)
		})
	}
}

func mustDecode(t *testing.T, body string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func appendFile(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Fatal(err)
	}
}

// Every name profiles.json gives is catalogued, and every quirk is some
// model's own.
func TestProfilesNameCatalogued(t *testing.T) {
	c := builtin(t)
	var raw struct {
		Providers map[string]json.RawMessage `json:"providers"`
		Models    map[string]json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal(profilesJSON, &raw); err != nil {
		t.Fatal(err)
	}
	profs, err := parseProfiles(profilesJSON)
	if err != nil {
		t.Fatal(err)
	}
	providers := map[string]bool{}
	var served Quirks
	for _, id := range c.IDs() {
		m, err := c.Model(id)
		if err != nil {
			t.Fatal(err)
		}
		providers[m.Provider] = true
		served |= profs.of(m).quirks
		if r := profs.of(m).creditsPerSecond; r <= 0 {
			t.Errorf("%s: %v credits per second", id, r)
		}
	}
	for name := range raw.Providers {
		if !providers[name] {
			t.Errorf("profiles.json names provider %q, which no catalogued model has", name)
		}
	}
	for id := range raw.Models {
		if _, err := c.Model(id); err != nil {
			t.Errorf("profiles.json names model %q: %v", id, err)
		}
	}
	for _, q := range AllQuirks() {
		if served&q == 0 {
			t.Errorf("no model is served with quirk %s by default", q)
		}
	}
}

func TestParseProfilesRefusesBadData(t *testing.T) {
	for _, data := range []string{
		`{`,
		`{"default":{}}`,
		`{"default":{"credits_per_second":1,"quirks":["succeeded"]}}`,
		`{"default":{"credits_per_second":1},"providers":{"Kling":{"quirks":["sucedded"]}}}`,
		`{"default":{"credits_per_second":1},"models":{"gen3a_turbo":{"credits_per_second":-1}}}`,
	} {
		if _, err := parseProfiles([]byte(data)); err == nil {
			t.Errorf("parseProfiles(%s) = nil error", data)
		}
	}
}

func TestParseQuirks(t *testing.T) {
	for in, want := range map[string]Quirks{
		"":                           0,
		"none":                       0,
		"succeeded":                  QuirkSucceeded,
		"generation_id, video_array": QuirkGenerationID | QuirkVideoArray,
		"error_detail,none":          QuirkErrorDetail,
	} {
		got, err := ParseQuirks(in)
		if err != nil || got != want {
			t.Errorf("ParseQuirks(%q) = %v, %v; want %v", in, got, err, want)
		}
		if again, err := ParseQuirks(got.String()); err != nil || again != got {
			t.Errorf("ParseQuirks(%q) = %v, %v; want %v back", got.String(), again, err, got)
		}
	}
	if _, err := ParseQuirks("succeeded,bogus"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown quirk: err = %v", err)
	}
}

// quirkProbe is what one generation looked like: its create answer, its
// completed poll, and a failed twin's error.
type quirkProbe struct {
	create    map[string]json.RawMessage
	completed pollResult
	failure   json.RawMessage
	refused   json.RawMessage // error of a refused request of the model
}

// probe submits body (a completing and a failing generation, with extra
// prompt words) and one refused request of model, on a fixture of cfg.
func probe(t *testing.T, cfg Config, model, extra string) quirkProbe {
	t.Helper()
	c := builtin(t)
	m, err := c.Model(model)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(t0)
	cfg.Key, cfg.Clock = testKey, clk
	f := fixture{sim: New(cfg), clock: clk}
	var p quirkProbe
	var ids []string
	for _, words := range []string{extra, extra + " sim:error"} {
		body, ok := exampleBody(t, c, m, words)
		if !ok {
			t.Fatalf("%s: no valid example body", model)
		}
		w := f.call(t, http.MethodPost, newRoute, testKey, body)
		if w.Code != http.StatusOK {
			t.Fatalf("submit: %d %s", w.Code, w.Body)
		}
		var cr map[string]json.RawMessage
		decode(t, w.Body.Bytes(), &cr)
		var id string
		if err := json.Unmarshal(cr["id"], &id); err != nil {
			json.Unmarshal(cr["generation_id"], &id)
		}
		if p.create == nil {
			p.create = cr
		}
		ids = append(ids, id)
	}
	clk.Advance(time.Hour)
	p.completed = f.poll(t, ids[0])
	p.failure = f.poll(t, ids[1]).Error
	bad, _ := exampleBody(t, c, m, extra)
	bad = strings.Replace(bad, `{`, `{"no_such_field":1,`, 1)
	w := f.call(t, http.MethodPost, newRoute, testKey, bad)
	if w.Code != http.StatusBadRequest {
		t.Fatalf("bad body: %d %s", w.Code, w.Body)
	}
	var e map[string]json.RawMessage
	decode(t, w.Body.Bytes(), &e)
	p.refused = e["error"]
	return p
}

// shows reports which quirks a probe shows.
func (p quirkProbe) shows(t *testing.T) Quirks {
	t.Helper()
	var q Quirks
	_, hasID := p.create["id"]
	_, hasGenID := p.create["generation_id"]
	if hasGenID && !hasID {
		q |= QuirkGenerationID
	} else if !hasID {
		t.Errorf("create answer %v has no id", p.create)
	}
	switch p.completed.Status {
	case "succeeded":
		q |= QuirkSucceeded
	case "completed":
	default:
		t.Errorf("completed status %q", p.completed.Status)
	}
	if strings.HasPrefix(string(p.completed.Video), "[") {
		q |= QuirkVideoArray
	}
	var failure, refused struct {
		Name    string   `json:"name"`
		Message string   `json:"message"`
		Detail  []detail `json:"detail"`
	}
	decode(t, p.failure, &failure)
	decode(t, p.refused, &refused)
	switch {
	case len(failure.Detail) == 1 && failure.Message == "" && len(refused.Detail) == 1 && refused.Message == "":
		q |= QuirkErrorDetail
		if failure.Detail[0].Msg != failureMessage || fmt.Sprint(refused.Detail[0].Loc) != "[body no_such_field]" || refused.Detail[0].Msg != "unknown field" {
			t.Errorf("detail[] = %+v and %+v", failure.Detail, refused.Detail)
		}
	case failure.Message == "" || refused.Message == "" || failure.Detail != nil || refused.Detail != nil:
		t.Errorf("errors %s and %s, want both with a message or both with detail[]", p.failure, p.refused)
	}
	return q
}

// Each model is served in its profile's quirks; each quirk can be forced
// on any model by the directive or by Config.Quirks, and a model's own
// turned off by sim:quirk=none or Config.NoModelQuirks.
func TestQuirks(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		model string
		words string
		want  Quirks
	}{
		{name: "gen3a_turbo documented", model: "gen3a_turbo", want: 0},
		{name: "MiniMax", model: "minimax/hailuo-02", want: QuirkGenerationID},
		{name: "PixVerse", model: "pixverse/v5/text-to-video", want: QuirkSucceeded},
		{name: "Seedance pro fast", model: "bytedance/seedance-1-0-pro-fast", want: QuirkSucceeded},
		{name: "other ByteDance", model: "bytedance/seedance-1-0-lite-t2v", want: 0},
		{name: "Runway", model: "runway/gen4_turbo", want: QuirkVideoArray},
		{name: "Kling", model: "kling-video/v1/standard/text-to-video", want: QuirkErrorDetail},
		{name: "Google", model: "google/veo3", want: 0},
		{name: "Kling without its own", model: "kling-video/v1/standard/text-to-video", words: "sim:quirk=none", want: 0},
		{name: "Kling with no model quirks", cfg: Config{NoModelQuirks: true}, model: "kling-video/v1/standard/text-to-video", want: 0},
		{name: "Kling none plus one", model: "kling-video/v1/standard/text-to-video", words: "sim:quirk=none,succeeded", want: QuirkSucceeded},
		{name: "directives add", model: "minimax/hailuo-02", words: "sim:quirk=succeeded sim:quirk=video_array", want: QuirkGenerationID | QuirkSucceeded | QuirkVideoArray},
		{name: "config forces", cfg: Config{Quirks: QuirkErrorDetail | QuirkGenerationID}, model: "google/veo3", want: QuirkErrorDetail | QuirkGenerationID},
		{name: "config forces over none", cfg: Config{Quirks: QuirkSucceeded}, model: "runway/gen4_turbo", words: "sim:quirk=none", want: QuirkSucceeded},
	}
	for _, q := range AllQuirks() {
		tests = append(tests, struct {
			name  string
			cfg   Config
			model string
			words string
			want  Quirks
		}{name: "gen3a_turbo forced " + q.String(), model: "gen3a_turbo", words: "sim:quirk=" + q.String(), want: q})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := probe(t, tt.cfg, tt.model, tt.words)
			if got := p.shows(t); got != tt.want {
				t.Errorf("served %v, want %v (create %v, completed %+v, failure %s, refused %s)",
					got, tt.want, p.create, p.completed, p.failure, p.refused)
			}
		})
	}
}

// A model's generation time is its prior for the clip scaled by
// GenerationTime against the default; gen3a_turbo's stay 25 s and 45 s.
func TestTimingFollowsThePrior(t *testing.T) {
	c := builtin(t)
	tests := []struct {
		gen   time.Duration
		model string
		body  string
		want  time.Duration
	}{
		{0, "gen3a_turbo", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`, 25 * time.Second},
		{0, "gen3a_turbo", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","duration":10}`, 45 * time.Second},
		{10 * time.Second, "gen3a_turbo", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","duration":10}`, 18 * time.Second},
		{0, "klingai/v2-master-text-to-video", `{"model":"klingai/v2-master-text-to-video","prompt":"x","duration":10}`, 750 * time.Second},
		{50 * time.Second, "klingai/v2-master-text-to-video", `{"model":"klingai/v2-master-text-to-video","prompt":"x"}`, 660 * time.Second},
		{0, "google/veo3", `{"model":"google/veo3","prompt":"x"}`, 120 * time.Second},
		{0, "openai/sora-2-t2v", `{"model":"openai/sora-2-t2v","prompt":"x","duration":12}`, 110 * time.Second},
		{0, "x-ai/grok-imagine-video", `{"model":"x-ai/grok-imagine-video","duration":15}`, 360 * time.Second},
	}
	for _, tt := range tests {
		clk := clock.NewManual(t0)
		f := fixture{sim: New(Config{Key: testKey, Clock: clk, QueueTime: -1, GenerationTime: tt.gen}), clock: clk}
		m, body := f.validated(t, tt.body)
		if m.ID != tt.model {
			t.Fatalf("%s validated as %s", tt.body, m.ID)
		}
		g := f.sim.accept(m, body)
		if g.genTime != tt.want {
			t.Errorf("%s at GenerationTime %v: %v, want %v", tt.body, tt.gen, g.genTime, tt.want)
		}
		if m, _ := c.Model(tt.model); tt.gen == 0 && g.genTime != m.PriorFor(g.seconds) {
			t.Errorf("%s: %v, want the prior %v", tt.body, g.genTime, m.PriorFor(g.seconds))
		}
	}
	if got := scale(time.Duration(math.MaxInt64), time.Hour); got != time.Duration(math.MaxInt64) {
		t.Errorf("scale overflow = %v, want the longest Duration", got)
	}
}

// The legacy route takes "ratio" and names it in its problems, for the
// models vidgen does: a model's own ratio (Kling v1.6's beside its
// aspect_ratio, MiniMax h3's) is its own.
func TestLegacyRatio(t *testing.T) {
	f := newFixture(t)
	for body, want := range map[string]string{
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","ratio":"4:3"}`:                                     "[ratio]",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","ratio":"9:16","aspect_ratio":"9:16"}`:              "[ratio]",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","ratio":"9:16","aspect_ratio":"9:16","duration":7}`: "[duration ratio]",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","ratio":null,"aspect_ratio":"9:16"}`:                "",
		`{"model":"runway/gen4_turbo","image_url":"https://example.com/a.jpg","ratio":"21:9"}`:                              "",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","ratio":"9:16","ratio":"16:9"}`:                     "[ratio]",
		`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","ratio":"9:16","ratio":"4:3"}`:                      "[ratio ratio]",
		`{"model":"kling-video/v1.6/standard/text-to-video","prompt":"p","ratio":"1:1","aspect_ratio":"16:9"}`:              "",
		`{"model":"minimax/h3","prompt":"p","ratio":"adaptive"}`:                                                            "",
		`{"model":"minimax/h3","prompt":"p","ratio":"5:4"}`:                                                                 "[ratio]",
	} {
		w := f.call(t, http.MethodPost, oldRoute, testKey, body)
		if want == "" {
			if w.Code != http.StatusOK {
				t.Errorf("%s: %d %s, want 200", body, w.Code, w.Body)
			}
			continue
		}
		var fields []string
		for _, fe := range errorOf(t, w).Fields {
			fields = append(fields, fe.Field)
		}
		if w.Code != http.StatusBadRequest || fmt.Sprint(fields) != want {
			t.Errorf("%s: %d %s, want 400 on %s", body, w.Code, w.Body, want)
		}
	}
}

// What a generation is served as survives a restart from the journal, and
// lines journaled before models are read as gen3a_turbo's.
func TestJournalKeepsModelQuirksAndCredits(t *testing.T) {
	journal := filepath.Join(t.TempDir(), "sim.jsonl")
	c := clock.NewManual(t0)
	f := openJournaled(t, journal, c)
	id := f.submit(t, `{"model":"pixverse/v5/text-to-video","prompt":"a cat sim:quirk=video_array","duration":8}`)
	f.sim.Close()
	old := `{"id":"old-one","seconds":10,"submitted":"2026-11-25T12:00:00Z","gen_time":45000000000,"request":null}` + "\n"
	appendFile(t, journal, old)

	if data, err := os.ReadFile(journal); err != nil || !strings.Contains(string(data), `"quirks":"succeeded,video_array"`) {
		t.Errorf("journal %s (%v), want the quirks by name", data, err)
	}
	f = openJournaled(t, journal, c)
	c.Advance(time.Hour)
	p := f.poll(t, id)
	got := readCompleted(t, p)
	if got.status != "succeeded" || !strings.HasPrefix(string(p.Video), "[") || got.credits != 8*120000 {
		t.Errorf("after restart: %+v (video %s), want succeeded, an array and 960000 credits", got, p.Video)
	}
	p = f.poll(t, "old-one")
	got = readCompleted(t, p)
	if got.status != "completed" || got.credits != 1_000_000 {
		t.Errorf("old line: %+v, want completed with 1000000 credits", got)
	}
}

// Whatever a client submits, the answer is 200 with an id or 400 with a
// JSON error: never a 5xx, never a body that is not JSON.
func FuzzSubmit(f *testing.F) {
	for _, seed := range []string{
		validReq,
		`{"model":"minimax/hailuo-02","prompt":"a cat sim:quirk=none"}`,
		`{"model":"kling-video/v1/standard/text-to-video","prompt":"a cat","duration":"5"}`,
		`{"model":"pixverse/v5/text-to-video","prompt":"sim:gen=1e300","resolution":"1080p","duration":8}`,
		`{"model":"x-ai/grok-imagine-video","duration":15}`,
		`{"model":"runway/gen4_turbo","image_url":"data:image/png;base64,AAAA","ratio":"1:1"}`,
		`{"model":["gen3a_turbo"]}`,
		`{"model":"gen3a_turbo","prompt":{"x":1},"image_url":"x"}`,
		`{"model":"gen3a_turbo","image_url":"https://e.x/a.png","duration":1e400}`,
		`{}`, `null`, `[`, ``,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	clk := clock.NewManual(t0)
	sim := New(Config{Key: testKey, Clock: clk})
	fx := fixture{sim: sim, clock: clk}
	f.Fuzz(func(t *testing.T, body string, legacy bool) {
		route := newRoute
		if legacy {
			route = oldRoute
		}
		w := fx.call(t, http.MethodPost, route, testKey, body)
		var v map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("%q: %d %q is not a JSON object", body, w.Code, w.Body)
		}
		switch w.Code {
		case http.StatusOK:
			if v["id"] == nil && v["generation_id"] == nil {
				t.Fatalf("%q: 200 without an id: %s", body, w.Body)
			}
		case http.StatusBadRequest:
			if v["error"] == nil {
				t.Fatalf("%q: 400 without an error: %s", body, w.Body)
			}
		default:
			t.Fatalf("%q: status %d %s", body, w.Code, w.Body)
		}
	})
}
