package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/webhook"
)

// receiver is a webhook endpoint that verifies what it gets the way a
// tenant's would, with Verify and its own copy of the secret.
type receiver struct {
	t      *testing.T
	secret string
	clock  clock.Clock

	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	verified []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("read body: %v", err)
	}
	verr := webhook.Verify(rc.secret, r.Header, body, rc.clock.Now(), 0)
	rc.mu.Lock()
	rc.requests = append(rc.requests, r)
	rc.bodies = append(rc.bodies, body)
	rc.verified = append(rc.verified, verr)
	rc.mu.Unlock()
	if verr != nil {
		http.Error(w, verr.Error(), http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// localSender is a sender in local mode, which may reach httptest servers.
func localSender(c clock.Clock) *Sender {
	return &Sender{Clock: c, Guard: DestinationGuard{AllowPrivate: true}}
}

func TestDeliverSigned(t *testing.T) {
	clk := clock.NewManual(t0)
	rc := &receiver{t: t, secret: testSecret, clock: clk}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	body := []byte(`{"type":"video.generation.completed","data":{"id":"j1","prompt":"a \"quoted\" dragon"}}`)
	if err := localSender(clk).Deliver(t.Context(), srv.URL+"/hooks/vidgen", testSecret, "msg_j1", body); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if len(rc.requests) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(rc.requests))
	}
	r := rc.requests[0]
	if rc.verified[0] != nil {
		t.Errorf("receiver could not verify: %v", rc.verified[0])
	}
	if string(rc.bodies[0]) != string(body) {
		t.Errorf("receiver got body %q, want exactly %q", rc.bodies[0], body)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/hooks/vidgen" {
		t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	for name, want := range map[string]string{
		"Content-Type":  "application/json",
		HeaderID:        "msg_j1",
		HeaderTimestamp: strconv.FormatInt(t0.Unix(), 10),
	} {
		if got := r.Header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if sig := r.Header.Get(HeaderSignature); !strings.HasPrefix(sig, "v1,") {
		t.Errorf("header %s = %q", HeaderSignature, sig)
	}
	if r.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d, want %d", r.ContentLength, len(body))
	}

	// The same message delivered later is signed at the later time.
	clk.Advance(time.Hour)
	if err := localSender(clk).Deliver(t.Context(), srv.URL, testSecret, "msg_j1", body); err != nil {
		t.Fatalf("second Deliver: %v", err)
	}
	if got := rc.requests[1].Header.Get(HeaderTimestamp); got != strconv.FormatInt(t0.Add(time.Hour).Unix(), 10) {
		t.Errorf("second attempt's timestamp %s", got)
	}
}

// A receiver with another secret answers 401, which is not worth retrying.
func TestDeliverWrongSecret(t *testing.T) {
	clk := clock.NewManual(t0)
	rc := &receiver{t: t, secret: "whsec_" + strings.Repeat("A", 40), clock: clk}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	err := localSender(clk).Deliver(t.Context(), srv.URL, testSecret, "msg_j1", []byte(`{}`))
	var de *DeliveryError
	if !errors.As(err, &de) || de.StatusCode != http.StatusUnauthorized || de.Retryable {
		t.Fatalf("Deliver = %v, want a non-retryable 401", err)
	}
	if !errors.Is(rc.verified[0], webhook.ErrSignature) {
		t.Errorf("receiver's verification = %v, want ErrSignature", rc.verified[0])
	}
}

func TestDeliverEvent(t *testing.T) {
	clk := clock.NewManual(t0.Add(time.Minute))
	secrets := DerivedSecrets{Master: []byte("0123456789abcdef0123456789abcdef")}
	tenantSecret, err := secrets.Secret(t.Context(), "tenantA")
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, secret: tenantSecret, clock: clk}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	j := completedJob()
	e, err := NewEvent(j)
	if err != nil {
		t.Fatal(err)
	}
	if err := localSender(clk).DeliverEvent(t.Context(), secrets, srv.URL, e); err != nil {
		t.Fatalf("DeliverEvent: %v", err)
	}
	if rc.verified[0] != nil {
		t.Fatalf("receiver could not verify: %v", rc.verified[0])
	}
	if got := rc.requests[0].Header.Get(HeaderID); got != "msg_"+j.ID {
		t.Errorf("webhook-id %q, want msg_<job id>", got)
	}
	var p Payload
	if err := json.Unmarshal(rc.bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != TypeCompleted || !p.Timestamp.Equal(e.Time) || p.Data.ID != j.ID || p.Data.Request.Image != "data:image/png (3000 bytes)" {
		t.Errorf("payload %+v", p)
	}
	if strings.Contains(string(rc.bodies[0]), "base64,") {
		t.Errorf("webhook body holds a data URI: %s", rc.bodies[0])
	}

	j.Status, j.Video = job.Failed, nil
	failed, err := NewEvent(j)
	if err != nil {
		t.Fatal(err)
	}
	if _, body, _ := failed.Webhook(); !strings.Contains(string(body), `"type":"video.generation.failed"`) {
		t.Errorf("failed job's webhook %s", body)
	}
}

func TestDeliverStatus(t *testing.T) {
	clk := clock.NewManual(t0)
	var landed atomic.Int32 // requests that followed a redirect
	mux := http.NewServeMux()
	mux.HandleFunc("/landed", func(w http.ResponseWriter, r *http.Request) { landed.Add(1) })
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		if ra := r.URL.Query().Get("retry_after"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		if code >= 300 && code < 400 {
			w.Header().Set("Location", "/landed")
		}
		w.WriteHeader(code)
		io.WriteString(w, "some answer the sender ignores")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		code       int
		retryAfter string
		ok         bool
		retryable  bool
		wait       time.Duration
	}{
		{code: 200, ok: true},
		{code: 201, ok: true},
		{code: 202, ok: true},
		{code: 204, ok: true},
		{code: 299, ok: true},
		{code: 301},
		{code: 302},
		{code: 307},
		{code: 400},
		{code: 401},
		{code: 403},
		{code: 404},
		{code: 410}, // Gone: the receiver wants no more
		{code: 413},
		{code: 422},
		{code: 408, retryable: true},
		{code: 429, retryable: true},
		{code: 429, retryAfter: "120", retryable: true, wait: 2 * time.Minute},
		{code: 503, retryAfter: t0.Add(90 * time.Second).Format(http.TimeFormat), retryable: true, wait: 90 * time.Second},
		{code: 503, retryAfter: t0.Add(-time.Hour).Format(http.TimeFormat), retryable: true},
		{code: 503, retryAfter: "soon", retryable: true},
		{code: 503, retryAfter: "-5", retryable: true},
		{code: 503, retryAfter: "99999999999", retryable: true, wait: MaxRetryAfter},
		{code: 500, retryable: true},
		{code: 502, retryable: true},
		{code: 504, retryable: true},
		{code: 404, retryAfter: "60"}, // Retry-After means nothing when no retry is due
	} {
		name := strconv.Itoa(tc.code)
		if tc.retryAfter != "" {
			name += " Retry-After " + tc.retryAfter
		}
		t.Run(name, func(t *testing.T) {
			u := srv.URL + "/status/" + strconv.Itoa(tc.code) + "?retry_after=" + strings.ReplaceAll(tc.retryAfter, " ", "+")
			err := localSender(clk).Deliver(t.Context(), u, testSecret, "msg_1", []byte(`{}`))
			if tc.ok {
				if err != nil {
					t.Errorf("Deliver = %v, want success", err)
				}
				return
			}
			var de *DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Deliver = %v, want a *DeliveryError", err)
			}
			if de.StatusCode != tc.code || de.Retryable != tc.retryable || de.RetryAfter != tc.wait {
				t.Errorf("Deliver = %+v, want status %d, retryable %v, retry after %s", de, tc.code, tc.retryable, tc.wait)
			}
		})
	}
	if n := landed.Load(); n != 0 {
		t.Errorf("a redirect was followed %d times", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestDeliverTransportErrors(t *testing.T) {
	clk := clock.NewManual(t0)
	for name, cause := range map[string]error{
		"timeout":  &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}},
		"deadline": context.DeadlineExceeded,
		"reset":    &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")},
		"dns":      &net.DNSError{Err: "no such host", Name: "hooks.example.com", IsNotFound: true},
	} {
		t.Run(name, func(t *testing.T) {
			s := &Sender{Clock: clk, HTTP: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
				return nil, cause
			})}}
			err := s.Deliver(t.Context(), "https://hooks.example.com/x?token=s3cr3t", testSecret, "msg_1", []byte(`{}`))
			var de *DeliveryError
			if !errors.As(err, &de) || !de.Retryable || de.StatusCode != 0 || !errors.Is(err, cause) {
				t.Fatalf("Deliver = %#v, want a retryable *DeliveryError wrapping %v", err, cause)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q quotes the URL's query", err)
			}
		})
	}
}

// A receiver slower than Timeout fails the attempt as retryable.
func TestDeliverTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	s := localSender(clock.NewManual(t0))
	s.Timeout = 20 * time.Millisecond
	err := s.Deliver(t.Context(), srv.URL, testSecret, "msg_1", []byte(`{}`))
	var de *DeliveryError
	if !errors.As(err, &de) || !de.Retryable || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Deliver = %v, want a retryable timeout", err)
	}
}

func TestDeliverConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = localSender(clock.NewManual(t0)).Deliver(t.Context(), "http://"+addr+"/hook?token=s3cr3t", testSecret, "msg_1", []byte(`{}`))
	var de *DeliveryError
	if !errors.As(err, &de) || !de.Retryable || de.StatusCode != 0 {
		t.Fatalf("Deliver = %v, want a retryable connection error", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q quotes the URL's query", err)
	}
}

func TestDeliverRefusesBadInput(t *testing.T) {
	s := &Sender{Clock: clock.NewManual(t0), HTTP: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		t.Error("a request was sent")
		return nil, errors.New("unreachable")
	})}}
	// AWS mode refuses the URL before any request, as not retryable.
	for _, u := range []string{"http://hooks.example.com/", "https://127.0.0.1/", "https://169.254.169.254/latest/meta-data/", "not a url"} {
		err := s.Deliver(t.Context(), u, testSecret, "msg_1", []byte(`{}`))
		var de *DeliveryError
		if !errors.As(err, &de) || de.Retryable || !errors.Is(err, ErrDestination) {
			t.Errorf("Deliver(%s) = %v, want a non-retryable ErrDestination", u, err)
		}
	}
	// A bad secret or message id can never succeed and is no delivery
	// failure.
	for _, tc := range []struct{ secret, id string }{{"plain-secret", "msg_1"}, {testSecret, "msg.1"}} {
		err := s.Deliver(t.Context(), "https://hooks.example.com/", tc.secret, tc.id, []byte(`{}`))
		var de *DeliveryError
		if err == nil || errors.As(err, &de) {
			t.Errorf("Deliver(secret %q, id %q) = %v, want a plain error", tc.secret, tc.id, err)
		}
	}
}

type failingSecrets struct{}

func (failingSecrets) Secret(context.Context, string) (string, error) {
	return "", errors.New("secret store down")
}

func TestDeliverEventSecretError(t *testing.T) {
	e, err := NewEvent(completedJob())
	if err != nil {
		t.Fatal(err)
	}
	err = localSender(clock.NewManual(t0)).DeliverEvent(t.Context(), failingSecrets{}, "http://127.0.0.1:1/", e)
	if err == nil || !strings.Contains(err.Error(), "secret store down") {
		t.Errorf("DeliverEvent = %v, want the secret error", err)
	}
}
