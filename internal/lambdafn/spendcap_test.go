package lambdafn_test

import (
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/lambdafn"
)

// VIDGEN_SPEND_CAP_CREDITS_PER_DAY sets the per-tenant daily spend cap; 0
// is none, and a value that is not a number of credits ≥ 0 stops the
// function's start, naming the variable.
func TestSpendCapFromEnvironment(t *testing.T) {
	store := bolttest.New(t)
	for _, tc := range []struct {
		value   string
		credits float64
		enabled bool
	}{{"0", 0, false}, {"1500000", 1_500_000, true}, {"2.5", 2.5, true}} {
		c, err := lambdafn.SpendCap(map[string]string{lambdafn.EnvSpendCap: tc.value}, store)
		if err != nil || c.Credits != tc.credits || c.Enabled() != tc.enabled {
			t.Errorf("%q: %+v, %v; want %v credits, enabled %v", tc.value, c, err, tc.credits, tc.enabled)
		}
	}
	for _, bad := range []string{"", "-1", "lots", "Inf", "NaN"} {
		if _, err := lambdafn.SpendCap(map[string]string{lambdafn.EnvSpendCap: bad}, store); err == nil || !strings.Contains(err.Error(), lambdafn.EnvSpendCap) {
			t.Errorf("%q: %v, want an error naming %s", bad, err, lambdafn.EnvSpendCap)
		}
	}
}
