package steps_test

import (
	"testing"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/job/jobtest"
	"github.com/vidgen/vidgen/internal/steps"
)

// The error types the steps return are reported by their Go type names
// (aws-lambda-go's rule, job.ReportedName), and those are the names the
// error-name contract declares and the state machines match: renaming a
// type would silently rename the error. (job.TransientError, which the
// steps return too, is held to its name in package job.)
func TestErrorTypesHaveContractNames(t *testing.T) {
	jobtest.WantLambdaErrorNames(t, map[string]error{
		job.ErrorTypeIdempotencyKeyReused: &steps.IdempotencyKeyReusedError{},
	})
}
