package steps_test

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/fsblob/fsblobtest"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
	"github.com/vidgen/vidgen/internal/upstream"
)

// recording passes submits on and keeps the requests it was given.
type recording struct {
	steps.Upstream
	mu   sync.Mutex
	sent []job.Request
}

func (r *recording) Submit(ctx context.Context, req job.Request) (upstream.Generation, error) {
	r.mu.Lock()
	r.sent = append(r.sent, req)
	r.mu.Unlock()
	return r.Upstream.Submit(ctx, req)
}

// flakyBlobs fails every Get while down is set.
type flakyBlobs struct {
	steps.Blobs
	mu   sync.Mutex
	down bool
}

func (f *flakyBlobs) Get(ctx context.Context, key string) ([]byte, string, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, "", errors.New("blob store unavailable")
	}
	return f.Blobs.Get(ctx, key)
}

// offloaded makes a job whose 1 MB image lives in a blob store, as the API
// leaves it, and returns the request the client sent.
func (e *env) offloaded(s blob.Putter) (job.Job, job.Request) {
	e.t.Helper()
	orig := validRequest("a cat surfing", 5)
	orig.ImageURL = "data:image/png;base64," + base64.StdEncoding.EncodeToString(blobtest.PNG(1<<20))
	id := "job-offloaded"
	stored, err := blob.Offload(e.t.Context(), s, id, orig)
	if err != nil {
		e.t.Fatal(err)
	}
	now := e.clk.Now()
	j := job.Job{ID: id, Tenant: "tenant-a", Status: job.Queued, Request: stored,
		CreatedAt: now, UpdatedAt: now, Deadline: now.Add(jobDeadline)}
	if err := e.store.Create(e.t.Context(), j); err != nil {
		e.t.Fatal(err)
	}
	return e.get(id), orig
}

// The upstream receives exactly the data URI the client sent, while the
// record keeps only the reference.
func TestSubmitRestoresOffloadedImage(t *testing.T) {
	e := newEnv(t)
	blobs := fsblobtest.New(t)
	rec := &recording{Upstream: e.h.Upstream}
	h := e.handlers(rec)
	h.Blobs = blobs
	j, orig := e.offloaded(blobs)

	out := e.submit(h, steps.Input{JobID: j.ID})

	if !out.Submitted {
		t.Fatalf("Submit = %+v, want submitted", out)
	}
	if len(rec.sent) != 1 || !reflect.DeepEqual(rec.sent[0], orig) {
		t.Errorf("sent %d requests; want exactly the client's request once", len(rec.sent))
	}
	wantSubmissions(t, e.sim, orig, 1)
	if got := e.get(j.ID).Request; !reflect.DeepEqual(got, j.Request) {
		t.Errorf("the record's request changed: image_url %s", blob.Describe(got.ImageURL))
	}
}

// A blob store that fails sends nothing and claims nothing, so the machine's
// retry submits normally once the store is back.
func TestSubmitBlobStoreDownIsTransient(t *testing.T) {
	e := newEnv(t)
	files := fsblobtest.New(t)
	blobs := &flakyBlobs{Blobs: files, down: true}
	h := e.handlers(e.h.Upstream)
	h.Blobs = blobs
	j, orig := e.offloaded(files)

	_, err := h.Submit(t.Context(), steps.Input{JobID: j.ID})
	if !isTransient(err) {
		t.Fatalf("Submit with the blob store down = %v, want a TransientError", err)
	}
	wantSame(t, e.get(j.ID), j)
	wantSubmissions(t, e.sim, orig, 0)

	blobs.mu.Lock()
	blobs.down = false
	blobs.mu.Unlock()
	if out := e.submit(h, steps.Input{JobID: j.ID}); !out.Submitted {
		t.Fatalf("Submit after the store recovered = %+v, want submitted", out)
	}
	wantSubmissions(t, e.sim, orig, 1)
}

// An image that is gone can never be sent: the job ends at once, with
// nothing submitted.
func TestSubmitMissingBlobEndsJob(t *testing.T) {
	e := newEnv(t)
	h := e.handlers(e.h.Upstream)
	h.Blobs = fsblobtest.New(t) // empty: the image was written elsewhere
	j, _ := e.offloaded(fsblobtest.New(t))

	out := e.submit(h, steps.Input{JobID: j.ID})

	wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Failed})
	got := e.get(j.ID)
	wantFailed(t, got, job.ErrNameInternal)
	if got.SubmitStarted != nil {
		t.Errorf("SubmitStarted = %v, want no claim", got.SubmitStarted)
	}
	if n := e.sim.Submissions(); n != 0 {
		t.Errorf("simulator accepted %d submits, want 0", n)
	}
}
