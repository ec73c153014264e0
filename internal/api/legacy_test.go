package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/catalog/catalogtest"
)

// The legacy route is Runway's URL: a valid request of a Runway model
// (gen3a_turbo and the catalogue's runway/ models) is accepted there, one
// of any other provider's model is refused with 400 naming the model and
// the route, also when the request has other problems; the main route
// takes them all.
func TestLegacyRouteTakesOnlyRunwayModels(t *testing.T) {
	h, _, _ := newHandler(t)
	models := catalogtest.ByProvider(t)
	c := catalogtest.Builtin(t)
	for _, id := range c.IDs() {
		if m, _ := c.Lookup(id); m.Provider == "Runway" && id != "gen3a_turbo" {
			models = append(models, m) // every Runway model, not only one
		}
	}
	if len(models) < 3 {
		t.Fatalf("only %d models to try", len(models))
	}
	post := func(path, body string) (int, map[string]any) {
		resp, err := h.Handle(t.Context(), request("POST", path, "keyA", "application/json", body))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, decode(t, resp)
	}
	for _, m := range models {
		raw, _ := json.Marshal(catalogtest.Body(m, "https://example.com/"))
		code, body := post(PathLegacy, string(raw))
		if m.Provider == "Runway" {
			if code != http.StatusOK {
				t.Errorf("%s on the legacy route: %d %v", m.ID, code, body)
			}
			continue
		}
		msg := ""
		if e, _ := body["error"].(map[string]any); e != nil {
			for _, f := range e["fields"].([]any) {
				if f := f.(map[string]any); f["field"] == "model" {
					msg, _ = f["message"].(string)
				}
			}
		}
		if code != http.StatusBadRequest || !strings.Contains(msg, m.ID) || !strings.Contains(msg, PathLegacy) || !strings.Contains(msg, "gen3a_turbo") {
			t.Errorf("%s (%s) on the legacy route: %d %v, want 400 naming the model and the route", m.ID, m.Provider, code, body)
		}
		if code, body := post(PathGenerations, string(raw)); code != http.StatusOK {
			t.Errorf("%s on %s: %d %v", m.ID, PathGenerations, code, body)
		}
		// With another problem too, both are told.
		bad := catalogtest.Body(m, "https://example.com/")
		bad["no_such_field"] = 1
		raw, _ = json.Marshal(bad)
		if code, body := post(PathLegacy, string(raw)); code != http.StatusBadRequest || !strings.Contains(body["error"].(map[string]any)["message"].(string), "model, no_such_field") {
			t.Errorf("%s with an unknown field on the legacy route: %d %v", m.ID, code, body)
		}
	}
}
