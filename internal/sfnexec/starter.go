// Package sfnexec is the Step Functions adapter: it starts video_job
// executions by name (at most one per job), tells whether one runs, and
// resumes executions parked on a task token. It makes no decision about
// jobs; its callers (admission, reconcile, api) do.
package sfnexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// StartExecutionAPI is the Step Functions call Starter makes.
type StartExecutionAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// DescribeExecutionAPI is the Step Functions call that tells whether an
// execution runs.
type DescribeExecutionAPI interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// Starter starts the video_job execution named by the job id. A standard
// state machine keeps execution names unique for 90 days, so a repeated
// start of one job cannot run it twice.
type Starter struct {
	Client          StartExecutionAPI
	StateMachineARN string
	// Describe, when set, tells the two cases of ExecutionAlreadyExists
	// apart: an execution that runs with another input (the job's own,
	// started directly with its request) is success, one that has closed
	// is an error. Without it (the function's role may not describe
	// executions) both are success, and the reconciler resumes a job whose
	// execution has closed.
	Describe DescribeExecutionAPI
}

// Start starts an execution of jobID under name. Starting it again while
// it runs is success, as StartExecution answers for the same name and
// input; see Describe for a name that is taken otherwise.
func (s *Starter) Start(ctx context.Context, name, jobID string) error {
	return start(ctx, s.Client, s.Describe, s.StateMachineARN, name, jobID)
}

func start(ctx context.Context, client StartExecutionAPI, describe DescribeExecutionAPI, machineARN, name, jobID string) error {
	input, err := json.Marshal(map[string]string{"job_id": jobID})
	if err != nil {
		return fmt.Errorf("start execution %s: %w", name, err)
	}
	_, err = client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machineARN),
		Name:            aws.String(name),
		Input:           aws.String(string(input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &exists):
		return fmt.Errorf("start execution %s: %w", name, err)
	case describe == nil:
		return nil
	}
	// The name is taken by an execution that has closed, whatever its
	// input, or that runs with another input.
	out, derr := describe.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN(machineARN, name))})
	if derr != nil {
		return fmt.Errorf("start execution %s: %w (describe: %w)", name, err, derr)
	}
	if out.Status == sfntypes.ExecutionStatusRunning {
		return nil
	}
	return fmt.Errorf("start execution %s: it has closed (%s): %w", name, out.Status, err)
}
