package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/client"
	"github.com/vidgen/vidgen/internal/local"
)

const (
	keyA = "client-test-key-a"
	keyB = "client-test-key-b"
	// image is the smallest https image the API accepts; the simulator
	// never fetches it.
	image = "https://example.com/mountain.jpg"
)

// startLocal runs the real local runtime in-process, its clock 200× the
// wall clock so that a 25 s generation takes 125 ms, and returns clients of
// tenants A and B, whose every exchange is checked against the OpenAPI
// document. The clients poll every few milliseconds: the runtime
// does not hold long-polls in every version, and tests wait on the job,
// never on elapsed time.
func startLocal(t *testing.T) (a, b *client.Client, rt *local.Runtime) {
	t.Helper()
	rt, err := local.Start(local.Config{
		Addr:      "127.0.0.1:0",
		APIKeys:   "tenantA:" + keyA + ",tenantB:" + keyB,
		TimeScale: 200,
		DataDir:   t.TempDir(),
		Template:  filepath.Join("..", "template.yaml"),
		// Six virtual hours are 108 s of real time: no job times out on a
		// loaded machine.
		JobDeadline: 6 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	opts := []client.Option{client.WithPollInterval(5*time.Millisecond, 20*time.Millisecond), client.WithBackoff(time.Millisecond, 10*time.Millisecond),
		client.WithHTTPClient(checked(t))}
	if a, err = client.New(rt.URL, keyA, opts...); err != nil {
		t.Fatal(err)
	}
	if b, err = client.New(rt.URL, keyB, opts...); err != nil {
		t.Fatal(err)
	}
	return a, b, rt
}

// A job submitted with the client ends completed; Wait reports its
// progress and Download writes a playable MP4.
func TestSubmitWaitDownload(t *testing.T) {
	a, _, _ := startLocal(t)
	ctx := t.Context()
	g, err := a.Submit(ctx, vidgen.Request{ImageURL: image, Prompt: "a calm sea", Duration: 10})
	if err != nil {
		t.Fatal(err)
	}
	if g.ID == "" || g.Status != vidgen.Queued {
		t.Fatalf("Submit = %+v, want an id and status queued", g)
	}
	var seen []vidgen.Status
	done, err := a.Wait(ctx, g.ID, func(p vidgen.Generation) { seen = append(seen, p.Status) })
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != vidgen.Completed || done.Video == nil || done.Video.URL == "" {
		t.Fatalf("Wait = %+v (error %+v), want completed with a video", done, done.Error)
	}
	if done.Model != client.DefaultModel {
		t.Errorf("Wait's job names model %q, want the default %s it was submitted with", done.Model, client.DefaultModel)
	}
	if len(seen) == 0 || seen[len(seen)-1] != vidgen.Completed {
		t.Errorf("progress saw %v, want it to end with completed", seen)
	}
	var video bytes.Buffer
	n, err := a.Download(ctx, g.ID, &video)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(video.Len()) || video.Len() < 8 || string(video.Bytes()[4:8]) != "ftyp" {
		t.Fatalf("Download wrote %d bytes (reported %d), starting %q: not an MP4", video.Len(), n, video.Bytes()[:min(8, video.Len())])
	}
	if done.Video.Duration == nil || *done.Video.Duration <= 0 {
		t.Errorf("video duration = %v", done.Video.Duration)
	}
}

// Submitting twice with one Idempotency-Key answers one job; the client
// sets a fresh key on each Submit otherwise.
func TestSubmitIdempotency(t *testing.T) {
	a, _, _ := startLocal(t)
	ctx := t.Context()
	req := vidgen.Request{ImageURL: image, Prompt: "twice"}
	first, err := a.Submit(ctx, req, client.IdempotencyKey("order-1042"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := a.Submit(ctx, req, client.IdempotencyKey("order-1042"))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Errorf("same key: ids %s and %s, want one job", first.ID, again.ID)
	}
	other, err := a.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == first.ID {
		t.Errorf("no key given: got the keyed job %s again", other.ID)
	}
	// The same key with another request is refused, typed.
	_, err = a.Submit(ctx, vidgen.Request{ImageURL: image, Prompt: "something else"}, client.IdempotencyKey("order-1042"))
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnprocessableEntity || ae.Name != "IdempotencyKeyReused" {
		t.Errorf("reused key, other request: err = %v, want a 422 IdempotencyKeyReused APIError", err)
	}
}

// The API's error answers come back as *APIError with their name and
// fields: a bad request, another tenant's job, a wrong key.
func TestAPIErrors(t *testing.T) {
	a, b, rt := startLocal(t)
	ctx := t.Context()
	_, err := a.Submit(ctx, vidgen.Request{ImageURL: "ftp://example.com/a.jpg", Duration: 7})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || ae.Name != "ValidationError" {
		t.Fatalf("bad request: err = %v, want a 400 ValidationError", err)
	}
	for _, f := range []string{"image_url", "duration"} {
		if _, ok := ae.Field(f); !ok {
			t.Errorf("ValidationError fields %+v lack %s", ae.Fields, f)
		}
	}
	g, err := a.Submit(ctx, vidgen.Request{ImageURL: image})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, g.ID); !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound {
		t.Errorf("another tenant's job: err = %v, want 404", err)
	}
	bad, err := client.New(rt.URL, "no-such-key", client.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Get(ctx, g.ID); !errors.As(err, &ae) || ae.StatusCode/100 != 4 || ae.Message == "" {
		t.Errorf("unknown key: err = %v, want a 4xx APIError with a message", err)
	}
}

// Cancel ends a running job as error/Cancelled; a finished job answers 409.
// A failed job is a result of Wait, not an error.
func TestCancelAndFailure(t *testing.T) {
	a, _, _ := startLocal(t)
	ctx := t.Context()
	never, err := a.Submit(ctx, vidgen.Request{ImageURL: image, Prompt: "sim:never"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Cancel(ctx, never.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != vidgen.Failed || c.Error == nil || c.Error.Name != "Cancelled" {
		t.Errorf("Cancel = %+v, want error/Cancelled", c)
	}
	failed, err := a.Submit(ctx, vidgen.Request{ImageURL: image, Prompt: "sim:error"})
	if err != nil {
		t.Fatal(err)
	}
	end, err := a.Wait(ctx, failed.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if end.Status != vidgen.Failed || end.Error == nil {
		t.Fatalf("Wait on sim:error = %+v, want status error", end)
	}
	var ae *client.APIError
	if _, err := a.Cancel(ctx, failed.ID); !errors.As(err, &ae) || ae.StatusCode != http.StatusConflict {
		t.Errorf("Cancel of a failed job: err = %v, want 409", err)
	}
	if _, err := a.Download(ctx, failed.ID, &bytes.Buffer{}); !errors.Is(err, client.ErrNotCompleted) {
		t.Errorf("Download of a failed job: err = %v, want ErrNotCompleted", err)
	}
}

// Wait stops when its context ends; the job runs on.
func TestWaitCancelled(t *testing.T) {
	a, _, _ := startLocal(t)
	g, err := a.Submit(t.Context(), vidgen.Request{ImageURL: image, Prompt: "sim:never"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	answers := 0
	_, err = a.Wait(ctx, g.ID, func(vidgen.Generation) {
		if answers++; answers == 1 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel = %v, want context.Canceled", err)
	}
	if now, err := a.Get(t.Context(), g.ID); err != nil || client.Terminal(now.Status) {
		t.Errorf("job after Wait stopped: %+v, %v; want it still running", now, err)
	}
}

// List walks every page with the cursors the API returns; SubmitBatch
// submits each item once, in order, with its own key.
func TestBatchAndList(t *testing.T) {
	a, b, _ := startLocal(t)
	ctx := t.Context()
	reqs := make([]vidgen.Request, 7)
	for i := range reqs {
		reqs[i] = vidgen.Request{ImageURL: image, Prompt: "batch item"}
	}
	reqs[3].Duration = 7 // invalid: this item alone fails
	res := a.SubmitBatch(ctx, reqs, client.BatchOptions{Concurrency: 3, KeyPrefix: "nightly"})
	var ids []string
	for i, r := range res {
		var ae *client.APIError
		switch {
		case r.Index != i || r.IdempotencyKey != fmt.Sprintf("nightly-%d", i):
			t.Errorf("result %d: index %d key %q", i, r.Index, r.IdempotencyKey)
		case i == 3:
			if !errors.As(r.Err, &ae) || ae.StatusCode != http.StatusBadRequest {
				t.Errorf("item 3: err = %v, want 400", r.Err)
			}
		case r.Err != nil || r.Generation.ID == "":
			t.Errorf("item %d: %+v", i, r)
		default:
			ids = append(ids, r.Generation.ID)
		}
	}
	// The same batch again, same prefix: the same jobs, none created.
	for i, r := range a.SubmitBatch(ctx, reqs, client.BatchOptions{KeyPrefix: "nightly"}) {
		if i != 3 && (r.Err != nil || !slices.Contains(ids, r.Generation.ID)) {
			t.Errorf("rerun item %d: %+v, want one of the first run's jobs", i, r)
		}
	}
	var listed []string
	for g, err := range a.List(ctx, client.ListOptions{PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, g.ID)
	}
	slices.Sort(ids)
	slices.Sort(listed)
	if !slices.Equal(ids, listed) {
		t.Errorf("List over pages of 2 = %v, want the batch's %v", listed, ids)
	}
	// Breaking out of the loop stops paging.
	count := 0
	for range a.List(ctx, client.ListOptions{PageSize: 2}) {
		if count++; count == 3 {
			break
		}
	}
	for g, err := range b.List(ctx, client.ListOptions{}) {
		t.Errorf("tenant B lists %+v, %v: want none of A's jobs", g, err)
	}
	// The model filter: every job of the batch is gen3a_turbo's.
	page, err := a.ListPage(ctx, client.ListOptions{Model: "gen3a_turbo", PageSize: 100}, "")
	if err != nil || len(page.Data) != len(ids) || page.Usage == nil || page.Usage.Day == "" {
		t.Errorf("ListPage(model gen3a_turbo) = %d jobs, usage %+v, %v; want the batch's %d and the day's usage", len(page.Data), page.Usage, err, len(ids))
	}
	page, err = a.ListPage(ctx, client.ListOptions{Model: "klingai/v2.1-master-text-to-video"}, "")
	if err != nil || len(page.Data) != 0 {
		t.Errorf("ListPage(another model) = %d jobs, %v; want none", len(page.Data), err)
	}
}
