package sfnexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
)

// SendTaskSuccessAPI is the Step Functions call Tasks makes.
type SendTaskSuccessAPI interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, opts ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
}

// Tasks resumes executions parked on a task token: a video_job execution
// whose job waits for a slot (steps.Tasks, admission.Tasks).
type Tasks struct{ Client SendTaskSuccessAPI }

// SendTaskSuccess sends the token back with output. A task that has
// already closed (TaskTimedOut: its heartbeat or timeout ran out, or its
// execution ended; TaskDoesNotExist) is success: its execution has moved on
// and reads the job record itself.
func (t Tasks) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	_, err := t.Client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{
		TaskToken: aws.String(token),
		Output:    aws.String(string(output)),
	})
	var (
		timedOut *sfntypes.TaskTimedOut
		missing  *sfntypes.TaskDoesNotExist
	)
	if errors.As(err, &timedOut) || errors.As(err, &missing) {
		return nil
	}
	var api smithy.APIError
	switch {
	case errors.As(err, &api):
		// The token is a credential for the execution and an answer may
		// echo it: the logged error keeps the code alone.
		return fmt.Errorf("send task success: %s", api.ErrorCode())
	case err != nil:
		return fmt.Errorf("send task success: %w", err)
	}
	return nil
}
