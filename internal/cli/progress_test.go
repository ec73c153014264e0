package cli

import (
	"testing"
	"time"

	"github.com/vidgen/vidgen"
)

// The bar's text and share follow the job's status, place in line and
// eta, relative to the time it is drawn.
func TestDescribe(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	started := now.Add(-30 * time.Second)
	eta := func(at, hi time.Duration) *vidgen.ETA {
		return &vidgen.ETA{At: now.Add(at), Earliest: now.Add(at - 5*time.Second), Latest: now.Add(hi), Confidence: 0.8}
	}
	two := 2
	for _, tc := range []struct {
		name string
		g    vidgen.Generation
		desc string
		pct  int
	}{
		{"in line", vidgen.Generation{ID: "j", Status: vidgen.Queued, QueuePosition: &two}, "j queued (#2 in line)", 0},
		{"a third done", vidgen.Generation{ID: "j", Status: vidgen.Generating, StartedAt: &started, ETA: eta(60*time.Second, 90*time.Second)}, "j generating, ETA 1:00", 33},
		{"past the eta", vidgen.Generation{ID: "j", Status: vidgen.Generating, StartedAt: &started, ETA: eta(-time.Second, 9*time.Second)}, "j generating, ETA any moment (80% within 0:09)", 99},
		{"past the range", vidgen.Generation{ID: "j", Status: vidgen.Generating, StartedAt: &started, ETA: eta(-20*time.Second, -time.Second)}, "j generating, taking longer than expected", 99},
		{"completed", vidgen.Generation{ID: "j", Status: vidgen.Completed}, "j completed", 100},
		{"failed", vidgen.Generation{ID: "j", Status: vidgen.Failed}, "j error", 0},
	} {
		desc, pct := describe(tc.g, now)
		if desc != tc.desc || pct != tc.pct {
			t.Errorf("%s: %q, %d%%; want %q, %d%%", tc.name, desc, pct, tc.desc, tc.pct)
		}
	}
}
