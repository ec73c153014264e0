package catalog

import (
	"encoding/json"
	"strings"
)

// A rule is a constraint a model's documentation states only in prose,
// which its schema cannot express: explicit code, each with a test.
type rule struct {
	// applies says which models the rule binds.
	applies func(id string) bool
	// check returns the problems of a body that passed the schema.
	check func(body map[string]any) []FieldError
}

// rules are the prose-only constraints of the catalogued models.
func rules() []rule {
	return []rule{
		// PixVerse: "1080p cannot be combined with 8 s" (the v5 and v5.5
		// generation pages).
		{
			applies: func(id string) bool { return strings.HasPrefix(id, "pixverse/v5") },
			check: func(body map[string]any) []FieldError {
				if body["resolution"] == "1080p" && sameValue(body["duration"], json.Number("8")) {
					return []FieldError{{Field: "duration", Message: "must be 5 (or 10 where the model offers it) with resolution 1080p: PixVerse does not render 8 s at 1080p"}}
				}
				return nil
			},
		},
	}
}

// proseRules are the problems the rules binding model m find in body.
func proseRules(m *Model, body map[string]any) []FieldError {
	var out []FieldError
	for _, r := range rules() {
		if r.applies(m.ID) {
			out = append(out, r.check(body)...)
		}
	}
	return out
}
