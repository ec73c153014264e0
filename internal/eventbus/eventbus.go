// Package eventbus is the EventBridge adapter: it puts notify's job-ended
// events on a bus. What an event says is notify's; how it travels is this
// package's.
package eventbus

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/vidgen/vidgen/internal/notify"
)

// ErrEntryFailed means EventBridge accepted the PutEvents call but refused
// the event itself. PutEvents reports that only in its answer, not as an
// error, so a caller that checked only the error would lose the event.
var ErrEntryFailed = errors.New("eventbridge refused the event")

// PutEventsAPI is the EventBridge call Publisher makes.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher publishes events to an EventBridge bus.
type Publisher struct {
	API PutEventsAPI
	Bus string // name or ARN; "" is the account's default bus
}

// Publish puts e on the bus. A refused entry is an error wrapping
// ErrEntryFailed that names EventBridge's error code; codes such as
// ThrottlingException and InternalFailure are worth retrying.
func (p *Publisher) Publish(ctx context.Context, e notify.Event) error {
	detail, err := e.DetailJSON()
	if err != nil {
		return fmt.Errorf("eventbus: %w", err)
	}
	entry := types.PutEventsRequestEntry{
		Source:     aws.String(e.Source),
		DetailType: aws.String(e.DetailType),
		Detail:     aws.String(string(detail)),
	}
	if !e.Time.IsZero() {
		entry.Time = aws.Time(e.Time)
	}
	if p.Bus != "" {
		entry.EventBusName = aws.String(p.Bus)
	}
	out, err := p.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry}})
	if err != nil {
		return fmt.Errorf("eventbus: put event of job %s: %w", e.Detail.ID, err)
	}
	if out.FailedEntryCount == 0 {
		return nil
	}
	code, msg := "unknown", ""
	if len(out.Entries) > 0 {
		code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
	}
	return fmt.Errorf("eventbus: put event of job %s: %w: %s %s", e.Detail.ID, ErrEntryFailed, code, msg)
}
