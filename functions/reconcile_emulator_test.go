//go:build unix

package functions_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/reconcile"
)

// TestReconcileAndListCancelEvents runs the reconcile bootstrap on its
// scheduler event against moto: a job past its deadline with no execution
// is ended as TimedOut. It also answers the list and cancel samples through
// the api bootstrap, and scans every bootstrap's output for the keys.
func TestReconcileAndListCancelEvents(t *testing.T) {
	apiFn := startFunction(t, "api", functionEnv(t, "api"))
	reconcileFn := startFunction(t, "reconcile", functionEnv(t, "reconcile"))

	// An orphan: recorded long ago, never started, past its deadline.
	old := time.Now().Add(-3 * time.Hour).UTC()
	orphan := job.Job{ID: "orphan-" + e2e.suffix, Tenant: tenantA, Status: job.Queued, CreatedAt: old, UpdatedAt: old,
		Deadline: old.Add(30 * time.Minute), Request: job.Request{Model: job.Model, ImageURL: "https://example.com/a.png", AspectRatio: "16:9", Duration: 5}}
	if err := store().Create(context.Background(), orphan); err != nil {
		t.Fatal(err)
	}
	var rep reconcile.Report
	reconcileFn.invokeOK(t, loadEvent(t, "reconcile.json", ""), &rep)
	if rep.TimedOut < 1 || rep.Failed != 0 {
		t.Fatalf("reconcile report %+v: want the orphan timed out and nothing failed", rep)
	}
	if j := getJob(t, orphan.ID); j.Status != job.Failed || j.Error.Name != job.ErrNameTimedOut {
		t.Fatalf("orphan after reconcile: %+v", j)
	}

	id := submitted(t, apiFn.callAPI(t, loadEvent(t, "api-submit.json", "")))
	list := apiFn.callAPI(t, loadEvent(t, "api-list.json", ""))
	if list.StatusCode != http.StatusOK || !json.Valid([]byte(list.Body)) || !strings.Contains(list.Body, `"data"`) {
		t.Fatalf("api-list: %d %s", list.StatusCode, list.Body)
	}
	cancel := apiFn.callAPI(t, loadEvent(t, "api-cancel.json", id))
	if cancel.StatusCode != http.StatusOK || getJob(t, id).Error.Name != job.ErrNameCancelled {
		t.Fatalf("api-cancel: %d %s", cancel.StatusCode, cancel.Body)
	}

	apiFn.stop()
	reconcileFn.stop()
	for _, fn := range []*lambda{apiFn, reconcileFn} {
		out := fn.out.String()
		for _, secret := range []string{upstreamKey, keyA, keyB, "Bearer "} {
			if strings.Contains(out, secret) {
				t.Errorf("a bootstrap logged a secret (%q):\n%s", secret, out)
			}
		}
		wantJobLines(t, fn)
	}
}
