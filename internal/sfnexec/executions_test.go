package sfnexec

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// fakeStates answers StartExecution with startErr and DescribeExecution
// with status (or describeErr), recording what it was asked.
type fakeStates struct {
	startErr    error
	status      sfntypes.ExecutionStatus
	describeErr error
	described   []string
}

func (f *fakeStates) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	if f.startErr != nil {
		return nil, f.startErr
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(executionARN(*in.StateMachineArn, *in.Name))}, nil
}

func (f *fakeStates) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.described = append(f.described, *in.ExecutionArn)
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	return &sfn.DescribeExecutionOutput{Status: f.status}, nil
}

// TestStartNameTaken: StartExecution answers ExecutionAlreadyExists for a
// name whose execution has closed, or runs with another input. Executions
// (the reconciler's) and a Starter with Describe tell the two apart; a
// Starter without takes both for started.
func TestStartNameTaken(t *testing.T) {
	const machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:vidgen-dev-video-job"
	exists := &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists")}
	tests := []struct {
		name     string
		states   fakeStates
		describe bool // a Starter with Describe (Executions always has it)
		wantErr  bool // an error wrapping StartExecution's
	}{
		{name: "started", states: fakeStates{}},
		{name: "started, with Describe", states: fakeStates{}, describe: true},
		{name: "taken, running", states: fakeStates{startErr: exists, status: sfntypes.ExecutionStatusRunning}, describe: true},
		{name: "taken, closed", states: fakeStates{startErr: exists, status: sfntypes.ExecutionStatusSucceeded}, describe: true, wantErr: true},
		{name: "taken, timed out", states: fakeStates{startErr: exists, status: sfntypes.ExecutionStatusTimedOut}, describe: true, wantErr: true},
		{name: "taken, cannot describe", states: fakeStates{startErr: exists, describeErr: errors.New("AccessDenied")}, describe: true, wantErr: true},
		{name: "taken, no Describe", states: fakeStates{startErr: exists, status: sfntypes.ExecutionStatusSucceeded}},
		{name: "other error", states: fakeStates{startErr: &sfntypes.StateMachineDoesNotExist{}}, wantErr: true},
		{name: "other error, with Describe", states: fakeStates{startErr: &sfntypes.StateMachineDoesNotExist{}}, describe: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(who string, err error, states *fakeStates, mayDescribe bool) {
				t.Helper()
				if got := err != nil && errors.Is(err, tt.states.startErr); got != tt.wantErr || !tt.wantErr && err != nil {
					t.Errorf("%s: %v, want an error wrapping StartExecution's: %v", who, err, tt.wantErr)
				}
				want := []string(nil)
				if mayDescribe && errors.Is(tt.states.startErr, exists) {
					want = []string{executionARN(machine, "job-1")}
				}
				if !slices.Equal(states.described, want) {
					t.Errorf("%s described %v, want %v", who, states.described, want)
				}
			}
			s := tt.states
			starter := &Starter{Client: &s, StateMachineARN: machine}
			if tt.describe {
				starter.Describe = &s
			}
			check("Starter", starter.Start(context.Background(), "job-1", "job-1"), &s, tt.describe)
			if tt.describe { // Executions always describes
				x := tt.states
				check("Executions", (&Executions{Client: &x, StateMachineARN: machine}).Start(context.Background(), "job-1", "job-1"), &x, true)
			}
		})
	}
}
