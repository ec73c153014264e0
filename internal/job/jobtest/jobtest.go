// Package jobtest is test support for the packages built on package job:
// checks of the error-name contract that each package holds its own
// error types to. Only tests import it.
package jobtest

import (
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
