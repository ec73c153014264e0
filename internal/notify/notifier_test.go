package notify_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/boltstore/bolttest"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/job/jobtest"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/notify/notifytest"
	"github.com/vidgen/vidgen/webhook"
)

// finishStart is when the jobs of these tests were created.
var finishStart = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// masterKey is the webhook master key of these tests.
var masterKey = []byte("0123456789abcdef0123456789abcdef-test-master")

type finishEnv struct {
	store  *boltstore.Store
	events *bytes.Buffer
	n      *notify.Notifier
}

// newFinishEnv is a Notifier on a real bbolt store that publishes to a
// buffer and delivers webhooks with the real Sender and derived secrets;
// allowPrivate lets it reach a loopback receiver.
func newFinishEnv(t *testing.T, allowPrivate bool) *finishEnv {
	t.Helper()
	store := bolttest.New(t)
	events := &bytes.Buffer{}
	return &finishEnv{
		store: store, events: events,
		n: &notify.Notifier{
			Store:     store,
			Publisher: &notify.LogPublisher{W: events},
			Webhooks:  &notify.Sender{Guard: notify.DestinationGuard{AllowPrivate: allowPrivate}, Timeout: 10 * time.Second},
			Secrets:   notify.DerivedSecrets{Master: masterKey},
			Log:       slog.New(slog.NewTextHandler(t.Output(), nil)),
		},
	}
}

// ended records a job that ended as status; failed jobs end with errName
// ("" for a record without an error).
func (e *finishEnv) ended(t *testing.T, id string, status job.Status, errName, callback string) job.Job {
	t.Helper()
	credits := 12.5
	dur := 5.0
	j := job.Job{
		ID: id, Tenant: "team-a", Status: status, UpstreamID: "u-" + id,
		Request:   job.Request{Model: job.Model, Prompt: "a cat", ImageURL: "https://example.com/a.jpg?sig=secret", AspectRatio: "16:9", Duration: 5},
		CreatedAt: finishStart, UpdatedAt: finishStart.Add(40 * time.Second), Deadline: finishStart.Add(time.Hour),
		CallbackURL: callback, CreditsUsed: &credits,
	}
	switch {
	case status == job.Completed:
		j.Video = &job.Video{URL: "https://cdn.example/v.mp4", Duration: &dur}
	case status == job.Failed && errName != "":
		j.Error = &job.Error{Name: errName, Message: "it ended as " + errName}
	}
	if err := e.store.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// published decodes the event lines written so far.
func (e *finishEnv) published(t *testing.T) []notify.Event {
	t.Helper()
	var out []notify.Event
	sc := bufio.NewScanner(bytes.NewReader(e.events.Bytes()))
	for sc.Scan() {
		var ev notify.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event line %q: %v", sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out
}

func TestFinish(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   job.Status
		errName  string // of the record
		callback string
		follow   bool

		wantError    string // Result.Error
		wantCallback bool
		wantType     string // the published event's detail-type; "" for none
	}{
		{name: "completed", status: job.Completed,
			wantType: notify.DetailTypeCompleted},
		{name: "completed with callback", status: job.Completed, callback: "https://hooks.example.com/v?token=t",
			wantCallback: true, wantType: notify.DetailTypeCompleted},
		// A follower announces a job its own execution has not (see
		// TestFinishFollower).
		{name: "completed with callback, following", status: job.Completed, callback: "https://hooks.example.com/v", follow: true,
			wantCallback: true, wantType: notify.DetailTypeCompleted},
		{name: "timed out with callback", status: job.Failed, errName: job.ErrNameTimedOut, callback: "https://hooks.example.com/v",
			wantError: job.ErrNameTimedOut, wantCallback: true, wantType: notify.DetailTypeFailed},
		{name: "cancelled, following", status: job.Failed, errName: job.ErrNameCancelled, follow: true,
			wantError: job.ErrNameCancelled, wantType: notify.DetailTypeFailed},
		{name: "failed without an error name", status: job.Failed,
			wantError: job.ErrNameGenerationFailed, wantType: notify.DetailTypeFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFinishEnv(t, false)
			j := e.ended(t, "job-fin", tc.status, tc.errName, tc.callback)

			res, err := e.n.Finish(t.Context(), notify.FinishInput{JobID: j.ID, Follow: tc.follow})
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}

			wantEvent, err := notify.NewEvent(j)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Job, wantEvent.Detail) {
				t.Errorf("Result.Job = %+v, want the record's detail %+v", res.Job, wantEvent.Detail)
			}
			if res.Job.ID != "job-fin" || res.Job.Tenant != "team-a" || res.Job.Status != tc.status {
				t.Errorf("Result.Job = id %q tenant %q status %q", res.Job.ID, res.Job.Tenant, res.Job.Status)
			}
			if res.Callback != tc.wantCallback {
				t.Errorf("Callback = %v, want %v", res.Callback, tc.wantCallback)
			}
			if res.Error != tc.wantError {
				t.Errorf("Error = %q, want %q", res.Error, tc.wantError)
			}
			if tc.wantError == "" {
				if res.Cause != "" {
					t.Errorf("Cause = %q, want none for a completed job", res.Cause)
				}
			} else {
				var cause struct {
					ID     string     `json:"id"`
					Status job.Status `json:"status"`
					Error  *job.Error `json:"error"`
				}
				if err := json.Unmarshal([]byte(res.Cause), &cause); err != nil {
					t.Fatalf("Cause %q is not JSON: %v", res.Cause, err)
				}
				if cause.ID != j.ID || cause.Status != job.Failed || !reflect.DeepEqual(cause.Error, j.Error) {
					t.Errorf("Cause = %s, want the record of %s with error %+v", res.Cause, j.ID, j.Error)
				}
			}
			if strings.Contains(res.Cause, "sig=secret") || strings.Contains(e.events.String(), "sig=secret") {
				t.Error("a signed image URL's query reached the result or the event")
			}
			if strings.Contains(e.events.String(), "token=") || strings.Contains(res.Cause, "hooks.example.com") {
				t.Error("the callback_url reached the event or the cause")
			}

			events := e.published(t)
			if tc.wantType == "" {
				if len(events) != 0 {
					t.Errorf("published %d events, want none", len(events))
				}
				return
			}
			if len(events) != 1 {
				t.Fatalf("published %d events, want exactly one", len(events))
			}
			if ev := events[0]; ev.Source != notify.Source || ev.DetailType != tc.wantType || ev.Detail.ID != j.ID ||
				!ev.Time.Equal(j.UpdatedAt) {
				t.Errorf("event = %+v, want %s of %s at %v", ev, tc.wantType, j.ID, j.UpdatedAt)
			}
		})
	}
}

// The Result reaches the state machine with the field names its paths use.
func TestFinishResultPayload(t *testing.T) {
	e := newFinishEnv(t, false)
	j := e.ended(t, "job-fin", job.Failed, job.ErrNameTimedOut, "https://hooks.example.com/v")
	res, err := e.n.Finish(t.Context(), notify.FinishInput{JobID: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got["callback"] != true || got["error"] != job.ErrNameTimedOut || got["cause"] != res.Cause ||
		got["job"].(map[string]any)["id"] != j.ID || got["job"].(map[string]any)["status"] != "error" {
		t.Errorf("payload = %s", data)
	}
}

func TestFinishRefuses(t *testing.T) {
	e := newFinishEnv(t, false)
	for _, st := range []job.Status{job.Queued, job.Generating} {
		j := e.ended(t, "job-"+string(st), st, "", "https://hooks.example.com/v")
		if res, err := e.n.Finish(t.Context(), notify.FinishInput{JobID: j.ID}); err == nil {
			t.Errorf("Finish of a %s job = %+v, want an error", st, res)
		}
	}
	if _, err := e.n.Finish(t.Context(), notify.FinishInput{JobID: "no-such-job"}); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("Finish of an unknown job: %v, want job.ErrNotFound", err)
	}
	if _, err := e.n.Finish(t.Context(), notify.FinishInput{}); err == nil {
		t.Error("Finish without a job id succeeded")
	}
	if e.events.Len() != 0 {
		t.Errorf("events were published: %s", e.events)
	}
}

// receiver is a webhook endpoint that verifies every delivery as a tenant
// would and answers the statuses it is given in turn (200 once they run
// out).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string

	mu       sync.Mutex
	statuses []int
	got      []delivery
}

type delivery struct {
	id       string // webhook-id
	verified error
	payload  notify.Payload
	query    string
}

func newReceiver(t *testing.T, secret string, statuses ...int) *receiver {
	r := &receiver{t: t, secret: secret, statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("read webhook: %v", err)
	}
	d := delivery{
		id:       req.Header.Get(notify.HeaderID),
		verified: webhook.Verify(r.secret, req.Header, body, time.Now(), webhook.DefaultTolerance),
		query:    req.URL.RawQuery,
	}
	if err := json.Unmarshal(body, &d.payload); err != nil {
		r.t.Errorf("webhook body %q: %v", body, err)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("webhook sent as %s %q", req.Method, req.Header.Get("Content-Type"))
	}
	r.mu.Lock()
	r.got = append(r.got, d)
	status := http.StatusOK
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func TestDeliver(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   job.Status
		errName  string
		answers  []int // the receiver's statuses, in turn
		wantType string
		wantErr  string // the error's type name; "" for a delivery
	}{
		{name: "completed job, 200", status: job.Completed, answers: []int{200}, wantType: notify.TypeCompleted},
		{name: "failed job, 204", status: job.Failed, errName: job.ErrNameTimedOut, answers: []int{204}, wantType: notify.TypeFailed},
		{name: "receiver unavailable", status: job.Completed, answers: []int{503}, wantType: notify.TypeCompleted,
			wantErr: "WebhookRetryableError"},
		{name: "receiver throttles", status: job.Completed, answers: []int{429}, wantType: notify.TypeCompleted,
			wantErr: "WebhookRetryableError"},
		{name: "receiver gone", status: job.Completed, answers: []int{410}, wantType: notify.TypeCompleted,
			wantErr: "WebhookRefusedError"},
		{name: "receiver refuses the request", status: job.Failed, errName: job.ErrNameCancelled, answers: []int{400},
			wantType: notify.TypeFailed, wantErr: "WebhookRefusedError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFinishEnv(t, true)
			rcv := newReceiver(t, notifytest.Secret(t, masterKey, "team-a"), tc.answers...)
			j := e.ended(t, "job-hook", tc.status, tc.errName, rcv.srv.URL+"/hooks?token=abc")

			d, err := e.n.Deliver(t.Context(), notify.DeliverInput{JobID: j.ID})

			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				if want := (notify.Delivery{JobID: j.ID, MessageID: "msg_job-hook"}); d != want {
					t.Errorf("Delivery = %+v, want %+v", d, want)
				}
			} else {
				if err == nil {
					t.Fatalf("Deliver = %+v, want a %s", d, tc.wantErr)
				}
				if name := reflect.TypeOf(err).Elem().Name(); name != tc.wantErr {
					t.Errorf("error %v is a %s, want a %s", err, name, tc.wantErr)
				}
				var de *notify.DeliveryError
				if !errors.As(err, &de) || de.StatusCode != tc.answers[0] {
					t.Errorf("error %v does not wrap the receiver's %d", err, tc.answers[0])
				}
				if strings.Contains(err.Error(), "token=abc") {
					t.Errorf("error %q quotes the callback_url's token", err)
				}
			}
			got := rcv.deliveries()
			if len(got) != 1 {
				t.Fatalf("receiver got %d deliveries, want 1", len(got))
			}
			if got[0].verified != nil {
				t.Errorf("signature does not verify with the tenant's secret: %v", got[0].verified)
			}
			if got[0].id != "msg_job-hook" || got[0].query != "token=abc" {
				t.Errorf("webhook-id %q, query %q; want msg_job-hook and the callback's own query", got[0].id, got[0].query)
			}
			p := got[0].payload
			wantEvent, err := notify.NewEvent(j)
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != tc.wantType || !p.Timestamp.Equal(j.UpdatedAt) || !reflect.DeepEqual(p.Data, wantEvent.Detail) {
				t.Errorf("payload = %+v, want %s with the record's detail %+v", p, tc.wantType, wantEvent.Detail)
			}
			if p.Data.ID != j.ID || p.Data.Status != tc.status || p.Data.Tenant != "team-a" {
				t.Errorf("payload data = id %q status %q tenant %q", p.Data.ID, p.Data.Status, p.Data.Tenant)
			}
		})
	}
}

// Every attempt of one job's webhook carries the same webhook-id, so the
// receiver can drop the repeats of a delivery it took but did not answer.
func TestDeliverRetriesKeepTheWebhookID(t *testing.T) {
	e := newFinishEnv(t, true)
	rcv := newReceiver(t, notifytest.Secret(t, masterKey, "team-a"), 503, 502, 200)
	j := e.ended(t, "job-retry", job.Completed, "", rcv.srv.URL+"/hooks")
	var errs []string
	for range 3 {
		_, err := e.n.Deliver(t.Context(), notify.DeliverInput{JobID: j.ID})
		name := ""
		if err != nil {
			name = reflect.TypeOf(err).Elem().Name()
		}
		errs = append(errs, name)
	}
	if want := []string{"WebhookRetryableError", "WebhookRetryableError", ""}; !reflect.DeepEqual(errs, want) {
		t.Errorf("attempts ended with %q, want %q", errs, want)
	}
	got := rcv.deliveries()
	if len(got) != 3 {
		t.Fatalf("receiver got %d deliveries, want 3", len(got))
	}
	for i, d := range got {
		if d.id != "msg_job-retry" || d.verified != nil {
			t.Errorf("attempt %d: webhook-id %q, verification %v", i, d.id, d.verified)
		}
	}
}

// Deliveries that can never succeed are refused without a request.
func TestDeliverRefused(t *testing.T) {
	for _, tc := range []struct {
		name         string
		allowPrivate bool
		callback     func(rcv string) string
	}{
		{name: "loopback receiver without AllowPrivate", callback: func(rcv string) string { return rcv + "/hooks" }},
		{name: "loopback https receiver without AllowPrivate", callback: func(rcv string) string {
			return strings.Replace(rcv, "http://", "https://", 1) + "/hooks"
		}},
		{name: "no callback_url", allowPrivate: true, callback: func(string) string { return "" }},
		{name: "metadata service even with AllowPrivate", allowPrivate: true,
			callback: func(string) string { return "http://169.254.169.254/latest/meta-data" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFinishEnv(t, tc.allowPrivate)
			rcv := newReceiver(t, notifytest.Secret(t, masterKey, "team-a"))
			j := e.ended(t, "job-refused", job.Completed, "", tc.callback(rcv.srv.URL))

			d, err := e.n.Deliver(t.Context(), notify.DeliverInput{JobID: j.ID})

			var re *notify.WebhookRefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Deliver = %+v, %v (%T); want a *WebhookRefusedError", d, err, err)
			}
			if name := reflect.TypeOf(err).Elem().Name(); name != "WebhookRefusedError" {
				t.Errorf("error type name %q", name)
			}
			if n := len(rcv.deliveries()); n != 0 {
				t.Errorf("receiver got %d deliveries, want none", n)
			}
		})
	}
}

// Failures that are vidgen's own are neither delivered nor refused: the
// secret that cannot be read is retried as transient, a job that has not
// ended is an error.
func TestDeliverOtherFailures(t *testing.T) {
	e := newFinishEnv(t, true)
	rcv := newReceiver(t, notifytest.Secret(t, masterKey, "team-a"))
	done := e.ended(t, "job-done", job.Completed, "", rcv.srv.URL+"/hooks")
	running := e.ended(t, "job-running", job.Generating, "", rcv.srv.URL+"/hooks")

	e.n.Secrets = notify.DerivedSecrets{Master: []byte("too short")}
	_, err := e.n.Deliver(t.Context(), notify.DeliverInput{JobID: done.ID})
	var te *job.TransientError
	if !errors.As(err, &te) {
		t.Errorf("Deliver without a usable secret: %v (%T), want a *TransientError", err, err)
	}

	e.n.Secrets = notify.DerivedSecrets{Master: masterKey}
	_, err = e.n.Deliver(t.Context(), notify.DeliverInput{JobID: running.ID})
	var re *notify.WebhookRefusedError
	var ye *notify.WebhookRetryableError
	if err == nil || errors.As(err, &re) || errors.As(err, &ye) {
		t.Errorf("Deliver of a running job: %v (%T), want a plain error", err, err)
	}
	if _, err := e.n.Deliver(t.Context(), notify.DeliverInput{JobID: "no-such-job"}); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("Deliver of an unknown job: %v, want job.ErrNotFound", err)
	}
	if n := len(rcv.deliveries()); n != 0 {
		t.Errorf("receiver got %d deliveries, want none", n)
	}
}

// The webhook machine retries exactly the deliveries that may succeed
// later, by the error names Deliver's errors reach it with.
func TestWebhookMachineRetriesByName(t *testing.T) {
	names := jobtest.Retried(t, filepath.Join("..", "..", "statemachine", "webhook.asl.json"), "Deliver")
	for _, tc := range []struct {
		err   error
		retry bool
	}{
		{&notify.WebhookRetryableError{Err: errors.New("503")}, true},
		{&job.TransientError{Err: errors.New("store down")}, true},
		{&notify.WebhookRefusedError{Err: errors.New("410")}, false},
	} {
		name := reflect.TypeOf(tc.err).Elem().Name()
		if got := slices.Contains(names, name) || slices.Contains(names, "States.ALL"); got != tc.retry {
			t.Errorf("Deliver's Retry %v matches %s: %v, want %v", names, name, got, tc.retry)
		}
	}
}

// Each webhook delivery attempt counts by its outcome.
func TestDeliverRecordsOutcome(t *testing.T) {
	e := newFinishEnv(t, true)
	reg := metrics.NewRegistry()
	e.n.Metrics = metrics.New("test", reg, nil)
	rcv := newReceiver(t, notifytest.Secret(t, masterKey, "team-a"), 503, 200)
	j := e.ended(t, "job-hook", job.Completed, "", rcv.srv.URL+"/hooks")
	if _, err := e.n.Deliver(t.Context(), notify.DeliverInput{JobID: j.ID}); err == nil {
		t.Fatal("first Deliver succeeded, want the receiver's 503")
	}
	if _, err := e.n.Deliver(t.Context(), notify.DeliverInput{JobID: j.ID}); err != nil {
		t.Fatal(err)
	}
	for outcome, want := range map[string]float64{metrics.Succeeded: 1, metrics.Failed: 1} {
		l := metrics.Label{Key: metrics.DimOutcome, Value: outcome}
		if v, n := reg.Value(metrics.WebhookDeliveries, "test", l); v != want || n != 1 {
			t.Errorf("%s%v = %v (count %d), want %v (count 1)", metrics.WebhookDeliveries, l, v, n, want)
		}
	}
}

func isTransient(err error) bool {
	var te *job.TransientError
	return errors.As(err, &te)
}

// The error types Finish and Deliver return are reported by their Go type names
// (aws-lambda-go's rule, job.ReportedName), and those are the names the
// error-name contract declares and the state machines match: renaming a
// type would silently rename the error. (job.TransientError, which they
// return too, is held to its name in package job.)
func TestErrorTypesHaveContractNames(t *testing.T) {
	jobtest.WantLambdaErrorNames(t, map[string]error{
		job.ErrorTypeAnnouncementBusy: &notify.AnnouncementBusyError{},
		job.ErrorTypeWebhookRetryable: &notify.WebhookRetryableError{},
		job.ErrorTypeWebhookRefused:   &notify.WebhookRefusedError{},
	})
}
