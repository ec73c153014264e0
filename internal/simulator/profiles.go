package simulator

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
)

// Quirks is a set of answer shapes the AI/ML API's documentation shows for
// some models beside the documented schema. Every one of them is a shape a
// client must parse; the simulator serves them so that it is tested on each.
type Quirks uint8

// The quirks, by the names profiles.json, the sim:quirk directive and the
// -quirks flag use.
const (
	// QuirkGenerationID names the id of a create answer generation_id.
	QuirkGenerationID Quirks = 1 << iota
	// QuirkSucceeded reports a completed generation as "succeeded".
	QuirkSucceeded
	// QuirkVideoArray sends a completed generation's video as an array of
	// URLs rather than an object.
	QuirkVideoArray
	// QuirkErrorDetail sends errors (a failed generation's, a refused
	// request's) as {detail: [{loc, msg, type}]} without a message.
	QuirkErrorDetail
)

var quirkNames = []struct {
	q    Quirks
	name string
}{
	{QuirkGenerationID, "generation_id"},
	{QuirkSucceeded, "succeeded"},
	{QuirkVideoArray, "video_array"},
	{QuirkErrorDetail, "error_detail"},
}

// AllQuirks are the quirks, each once, in a fixed order.
func AllQuirks() []Quirks {
	out := make([]Quirks, len(quirkNames))
	for i, n := range quirkNames {
		out[i] = n.q
	}
	return out
}

func (q Quirks) String() string {
	var names []string
	for _, n := range quirkNames {
		if q&n.q != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

// MarshalText writes the quirks' names, as the journal keeps them: a
// reordering of the constants cannot change what an old line means.
func (q Quirks) MarshalText() ([]byte, error) { return []byte(q.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (q *Quirks) UnmarshalText(b []byte) error {
	v, err := ParseQuirks(string(b))
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// ParseQuirks reads a comma-separated list of quirk names; "" and "none"
// are no quirk.
func ParseQuirks(s string) (Quirks, error) {
	var q Quirks
	for word := range strings.SplitSeq(s, ",") {
		word = strings.TrimSpace(word)
		if word == "" || word == "none" {
			continue
		}
		found := false
		for _, n := range quirkNames {
			if n.name == word {
				q |= n.q
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown quirk %q (known: %s)", word, Quirks(1<<len(quirkNames)-1))
		}
	}
	return q, nil
}

//go:embed profiles.json
var profilesJSON []byte

// profile is how the simulator answers for one model beyond its timing.
type profile struct {
	quirks           Quirks
	creditsPerSecond float64
}

// profileEntry is one entry of profiles.json; a nil Quirks leaves the
// provider's.
type profileEntry struct {
	Quirks           *[]string `json:"quirks"`
	CreditsPerSecond float64   `json:"credits_per_second"`
}

// profiles is profiles.json, read. Its names are checked against the
// catalogue by a test rather than here, so that a Server does not build
// every model of the catalogue to start.
type profiles struct {
	fallback  float64 // credits per second
	providers map[string]override
	models    map[string]override
}

// override is what an entry changes: quirks when set, the rate when
// positive.
type override struct {
	quirks           *Quirks
	creditsPerSecond float64
}

func parseProfiles(data []byte) (*profiles, error) {
	var raw struct {
		Default   profileEntry            `json:"default"`
		Providers map[string]profileEntry `json:"providers"`
		Models    map[string]profileEntry `json:"models"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("simulator profiles: %w", err)
	}
	if raw.Default.CreditsPerSecond <= 0 || raw.Default.Quirks != nil {
		return nil, fmt.Errorf("simulator profiles: default needs a positive credits_per_second and no quirks")
	}
	p := &profiles{fallback: raw.Default.CreditsPerSecond,
		providers: make(map[string]override), models: make(map[string]override)}
	for _, group := range []struct {
		entries map[string]profileEntry
		into    map[string]override
	}{{raw.Providers, p.providers}, {raw.Models, p.models}} {
		for name, e := range group.entries {
			if e.CreditsPerSecond < 0 {
				return nil, fmt.Errorf("simulator profiles: %s: negative credits_per_second", name)
			}
			o := override{creditsPerSecond: e.CreditsPerSecond}
			if e.Quirks != nil {
				q, err := ParseQuirks(strings.Join(*e.Quirks, ","))
				if err != nil {
					return nil, fmt.Errorf("simulator profiles: %s: %w", name, err)
				}
				o.quirks = &q
			}
			group.into[name] = o
		}
	}
	return p, nil
}

// of is model m's profile: its own entry's quirks or rate, else its
// provider's, else the default.
func (p *profiles) of(m *catalog.Model) profile {
	out := profile{creditsPerSecond: p.fallback}
	for _, o := range []override{p.providers[m.Provider], p.models[m.ID]} {
		if o.quirks != nil {
			out.quirks = *o.quirks
		}
		if o.creditsPerSecond > 0 {
			out.creditsPerSecond = o.creditsPerSecond
		}
	}
	return out
}

// scale is prior × gen / DefaultGenerationTime, exactly (in 128 bits),
// capped at the longest Duration: the catalogue's prior is for the default
// speed, and Config.GenerationTime speeds every model up or slows it down
// alike.
func scale(prior, gen time.Duration) time.Duration {
	if prior <= 0 || gen <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(prior), uint64(gen))
	if hi >= uint64(DefaultGenerationTime) {
		return time.Duration(1<<63 - 1)
	}
	q, _ := bits.Div64(hi, lo, uint64(DefaultGenerationTime))
	if q > 1<<63-1 {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(q)
}
