package steps_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/fsblob"
	"github.com/vidgen/vidgen/internal/blob/fsblob/fsblobtest"
	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/steps"
	"github.com/vidgen/vidgen/internal/upstream"
)

// regStart is when every registration test begins.
var regStart = time.Date(2026, 4, 2, 9, 30, 0, 0, time.UTC)

// regDeadline is the Registrar's job deadline in these tests.
const regDeadline = 45 * time.Minute

type regEnv struct {
	r     *steps.Registrar
	store *boltstore.Store
	blobs *fsblob.Store
	clk   *clock.Manual
}

// newRegEnv is a Registrar on a real bbolt store and file blob store, on a
// manual clock, that accepts https callbacks only.
func newRegEnv(t *testing.T) *regEnv {
	t.Helper()
	store := bolttest.New(t)
	blobs := fsblobtest.New(t)
	clk := clock.NewManual(regStart)
	return &regEnv{
		r: &steps.Registrar{
			Store: store, Blobs: blobs, Clock: clk, Deadline: regDeadline,
			CheckCallback: func(u string) error { return notify.CheckURL(u, false) },
			Log:           slog.New(slog.NewTextHandler(t.Output(), nil)),
		},
		store: store, blobs: blobs, clk: clk,
	}
}

func (e *regEnv) register(t *testing.T, exec, request string) (steps.Registration, error) {
	t.Helper()
	return e.r.Register(t.Context(), steps.RegisterInput{Request: json.RawMessage(request), Execution: exec})
}

func (e *regEnv) mustRegister(t *testing.T, exec, request string) steps.Registration {
	t.Helper()
	reg, err := e.register(t, exec, request)
	if err != nil {
		t.Fatalf("Register(%s): %v", exec, err)
	}
	return reg
}

// wantNoJob checks that nothing is recorded under id.
func (e *regEnv) wantNoJob(t *testing.T, id string) {
	t.Helper()
	if j, err := e.store.Get(t.Context(), id); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("job %s = %+v, %v; want none recorded", id, j, err)
	}
}

// sameJSON compares two values by their JSON encoding, which is what the
// stores keep, so times compare by instant and the diff is readable.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

// pngDataURI is a canonical data URI of n bytes of a PNG-like image.
func pngDataURI(n int) (string, []byte) {
	img := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xa5, 0x5a, 0x00, 0xff}, n/4)...)[:n]
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(img), img
}

func TestRegisterRecordsJob(t *testing.T) {
	seed := int64(7)
	for _, tc := range []struct {
		name, exec, body string
		want             job.Job // ID, times and status are filled in
	}{
		{
			name: "minimal request gets the default tenant",
			exec: "nightly-0001",
			body: `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`,
			want: job.Job{Tenant: steps.DefaultTenant, Request: job.Request{Model: job.Model,
				ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5}},
		},
		{
			name: "tenant, callback and batch are stored",
			exec: "b-nightly-3",
			body: `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"a cat","duration":10,"seed":7,` +
				`"aspect_ratio":"9:16","tenant":"team-x","callback_url":"https://hooks.example.com/v?token=abc",` +
				`"batch":{"id":"nightly","item":3}}`,
			want: job.Job{Tenant: "team-x", CallbackURL: "https://hooks.example.com/v?token=abc",
				Batch: &job.BatchItem{ID: "nightly", Item: 3},
				Request: job.Request{Model: job.Model, Prompt: "a cat", ImageURL: "https://example.com/a.jpg",
					AspectRatio: "9:16", Duration: 10, Seed: &seed}},
		},
		{
			name: "an idempotency key changes nothing in the record",
			exec: "keyed-1",
			body: `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","idempotency_key":"k-1","tenant":"team-y"}`,
			want: job.Job{Tenant: "team-y", Request: job.Request{Model: job.Model,
				ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegEnv(t)
			e.clk.Advance(1500 * time.Millisecond)
			now := e.clk.Now()

			reg := e.mustRegister(t, tc.exec, tc.body)

			wantReg := steps.Registration{JobID: tc.exec, Step: steps.Output{JobID: tc.exec, Status: job.Queued}}
			if reg != wantReg {
				t.Errorf("Registration = %+v, want %+v", reg, wantReg)
			}
			got, err := e.store.Get(t.Context(), tc.exec)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.ID, want.Status = tc.exec, job.Queued
			want.CreatedAt, want.UpdatedAt, want.Deadline = now, now, now.Add(regDeadline)
			sameJSON(t, "record", got, want)
		})
	}
}

// An image too large for a record lives in the blob store, named by a
// reference; one small enough stays inline.
func TestRegisterOffloadsLargeImages(t *testing.T) {
	large, largeImg := pngDataURI(blob.InlineLimit) // its data URI is longer than the limit
	small, _ := pngDataURI(1024)
	for _, tc := range []struct {
		name             string
		image, tail      string
		wantImage        string
		wantTail         string
		wantBlobs        map[string][]byte
		wantNoBlobsUnder []string
	}{
		{
			name: "large image", image: large, tail: "",
			wantImage: "blob:images/exec-large/image_url",
			wantBlobs: map[string][]byte{"images/exec-large/image_url": largeImg},
		},
		{
			name: "large tail image, small image", image: small, tail: large,
			wantImage: small, wantTail: "blob:images/exec-large/tail_image_url",
			wantBlobs:        map[string][]byte{"images/exec-large/tail_image_url": largeImg},
			wantNoBlobsUnder: []string{"images/exec-large/image_url"},
		},
		{
			name: "small image stays inline", image: small,
			wantImage:        small,
			wantNoBlobsUnder: []string{"images/exec-large/image_url"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegEnv(t)
			req := map[string]any{"model": "gen3a_turbo", "image_url": tc.image}
			if tc.tail != "" {
				req["tail_image_url"] = tc.tail
			}
			body, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			e.mustRegister(t, "exec-large", string(body))

			got, err := e.store.Get(t.Context(), "exec-large")
			if err != nil {
				t.Fatal(err)
			}
			if got.Request.ImageURL != tc.wantImage {
				t.Errorf("image_url = %s, want %s", blob.Describe(got.Request.ImageURL), blob.Describe(tc.wantImage))
			}
			if got.Request.TailImageURL != tc.wantTail {
				t.Errorf("tail_image_url = %s, want %s", blob.Describe(got.Request.TailImageURL), blob.Describe(tc.wantTail))
			}
			for key, want := range tc.wantBlobs {
				data, ct, err := e.blobs.Get(t.Context(), key)
				if err != nil || ct != "image/png" || !bytes.Equal(data, want) {
					t.Errorf("blob %s = %d bytes of %q, %v; want the %d-byte image/png", key, len(data), ct, err, len(want))
				}
			}
			for _, key := range tc.wantNoBlobsUnder {
				if _, _, err := e.blobs.Get(t.Context(), key); !errors.Is(err, blob.ErrNotFound) {
					t.Errorf("blob %s: %v, want none", key, err)
				}
			}
			// The submit step gets back exactly what the caller sent.
			restored, err := blob.Restore(t.Context(), e.blobs, got.Request)
			if err != nil {
				t.Fatal(err)
			}
			if restored.ImageURL != tc.image || restored.TailImageURL != tc.tail {
				t.Error("restoring the record's images does not give back the request's")
			}
		})
	}
}

// A retried Register (its answer was lost) finds its own job and changes
// nothing.
func TestRegisterTwiceIsHarmless(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"without idempotency key", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`},
		{"with idempotency key", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","idempotency_key":"k-9"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegEnv(t)
			first := e.mustRegister(t, "exec-twice", tc.body)
			before, err := e.store.Get(t.Context(), "exec-twice")
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(3 * time.Second)

			again := e.mustRegister(t, "exec-twice", tc.body)

			want := steps.Registration{JobID: "exec-twice", Step: steps.Output{JobID: "exec-twice", Status: job.Queued}}
			if first != want || again != want {
				t.Errorf("Registrations = %+v then %+v, want %+v both times", first, again, want)
			}
			after, err := e.store.Get(t.Context(), "exec-twice")
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "record after the second Register", after, before)
		})
	}
}

func TestRegisterIdempotencyKey(t *testing.T) {
	const body = `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","tenant":"team-a","idempotency_key":"order-17"}`
	e := newRegEnv(t)
	first := e.mustRegister(t, "exec-1", body)
	if first.JobID != "exec-1" || first.Follow {
		t.Fatalf("first Register = %+v, want its own job", first)
	}

	// The same request, spelled differently, under the same key follows
	// the first job.
	e.clk.Advance(time.Minute)
	same := `{ "idempotency_key":"order-17", "duration":5, "tenant":"team-a", "image_url":"https://example.com/a.jpg", "model":"gen3a_turbo" }`
	reg := e.mustRegister(t, "exec-2", same)
	want := steps.Registration{JobID: "exec-1", Follow: true, Step: steps.Output{JobID: "exec-1", Status: job.Queued}}
	if reg != want {
		t.Errorf("Register with a used key = %+v, want %+v", reg, want)
	}
	e.wantNoJob(t, "exec-2")

	// Anything else under the key is refused, and records nothing.
	for _, tc := range []struct{ name, exec, body string }{
		{"another image", "exec-3", `{"model":"gen3a_turbo","image_url":"https://example.com/b.jpg","tenant":"team-a","idempotency_key":"order-17"}`},
		{"a callback added", "exec-4", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","tenant":"team-a","idempotency_key":"order-17","callback_url":"https://hooks.example.com/v"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.register(t, tc.exec, tc.body)
			var ke *steps.IdempotencyKeyReusedError
			if !errors.As(err, &ke) || ke.Key != "order-17" {
				t.Fatalf("err = %v (%T), want an *IdempotencyKeyReusedError for order-17", err, err)
			}
			if !strings.Contains(err.Error(), `"order-17"`) {
				t.Errorf("error %q does not name the key", err)
			}
			e.wantNoJob(t, tc.exec)
		})
	}

	// The key is the tenant's own: another tenant's use makes its own job.
	other := e.mustRegister(t, "exec-5", strings.Replace(body, "team-a", "team-b", 1))
	if other.JobID != "exec-5" || other.Follow {
		t.Errorf("another tenant's Register = %+v, want its own job", other)
	}
	// After the key expired, the same request makes a new job.
	e.clk.Advance(job.IdempotencyTTL)
	if late := e.mustRegister(t, "exec-6", body); late.JobID != "exec-6" || late.Follow {
		t.Errorf("Register after the key expired = %+v, want its own job", late)
	}
	if j, err := e.store.Get(t.Context(), "exec-1"); err != nil || j.Tenant != "team-a" || j.Status != job.Queued {
		t.Errorf("first job = %+v, %v; want it untouched", j, err)
	}
}

func TestRegisterRefusesInvalidInput(t *testing.T) {
	large, _ := pngDataURI(blob.InlineLimit)
	for _, tc := range []struct {
		name, exec, body string
		noCallbacks      bool     // Registrar.CheckCallback nil
		fields           []string // of the *job.ValidationError
	}{
		{
			name: "every bad field at once",
			exec: "exec-bad",
			body: `{"model":"gen3a_turbo","image_url":"` + large + `","duration":7,"callback_url":"http://127.0.0.1/hook",` +
				`"tenant":"","batch":{"item":-1},"colour":"red"}`,
			fields: []string{"batch.id", "batch.item", "callback_url", "colour", "duration", "tenant"},
		},
		{
			name:   "unknown model",
			exec:   "exec-bad",
			body:   `{"model":"gen4","image_url":"` + large + `","duration":7,"tenant":""}`,
			fields: []string{"model", "tenant"},
		},
		{
			name:   "not an object",
			exec:   "exec-bad",
			body:   `[1,2]`,
			fields: []string{"body"},
		},
		{
			name:        "callback_url without webhooks",
			exec:        "exec-bad",
			body:        `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","callback_url":"https://hooks.example.com/v"}`,
			noCallbacks: true,
			fields:      []string{"callback_url"},
		},
		{
			name:   "execution name longer than a job id",
			exec:   strings.Repeat("x", job.MaxIDLength+1),
			body:   `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`,
			fields: []string{"execution name"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegEnv(t)
			if tc.noCallbacks {
				e.r.CheckCallback = nil
			}
			_, err := e.register(t, tc.exec, tc.body)
			var ve *job.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T), want a *job.ValidationError", err, err)
			}
			var fields []string
			for _, f := range ve.Fields {
				fields = append(fields, f.Field)
			}
			if !reflect.DeepEqual(fields, tc.fields) {
				t.Errorf("fields = %q, want %q (%v)", fields, tc.fields, err)
			}
			e.wantNoJob(t, tc.exec)
			if _, _, err := e.blobs.Get(t.Context(), "images/"+tc.exec+"/image_url"); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("a refused request left a blob: %v", err)
			}
		})
	}
	t.Run("execution name of exactly MaxIDLength", func(t *testing.T) {
		e := newRegEnv(t)
		exec := strings.Repeat("x", job.MaxIDLength)
		if reg := e.mustRegister(t, exec, `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`); reg.JobID != exec {
			t.Errorf("JobID = %q, want the execution name", reg.JobID)
		}
	})
	t.Run("no execution name", func(t *testing.T) {
		e := newRegEnv(t)
		if _, err := e.register(t, "", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg"}`); err == nil {
			t.Fatal("Register without an execution name succeeded")
		}
		if _, err := e.store.Get(t.Context(), ""); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("a job was recorded under the empty id: %v", err)
		}
	})
}

// The state machine's Catch matches on error names as aws-lambda-go
// reports them: the Go type's name without the pointer.
func TestRegisterErrorNames(t *testing.T) {
	e := newRegEnv(t)
	e.mustRegister(t, "exec-1", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","idempotency_key":"k"}`)
	fns := lambdas.NewFunctions(map[string]any{"Register": e.r.Register})
	for _, tc := range []struct {
		name, payload, want string
	}{
		{"invalid request", `{"execution":"exec-2","request":{"model":"gen4"}}`, "ValidationError"},
		{"long execution name", `{"execution":"` + strings.Repeat("x", job.MaxIDLength+1) + `","request":{}}`, "ValidationError"},
		{"reused key", `{"execution":"exec-3","request":{"model":"gen3a_turbo","image_url":"https://example.com/b.jpg","idempotency_key":"k"}}`,
			"IdempotencyKeyReusedError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in steps.RegisterInput
			if err := json.Unmarshal([]byte(tc.payload), &in); err != nil {
				t.Fatal(err)
			}
			_, err := e.r.Register(t.Context(), in)
			if err == nil {
				t.Fatal("Register succeeded")
			}
			if typ := reflect.TypeOf(err); typ.Kind() != reflect.Pointer || typ.Elem().Name() != tc.want {
				t.Errorf("error type %v, want *%s", typ, tc.want)
			}
			_, err = fns.Call(t.Context(), "Register", []byte(tc.payload))
			var ae *asl.Error
			if !errors.As(err, &ae) || ae.Name != tc.want {
				t.Fatalf("through aws-lambda-go: %#v, want an error named %s", err, tc.want)
			}
			var cause struct {
				Message string `json:"errorMessage"`
				Type    string `json:"errorType"`
			}
			if err := json.Unmarshal([]byte(ae.Cause), &cause); err != nil || cause.Type != tc.want || cause.Message == "" {
				t.Errorf("Cause = %s, want the Lambda error document of a %s", ae.Cause, tc.want)
			}
		})
	}
}

// failingUpstream fails the test if a step calls the upstream.
type failingUpstream struct{ t *testing.T }

func (u failingUpstream) Submit(context.Context, job.Request) (upstream.Generation, error) {
	u.t.Error("the upstream was asked to submit")
	return upstream.Generation{}, errors.New("must not be called")
}

func (u failingUpstream) Get(context.Context, string) (upstream.Generation, error) {
	u.t.Error("the upstream was polled")
	return upstream.Generation{}, errors.New("must not be called")
}

// A follower's Poll only reads the record: it never calls the upstream nor
// changes the job, and waits the poll interval, or 30 s once the job is
// overdue and about to be ended by its own execution or the reconciler.
//
// Executions started before "watch" was renamed "follow" send the old key,
// so each case runs with both.
func TestPollFollow(t *testing.T) {
	credits := 9.0
	for _, tc := range []struct {
		name     string
		job      job.Job // ID, times filled in
		interval time.Duration
		late     time.Duration // how far past the deadline the poll is; < 0 before it
		age      time.Duration // how long the followed job has existed at the poll
		want     steps.Output  // JobID filled in
	}{
		{
			name: "queued, before the deadline", job: job.Job{Status: job.Queued},
			interval: 5 * time.Second, late: -time.Minute,
			want: steps.Output{Status: job.Queued, WaitSeconds: 5},
		},
		{
			name: "generating, custom interval", job: job.Job{Status: job.Generating, UpstreamID: "u-1"},
			interval: 7 * time.Second, late: -time.Second,
			want: steps.Output{Status: job.Generating, Submitted: true, WaitSeconds: 7},
		},
		{
			name: "interval under MinTurn waits MinTurn", job: job.Job{Status: job.Queued},
			interval: 0, late: -time.Minute,
			want: steps.Output{Status: job.Queued, WaitSeconds: 5},
		},
		{
			name: "a job that has waited an hour is read every 3 minutes", job: job.Job{Status: job.Queued},
			interval: 5 * time.Second, late: -time.Minute, age: time.Hour,
			want: steps.Output{Status: job.Queued, WaitSeconds: 180},
		},
		{
			name: "a day-old job is read every 5 minutes at most", job: job.Job{Status: job.Queued},
			interval: 5 * time.Second, late: -time.Minute, age: 24 * time.Hour,
			want: steps.Output{Status: job.Queued, WaitSeconds: 300},
		},
		{
			name: "at the deadline", job: job.Job{Status: job.Generating, UpstreamID: "u-1"},
			interval: 5 * time.Second, late: 0,
			want: steps.Output{Status: job.Generating, Submitted: true, WaitSeconds: 30},
		},
		{
			name: "long overdue", job: job.Job{Status: job.Queued},
			interval: 5 * time.Second, late: time.Hour,
			want: steps.Output{Status: job.Queued, WaitSeconds: 30},
		},
		{
			name: "completed", job: job.Job{Status: job.Completed, UpstreamID: "u-1", CreditsUsed: &credits,
				Video: &job.Video{URL: "https://cdn.example/v.mp4"}},
			interval: 5 * time.Second, late: -time.Minute,
			want: steps.Output{Status: job.Completed, Submitted: true},
		},
		{
			name: "failed past the deadline", job: job.Job{Status: job.Failed,
				Error: &job.Error{Name: job.ErrNameTimedOut, Message: "late"}},
			interval: 5 * time.Second, late: time.Minute,
			want: steps.Output{Status: job.Failed},
		},
	} {
		for _, key := range []string{"follow", "watch"} {
			t.Run(tc.name+"/"+key, func(t *testing.T) {
				e := newRegEnv(t)
				j := tc.job
				j.ID, j.Tenant = "followed", "team-a"
				j.Request = job.Request{Model: job.Model, ImageURL: "https://example.com/a.jpg", AspectRatio: "16:9", Duration: 5}
				j.UpdatedAt, j.Deadline = regStart, regStart.Add(10*time.Minute)
				// A follower's wait grows with the followed job's age.
				j.CreatedAt = regStart.Add(10*time.Minute + tc.late - tc.age)
				if err := e.store.Create(t.Context(), j); err != nil {
					t.Fatal(err)
				}
				before, err := e.store.Get(t.Context(), j.ID)
				if err != nil {
					t.Fatal(err)
				}
				e.clk.Advance(10*time.Minute + tc.late)
				policy := pollpolicy.Fixed()
				policy.Interval = tc.interval
				h := &steps.Handlers{Store: e.store, Upstream: failingUpstream{t}, Clock: e.clk, Policy: policy,
					Log: slog.New(slog.NewTextHandler(t.Output(), nil))}

				var in steps.Input
				if err := json.Unmarshal([]byte(`{"job_id":"`+j.ID+`","`+key+`":true,"failures":2,"not_found":1}`), &in); err != nil {
					t.Fatal(err)
				}
				out, err := h.Poll(t.Context(), in)
				if err != nil {
					t.Fatalf("Poll: %v", err)
				}
				want := tc.want
				want.JobID = j.ID
				if out != want {
					t.Errorf("Output = %+v, want %+v", out, want)
				}
				after, err := e.store.Get(t.Context(), j.ID)
				if err != nil {
					t.Fatal(err)
				}
				sameJSON(t, "record after a following Poll", after, before)
			})
		}
	}
}

// Step Functions allows execution names that are not blob key segments
// ("order@17", non-ASCII letters, "a+b"). A large image under such a name
// must register, or be refused for good, never fail as transient: the
// machine would retry a Register that can never succeed, then end the run
// as NotRegistered.
func TestRegisterLargeImageUnderAnyExecutionName(t *testing.T) {
	large, _ := pngDataURI(blob.InlineLimit)
	body := `{"model":"gen3a_turbo","image_url":"` + large + `"}`
	for _, exec := range []string{"order@17", "a+b=c", "café-1", "(retry)!"} {
		t.Run(exec, func(t *testing.T) {
			e := newRegEnv(t)
			reg, err := e.register(t, exec, body)
			var ve *job.ValidationError
			switch {
			case err == nil:
				if reg.JobID != exec {
					t.Errorf("JobID = %q, want %q", reg.JobID, exec)
				}
				j, err := e.store.Get(t.Context(), exec)
				if err != nil {
					t.Fatal(err)
				}
				restored, err := blob.Restore(t.Context(), e.blobs, j.Request)
				if err != nil || restored.ImageURL != large {
					t.Errorf("the recorded image does not restore: %v", err)
				}
			case errors.As(err, &ve):
				if len(ve.Fields) != 1 || ve.Fields[0].Field != "execution name" {
					t.Errorf("ValidationError %v does not name the execution name", err)
				}
				e.wantNoJob(t, exec)
			default:
				t.Errorf("Register(%q) = %v (%T); want a registered job or a ValidationError, not an error the machine retries", exec, err, err)
			}
		})
	}
}
