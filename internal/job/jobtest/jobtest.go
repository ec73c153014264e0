// Package jobtest is test support for the packages built on package job:
// checks of the error-name contract (the names of a package's own error
// types, the names a state machine retries). Only tests import it.
package jobtest

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/vidgen/vidgen/internal/job"
)

// WantLambdaErrorNames checks each error of want against the name it is
// keyed by: the error is reported by that name (job.ReportedName,
// aws-lambda-go's rule) and the name is a Lambda error name in the
// contract (job.ErrorNames), one the state machines may match. Renaming a
// type would silently rename its error; this makes it fail a test.
func WantLambdaErrorNames(t testing.TB, want map[string]error) {
	t.Helper()
	if len(want) == 0 {
		t.Error("WantLambdaErrorNames: no errors to check")
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		err := want[name]
		got := job.ReportedName(err)
		if got != name {
			t.Errorf("%T is reported as %q, want %q", err, got, name)
		}
		if n, ok := job.LookupErrorName(got); !ok || n.Source != job.FromLambda {
			t.Errorf("%q is not a Lambda error name in job.ErrorNames (%+v, %v)", got, n, ok)
		}
	}
}

// Retried reads the error names the Retry of state lists in the state
// machine definition at path, in order.
func Retried(t testing.TB, path, state string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sm struct {
		States map[string]struct {
			Retry []struct{ ErrorEquals []string }
		}
	}
	if err := json.Unmarshal(data, &sm); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range sm.States[state].Retry {
		names = append(names, r.ErrorEquals...)
	}
	return names
}
