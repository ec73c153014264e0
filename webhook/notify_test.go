package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/notify/notifytest"
	"github.com/vidgen/vidgen/webhook"
)

// A receiver verifies, with this package alone and its tenant's secret,
// the webhook vidgen's own sender (notify) delivers when a job ends; and
// refuses it under another tenant's secret.
func TestVerifiesWhatNotifySends(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	secrets := notify.DerivedSecrets{Master: []byte("0123456789abcdef0123456789abcdef")}
	mine, err := secrets.Secret(t.Context(), "tenantA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := secrets.Secret(t.Context(), "tenantB")
	if err != nil {
		t.Fatal(err)
	}
	seconds := 5.0
	j := job.Job{ID: "j1", Tenant: "tenantA", Status: job.Completed,
		Request:   job.Request{Model: "gen3a_turbo", Prompt: "a calm sea", ImageURL: "https://example.com/a.jpg", Duration: 5, AspectRatio: "16:9"},
		Video:     &job.Video{URL: "https://cdn.example.com/v.mp4", Duration: &seconds, Key: "videos/j1.mp4"},
		CreatedAt: at.Add(-time.Minute), UpdatedAt: at}
	g := notifytest.Deliver(t, secrets, at, j)
	if err := webhook.Verify(mine, g.Header, g.Body, at.Add(30*time.Second), 0); err != nil {
		t.Errorf("Verify with the tenant's secret = %v, want nil", err)
	}
	if err := webhook.Verify(other, g.Header, g.Body, at.Add(30*time.Second), 0); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("Verify with another tenant's secret = %v, want ErrSignature", err)
	}
	if id := g.Header.Get(webhook.HeaderID); id != "msg_j1" {
		t.Errorf("%s = %q, want msg_j1", webhook.HeaderID, id)
	}
	// Payload holds every field sent: decoding refuses unknown ones.
	var p webhook.Payload
	dec := json.NewDecoder(bytes.NewReader(g.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode %s as a Payload: %v", g.Body, err)
	}
	d := p.Data
	if p.Type != webhook.TypeCompleted || !p.Timestamp.Equal(at) || d.ID != "j1" || d.Tenant != "tenantA" || d.Status != vidgen.Completed ||
		d.Video == nil || d.Video.URL != j.Video.URL || d.Video.Key != "videos/j1.mp4" || d.Video.Duration == nil || *d.Video.Duration != seconds ||
		d.Error != nil || !d.CreatedAt.Equal(j.CreatedAt) || !d.UpdatedAt.Equal(at) || d.Model != "gen3a_turbo" ||
		!reflect.DeepEqual(d.Request, webhook.RequestSummary{Model: "gen3a_turbo", Prompt: "a calm sea", AspectRatio: "16:9", Duration: 5, Image: "https://example.com/a.jpg"}) {
		t.Errorf("body %s decoded as %+v", g.Body, p)
	}
}
