package sfnexec

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

type sendTaskSuccess struct {
	err error
	got *sfn.SendTaskSuccessInput
}

func (s *sendTaskSuccess) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	s.got = in
	return &sfn.SendTaskSuccessOutput{}, s.err
}

// TestTasksClosedIsSuccess: a parked task that has closed meanwhile needs
// no resume; any other failure is reported without the token, which is a
// credential for the execution.
func TestTasksClosedIsSuccess(t *testing.T) {
	const token = "secret-task-token"
	for _, tc := range []struct {
		name string
		err  error
		ok   bool
	}{
		{"sent", nil, true},
		{"timed out", &sfntypes.TaskTimedOut{Message: new("Task Timed Out: '" + token + "'")}, true},
		{"gone", &sfntypes.TaskDoesNotExist{Message: new("no task " + token)}, true},
		{"invalid", &sfntypes.InvalidToken{Message: new("Invalid Token: '" + token + "'")}, false},
		{"network", errors.New("dial tcp: connection refused"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &sendTaskSuccess{err: tc.err}
			err := Tasks{Client: c}.SendTaskSuccess(t.Context(), token, json.RawMessage(`{}`))
			if (err == nil) != tc.ok {
				t.Fatalf("SendTaskSuccess: %v, want ok %v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Fatalf("error %q shows the token", err)
			}
			if *c.got.TaskToken != token || *c.got.Output != "{}" {
				t.Fatalf("sent %q %q", *c.got.TaskToken, *c.got.Output)
			}
		})
	}
}
