package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timing is what the poll loop needs of a model: its provider, its prior
// by clip duration and its deadline, the same as its Model's.
type Timing struct {
	Provider string
	Prior    map[int]time.Duration
	Deadline time.Duration
}

// PriorFor is the expected generation time of a clip of d seconds, as
// (*Model).PriorFor.
func (t Timing) PriorFor(d int) time.Duration { return priorFor(t.Prior, d) }

// timings is models.json alone, parsed once on first use: the functions
// that poll but never validate a request (submit, poll) then link and
// parse 3 KB, not the reference's 190 KB of schemas, which would take the
// poll function past Lambda's 10-MiB budget of issue 17.
var timings = sync.OnceValues(func() (meta, error) {
	var md meta
	if err := json.Unmarshal(modelsJSON, &md); err != nil {
		return meta{}, fmt.Errorf("catalog models: %w", err)
	}
	return md, nil
})

// TimingOf is model's timing as models.json gives it, for a model its
// providers name; false for any other. It never reads the schemas: a model
// it answers for may be one the reference has no schema for (which no
// validated request can name), and Builtin agrees with it for every
// catalogued model (TestTimingAgreesWithTheCatalogue).
func TimingOf(model string) (Timing, bool) {
	md, err := timings()
	if err != nil {
		return Timing{}, false
	}
	t, err := md.timing(model)
	return t, err == nil
}

// timing finds id's provider, and its prior and deadline: its own entry's
// over its provider's.
func (md meta) timing(id string) (Timing, error) {
	var t Timing
	var prior map[string]int
	var deadline int
	for _, p := range md.Providers {
		if slices.Contains(p.IDs, id) || slices.ContainsFunc(p.Prefixes, func(pre string) bool { return strings.HasPrefix(id, pre) }) {
			if t.Provider != "" {
				return Timing{}, fmt.Errorf("both %s and %s claim it", t.Provider, p.Name)
			}
			t.Provider, prior, deadline = p.Name, p.Prior, p.Deadline
		}
	}
	if t.Provider == "" {
		return Timing{}, errors.New("no provider in models.json names it")
	}
	if o, ok := md.Models[id]; ok {
		if o.Prior != nil {
			prior = o.Prior
		}
		if o.Deadline != 0 {
			deadline = o.Deadline
		}
	}
	if len(prior) == 0 || deadline <= 0 {
		return Timing{}, errors.New("no prior or deadline")
	}
	t.Prior = make(map[int]time.Duration, len(prior))
	for d, s := range prior {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || s <= 0 {
			return Timing{}, fmt.Errorf("prior %q: %d s: want a positive clip duration and time", d, s)
		}
		t.Prior[n] = time.Duration(s) * time.Second
	}
	t.Deadline = time.Duration(deadline) * time.Second
	return t, nil
}
