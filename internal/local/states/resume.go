package states

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/vidgen/vidgen/internal/asl"
)

// Resumer sends task tokens back for the steps and admission (steps.Tasks,
// admission.Tasks), as the AWS adapter does: a token whose task has closed
// (asl.ErrTaskTimedOut) is success, since that execution has moved on and
// reads the job record itself.
type Resumer struct{ Tasks *asl.Tasks }

// SendTaskSuccess completes the callback task waiting for token.
func (r Resumer) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	err := r.Tasks.SendTaskSuccess(ctx, token, output)
	if errors.Is(err, asl.ErrTaskTimedOut) {
		return nil
	}
	return err
}
