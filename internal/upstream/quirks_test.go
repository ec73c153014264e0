package upstream

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/simulator"
)

// The client reads every answer shape the simulator serves for a model
// (see simulator's package documentation), over real HTTP: each quirk
// forced on gen3a_turbo through Submit and Get, by the sim:quirk directive
// and by the simulator's Config.Quirks.
func TestQuirksOfTheSimulator(t *testing.T) {
	for _, q := range simulator.AllQuirks() {
		for _, forced := range []string{"directive", "config"} {
			t.Run(q.String()+" by "+forced, func(t *testing.T) {
				var simCfg simulator.Config
				prompt := "a lighthouse"
				if forced == "config" {
					simCfg.Quirks = q
				} else {
					prompt += " sim:quirk=" + q.String()
				}
				e := newSimEnv(t, Config{}, simCfg)
				checkQuirk(t, e, q, func(t *testing.T, extra string) string { return e.submit(t, prompt+extra) })
			})
		}
	}
}

// Each catalogued model is served in its own quirks by default; the client
// reads each one's poll answers (the create answer's generation_id is
// covered above, as Submit sends what job.Request holds).
func TestQuirksOfModels(t *testing.T) {
	tests := []struct {
		quirk simulator.Quirks
		body  string
	}{
		{simulator.QuirkGenerationID, `{"model":"minimax/hailuo-02","prompt":"a lighthouse%s"}`},
		{simulator.QuirkSucceeded, `{"model":"pixverse/v5/text-to-video","prompt":"a lighthouse%s"}`},
		{simulator.QuirkSucceeded, `{"model":"bytedance/seedance-1-0-pro-fast","prompt":"a lighthouse%s"}`},
		{simulator.QuirkVideoArray, `{"model":"runway/gen4_turbo","image_url":"https://example.com/a.jpg","prompt":"a lighthouse%s"}`},
		{simulator.QuirkErrorDetail, `{"model":"kling-video/v1/standard/text-to-video","prompt":"a lighthouse%s"}`},
	}
	for _, tt := range tests {
		model, _, _ := strings.Cut(strings.TrimPrefix(tt.body, `{"model":"`), `"`)
		t.Run(model, func(t *testing.T) {
			e := newEnv(t, Config{})
			checkQuirk(t, e, tt.quirk, func(t *testing.T, extra string) string {
				t.Helper()
				return rawSubmit(t, e, strings.Replace(tt.body, "%s", extra, 1), tt.quirk == simulator.QuirkGenerationID)
			})
		})
	}
}

// checkQuirk submits a generation that completes and one that fails, and
// checks what the client reads of both after an hour.
func checkQuirk(t *testing.T, e env, q simulator.Quirks, submit func(t *testing.T, extra string) string) {
	t.Helper()
	ok, bad := submit(t, ""), submit(t, " sim:error")
	if ok == "" || bad == "" || ok == bad {
		t.Fatalf("ids %q and %q", ok, bad)
	}
	e.clock.Advance(time.Hour)
	g, err := e.client.Get(t.Context(), ok)
	if err != nil {
		t.Fatal(err)
	}
	wantRaw := "completed"
	if q == simulator.QuirkSucceeded {
		wantRaw = "succeeded"
	}
	if g.ID != ok || g.Status != job.Completed || g.RawStatus != wantRaw || g.Video == nil ||
		!strings.Contains(g.Video.URL, "/files/"+ok+".mp4?expires=") || g.CreditsUsed == nil || *g.CreditsUsed <= 0 {
		t.Fatalf("completed generation read as %+v (video %+v), want completed (%s) with its video and credits", g, g.Video, wantRaw)
	}
	if q == simulator.QuirkVideoArray {
		if g.Video.Duration != nil {
			t.Errorf("video array: duration %v, want none (the array carries only URLs)", *g.Video.Duration)
		}
	} else if g.Video.Duration == nil || *g.Video.Duration <= 0 {
		t.Errorf("video object: no duration")
	}
	g, err = e.client.Get(t.Context(), bad)
	if err != nil {
		t.Fatal(err)
	}
	wantName := "ContentModeration"
	if q == simulator.QuirkErrorDetail {
		// detail[] carries no name.
		wantName = job.ErrNameGenerationFailed
	}
	if g.Status != job.Failed || g.Error == nil || g.Error.Name != wantName ||
		!strings.Contains(g.Error.Message, "flagged by content moderation") {
		t.Fatalf("failed generation read as %+v (error %+v), want failed, %s, with the reason", g, g.Error, wantName)
	}
	if q == simulator.QuirkErrorDetail && !strings.HasPrefix(g.Error.Message, "body.prompt: ") {
		t.Errorf("detail message %q, want its loc first", g.Error.Message)
	}
}

// rawSubmit posts body to the simulator as it is (Submit sends only what
// job.Request holds) and returns the generation's id, parsed as the client
// parses a create answer. genID says the answer must name it generation_id.
func rawSubmit(t *testing.T, e env, body string, genID bool) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.base+generationsPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("submit %s: %d %s", body, resp.StatusCode, data)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if _, has := raw["id"]; has == genID {
		t.Fatalf("create answer %s: want generation_id and no id: %v", data, genID)
	}
	g, err := parseGeneration(data)
	if err != nil || g.Status != job.Queued || g.CreditsUsed == nil {
		t.Fatalf("create answer %s read as %+v, %v", data, g, err)
	}
	return g.ID
}

// A refused request's error names every bad field, in either shape.
func TestRefusalShapesOfTheSimulator(t *testing.T) {
	for _, q := range []simulator.Quirks{0, simulator.QuirkErrorDetail} {
		t.Run(q.String(), func(t *testing.T) {
			e := newSimEnv(t, Config{}, simulator.Config{Quirks: q})
			req := validRequest()
			req.Duration, req.AspectRatio = 7, "4:3"
			_, err := e.client.Submit(t.Context(), req)
			ue, ok := errors.AsType[*Error](err)
			if !ok || ue.Kind != KindRejected || ue.StatusCode != http.StatusBadRequest {
				t.Fatalf("Submit = %v, want rejected (400)", err)
			}
			prefix := ""
			if q == simulator.QuirkErrorDetail {
				prefix = "body."
			}
			for _, want := range []string{"ValidationError: ", prefix + "aspect_ratio: must be one of", prefix + "duration: must be one of 5, 10"} {
				if !strings.Contains(ue.Message, want) {
					t.Errorf("message %q lacks %q", ue.Message, want)
				}
			}
		})
	}
}
