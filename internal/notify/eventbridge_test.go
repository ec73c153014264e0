package notify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/vidgen/vidgen/internal/awstest"
)

// motoEventBridge returns a client of moto's EventBridge and a new bus on
// it. awstest sets endpoint variables only for the services it knows, so
// the endpoint is given here.
func motoEventBridge(t *testing.T) (*eventbridge.Client, string) {
	t.Helper()
	cfg, err := awstest.Config(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	client := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		o.BaseEndpoint = aws.String(awstest.Endpoint())
	})
	// Unique, since make test shares one moto among all packages and runs.
	bus := "vidgen-test-" + rand.Text()
	if _, err := client.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatalf("create bus: %v", err)
	}
	t.Cleanup(func() {
		client.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})
	return client, bus
}

// recordingAPI passes calls on and keeps what was sent and answered.
type recordingAPI struct {
	next PutEventsAPI
	in   *eventbridge.PutEventsInput
	out  *eventbridge.PutEventsOutput
}

func (r *recordingAPI) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	r.in = in
	out, err := r.next.PutEvents(ctx, in, opts...)
	r.out = out
	return out, err
}

func TestEventBridgePublisher(t *testing.T) {
	client, bus := motoEventBridge(t)
	// A rule on the bus, as a deployment would have, so the event has
	// somewhere to match.
	if _, err := client.PutRule(t.Context(), &eventbridge.PutRuleInput{
		Name:         aws.String("finished-jobs"),
		EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source":["vidgen"],"detail-type":["Video Generation Completed","Video Generation Failed"]}`),
	}); err != nil {
		t.Fatalf("put rule: %v", err)
	}
	rec := &recordingAPI{next: client}
	p := &EventBridgePublisher{API: rec, Bus: bus}
	e, err := NewEvent(completedJob())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(t.Context(), e); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if rec.out.FailedEntryCount != 0 || len(rec.out.Entries) != 1 || aws.ToString(rec.out.Entries[0].EventId) == "" {
		t.Errorf("PutEvents answered %+v, want one accepted entry", rec.out)
	}
	entry := rec.in.Entries[0]
	if aws.ToString(entry.Source) != "vidgen" || aws.ToString(entry.DetailType) != "Video Generation Completed" ||
		aws.ToString(entry.EventBusName) != bus || !aws.ToTime(entry.Time).Equal(e.Time) {
		t.Errorf("entry = %+v", entry)
	}
	var d Detail
	if err := json.Unmarshal([]byte(aws.ToString(entry.Detail)), &d); err != nil {
		t.Fatal(err)
	}
	if d.ID != e.Detail.ID || d.Tenant != "tenantA" || d.Video.URL != e.Detail.Video.URL || d.Request.Image != "data:image/png (3000 bytes)" {
		t.Errorf("detail = %+v", d)
	}
}

// fakeAPI answers PutEvents with a fixed result.
type fakeAPI struct {
	out *eventbridge.PutEventsOutput
	err error
}

func (f fakeAPI) PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	return f.out, f.err
}

// PutEvents reports a refused entry in its answer, not as an error; the
// publisher must not take it for success.
func TestEventBridgePublisherFailedEntry(t *testing.T) {
	e, err := NewEvent(completedJob())
	if err != nil {
		t.Fatal(err)
	}
	p := &EventBridgePublisher{API: fakeAPI{out: &eventbridge.PutEventsOutput{
		FailedEntryCount: 1,
		Entries:          []types.PutEventsResultEntry{{ErrorCode: aws.String("ThrottlingException"), ErrorMessage: aws.String("slow down")}},
	}}}
	err = p.Publish(t.Context(), e)
	if !errors.Is(err, ErrEntryFailed) || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Errorf("Publish = %v, want ErrEntryFailed naming ThrottlingException", err)
	}

	callErr := errors.New("network down")
	p = &EventBridgePublisher{API: fakeAPI{err: callErr}}
	if err := p.Publish(t.Context(), e); !errors.Is(err, callErr) {
		t.Errorf("Publish = %v, want the call's error", err)
	}
}

// Against moto: an event for a bus that does not exist is not silently lost.
func TestEventBridgePublisherNoSuchBus(t *testing.T) {
	client, _ := motoEventBridge(t)
	e, err := NewEvent(completedJob())
	if err != nil {
		t.Fatal(err)
	}
	p := &EventBridgePublisher{API: client, Bus: "no-such-bus"}
	err = p.Publish(t.Context(), e)
	if err == nil {
		t.Fatal("Publish to a missing bus succeeded")
	}
	t.Log(err)
}
