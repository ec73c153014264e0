// Package notifytest delivers a job's webhook to a test receiver, for tests
// that check what vidgen sends (the webhook package's verification, the
// OpenAPI document's webhooks). Tests only.
package notifytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
)

// Delivery is one webhook as its receiver got it.
type Delivery struct {
	Header http.Header
	Body   []byte
}

// Deliver sends j's job-ended webhook, signed with its tenant's secret at
// time at, to a receiver of its own and returns what that receiver got.
func Deliver(t *testing.T, secrets notify.Secrets, at time.Time, j job.Job) Delivery {
	t.Helper()
	received := make(chan Delivery, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read the webhook: %v", err)
		}
		received <- Delivery{r.Header.Clone(), body}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	e, err := notify.NewEvent(j)
	if err != nil {
		t.Fatal(err)
	}
	sender := &notify.Sender{Clock: clock.NewManual(at), Guard: notify.DestinationGuard{AllowPrivate: true}}
	if err := sender.DeliverEvent(t.Context(), secrets, srv.URL, e); err != nil {
		t.Fatalf("DeliverEvent = %v", err)
	}
	return <-received
}

// Secret is tenant's webhook signing secret derived from master, as a
// deployment with that master key gives it.
func Secret(t *testing.T, master []byte, tenant string) string {
	t.Helper()
	s, err := notify.DerivedSecrets{Master: master}.Secret(t.Context(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
