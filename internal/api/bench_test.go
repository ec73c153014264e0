package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
)

// These benchmarks measure the api function's handler per request, with
// -benchmem its allocations: a real store (bbolt in a temporary directory,
// local mode's store; the Lambda's is DynamoDB), an in-memory Starter and
// the requests of events/api-submit.json and events/api-query.json as API
// Gateway delivers them, the authorizer's tenant in their context.
//
// Each has two forms: "handler" calls Handle with the decoded request;
// "with-json" also decodes the event and encodes the response as
// aws-lambda-go does around it, which is what one invocation costs the
// function in Lambda short of the runtime API's HTTP.

const benchSampleJobID = "3f0c2a9e-7b1d-4c5e-8a6f-2d9b4e1c7a05" // the job id in events/

// benchHandler is newHandler for benchmarks: random job ids (NewID nil)
// and the real clock, as deployed.
func benchHandler(b *testing.B) (*Handler, *boltstore.Store) {
	b.Helper()
	store, err := boltstore.Open(filepath.Join(b.TempDir(), "jobs.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return &Handler{
		Log:   slog.New(slog.DiscardHandler),
		Store: store, Starter: &starts{}, Keys: keyMap{"sample-key-a": "tenantA"}, Deadline: 30 * time.Minute,
		CursorKey: func(context.Context) ([]byte, error) { return []byte("bench cursor key"), nil },
		Clock:     clock.Real{},
	}, store
}

// sampleEvent reads events/<name> as API Gateway delivers it after the
// authorizer allowed it for tenantA, with jobID in place of the sample's
// job id when not "".
func sampleEvent(b *testing.B, name, jobID string) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		b.Fatal(err)
	}
	if jobID != "" {
		raw = []byte(strings.ReplaceAll(string(raw), benchSampleJobID, jobID))
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		b.Fatalf("events/%s: %v", name, err)
	}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		Lambda: map[string]any{apikey.ContextTenant: "tenantA"},
	}
	if raw, err = json.Marshal(ev); err != nil {
		b.Fatal(err)
	}
	return raw
}

// benchServe runs the loop over one request event, in both forms, and
// fails on any answer but want.
func benchServe(b *testing.B, h *Handler, event []byte, want int) {
	b.Run("handler", func(b *testing.B) {
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(event, &req); err != nil {
			b.Fatal(err)
		}
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			resp, err := h.Handle(ctx, req)
			if err != nil || resp.StatusCode != want {
				b.Fatalf("%d %s %v, want %d", resp.StatusCode, resp.Body, err, want)
			}
		}
	})
	b.Run("with-json", func(b *testing.B) {
		ctx := b.Context()
		b.ReportAllocs()
		for b.Loop() {
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(event, &req); err != nil {
				b.Fatal(err)
			}
			resp, err := h.Handle(ctx, req)
			if err != nil || resp.StatusCode != want {
				b.Fatalf("%d %s %v, want %d", resp.StatusCode, resp.Body, err, want)
			}
			if _, err := json.Marshal(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSubmit submits events/api-submit.json, a new job each time: a
// record written in its own transaction and an execution started.
func BenchmarkSubmit(b *testing.B) {
	h, _ := benchHandler(b)
	benchServe(b, h, sampleEvent(b, "api-submit.json", ""), 200)
}

// BenchmarkQuery queries one job with events/api-query.json, once while it
// is queued and once completed with a video and its usage.
func BenchmarkQuery(b *testing.B) {
	h, store := benchHandler(b)
	resp, err := h.Handle(b.Context(), func() events.APIGatewayV2HTTPRequest {
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(sampleEvent(b, "api-submit.json", ""), &req); err != nil {
			b.Fatal(err)
		}
		return req
	}())
	var sub struct{ ID string }
	if err != nil || resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &sub) != nil {
		b.Fatalf("submit: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	query := sampleEvent(b, "api-query.json", sub.ID)

	b.Run("queued", func(b *testing.B) { benchServe(b, h, query, 200) })
	dur, credits := 5.0, 42.0
	if _, err := store.Update(b.Context(), sub.ID, job.Change{At: time.Now(), Status: job.Completed, UpstreamID: "upstream-1",
		Video: &job.Video{URL: "https://cdn.aimlapi.com/videos/upstream-1.mp4", Duration: &dur}, CreditsUsed: &credits}); err != nil {
		b.Fatal(err)
	}
	b.Run("completed", func(b *testing.B) { benchServe(b, h, query, 200) })
}
