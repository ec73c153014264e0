package eventbus

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
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

func TestPublisher(t *testing.T) {
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
	p := &Publisher{API: rec, Bus: bus}
	e, err := notify.NewEvent(completedJob())
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
	var d notify.Detail
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
func TestPublisherFailedEntry(t *testing.T) {
	e, err := notify.NewEvent(completedJob())
	if err != nil {
		t.Fatal(err)
	}
	p := &Publisher{API: fakeAPI{out: &eventbridge.PutEventsOutput{
		FailedEntryCount: 1,
		Entries:          []types.PutEventsResultEntry{{ErrorCode: aws.String("ThrottlingException"), ErrorMessage: aws.String("slow down")}},
	}}}
	err = p.Publish(t.Context(), e)
	if !errors.Is(err, ErrEntryFailed) || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Errorf("Publish = %v, want ErrEntryFailed naming ThrottlingException", err)
	}

	callErr := errors.New("network down")
	p = &Publisher{API: fakeAPI{err: callErr}}
	if err := p.Publish(t.Context(), e); !errors.Is(err, callErr) {
		t.Errorf("Publish = %v, want the call's error", err)
	}
}

// Against moto: an event for a bus that does not exist is not silently lost.
func TestPublisherNoSuchBus(t *testing.T) {
	client, _ := motoEventBridge(t)
	e, err := notify.NewEvent(completedJob())
	if err != nil {
		t.Fatal(err)
	}
	p := &Publisher{API: client, Bus: "no-such-bus"}
	err = p.Publish(t.Context(), e)
	if err == nil {
		t.Fatal("Publish to a missing bus succeeded")
	}
	t.Log(err)
}

func pngURI(n int) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x89}, n))
}

// completedJob is an ended job with an inline image, whose event detail
// shortens it.
func completedJob() job.Job {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	dur := 5.0
	return job.Job{
		ID:        "3f0c2a9e-5b1d-4c7e-9a2f-1d2e3f4a5b6c",
		Tenant:    "tenantA",
		Status:    job.Completed,
		Request:   job.Request{Model: job.Model, Prompt: "A dragon over the mountain", ImageURL: pngURI(3000), AspectRatio: "16:9", Duration: 5},
		Video:     &job.Video{URL: "https://cdn.example.com/out.mp4", Duration: &dur},
		CreatedAt: t0,
		UpdatedAt: t0.Add(40 * time.Second),
		Deadline:  t0.Add(30 * time.Minute),
	}
}
