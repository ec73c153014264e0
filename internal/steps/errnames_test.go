package steps_test

import (
	"testing"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// The error types the steps return are reported by their Go type names
// (aws-lambda-go's rule, job.ReportedName), and those are the names the
// error-name contract declares and the state machines match: renaming a
// type would silently rename the error.
func TestErrorTypesHaveContractNames(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&steps.TransientError{}, job.ErrorTypeTransient},
		{&steps.IdempotencyKeyReusedError{}, job.ErrorTypeIdempotencyKeyReused},
	} {
		got := job.ReportedName(tc.err)
		if got != tc.want {
			t.Errorf("%T is reported as %q, want %q", tc.err, got, tc.want)
		}
		if n, ok := job.LookupErrorName(got); !ok || n.Source != job.FromLambda {
			t.Errorf("%q is not a Lambda error name in job.ErrorNames (%+v, %v)", got, n, ok)
		}
	}
}
