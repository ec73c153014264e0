package lambdafn_test

import (
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/lambdafn"
)

// VIDGEN_JOB_DEADLINE_SECONDS is an operator's deadline for every model
// when positive; 0 (template.yaml's default) leaves each job its model's
// catalogued deadline (catalog.JobDeadline). Anything else stops the start.
func TestJobTimeouts(t *testing.T) {
	for _, tc := range []struct {
		deadline string
		want     time.Duration
		ok       bool
	}{
		{"0", 0, true},
		{"2700", 2700 * time.Second, true},
		{"60", time.Minute, true},
		{"", 0, false},
		{"-1", 0, false},
		{"30m", 0, false},
	} {
		d, q, err := lambdafn.JobTimeouts(map[string]string{lambdafn.EnvDeadline: tc.deadline, lambdafn.EnvQueueTimeout: "21600"})
		if (err == nil) != tc.ok || d != tc.want || (tc.ok && q != 6*time.Hour) {
			t.Errorf("deadline %q: %s, %s, %v; want %s, ok %v", tc.deadline, d, q, err, tc.want, tc.ok)
		}
	}
}
