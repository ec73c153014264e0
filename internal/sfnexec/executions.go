package sfnexec

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// ExecutionsAPI is the Step Functions calls Executions makes.
type ExecutionsAPI interface {
	StartExecutionAPI
	DescribeExecutionAPI
}

// Executions runs video_job executions by name for the reconciler.
type Executions struct {
	Client          ExecutionsAPI
	StateMachineARN string
}

// executionARN derives an execution's ARN from its state machine's:
// arn:…:stateMachine:NAME becomes arn:…:execution:NAME:EXECUTION.
func executionARN(machineARN, name string) string {
	return strings.Replace(machineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// Running reports whether the named execution exists and runs.
func (x *Executions) Running(ctx context.Context, name string) (bool, error) {
	out, err := x.Client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN(x.StateMachineARN, name))})
	var missing *sfntypes.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe execution %s: %w", name, err)
	}
	return out.Status == sfntypes.ExecutionStatusRunning, nil
}

// Start starts an execution of jobID under name. One that runs is success;
// one that has closed is an error, so that the reconciler does not count a
// job as resumed when nothing runs it.
func (x *Executions) Start(ctx context.Context, name, jobID string) error {
	return start(ctx, x.Client, x.Client, x.StateMachineARN, name, jobID)
}
