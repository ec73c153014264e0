package reconcilefn

import (
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/lambdafn"
)

// The reconciler's MinAge and Grace come from the template's parameters,
// through its environment.
func TestReconcilerTakesItsIntervalsFromTheEnvironment(t *testing.T) {
	env := map[string]string{
		// What Lambda gives every function (lambdafn.Config).
		"AWS_REGION":                     "us-east-1",
		"AWS_ACCESS_KEY_ID":              "ASIARECONCILETEST",
		"AWS_SECRET_ACCESS_KEY":          "reconcile-test-secret",
		lambdafn.EnvTable:                "vidgen-reconcile-test-jobs",
		lambdafn.EnvStateMachine:         "arn:aws:states:us-east-1:123456789012:stateMachine:vidgen-reconcile-test-video-job",
		lambdafn.EnvMaxInFlight:          "50",
		lambdafn.EnvMaxInFlightPerTenant: "25",
		lambdafn.EnvReconcileMinAge:      "90",
		lambdafn.EnvReconcileGrace:       "120",
	}
	getenv := func(k string) string { return env[k] }
	r, err := newReconciler(t.Context(), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if r.MinAge != 90*time.Second || r.Grace != 2*time.Minute {
		t.Fatalf("MinAge %v, Grace %v; want 1m30s and 2m", r.MinAge, r.Grace)
	}
	for _, bad := range []string{"0", "-5", "5m", ""} {
		env[lambdafn.EnvReconcileGrace] = bad
		if _, err := newReconciler(t.Context(), getenv); err == nil || !strings.Contains(err.Error(), lambdafn.EnvReconcileGrace) {
			t.Errorf("Grace %q: error %v, want one naming %s", bad, err, lambdafn.EnvReconcileGrace)
		}
	}
}
