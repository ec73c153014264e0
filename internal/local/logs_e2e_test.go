package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/logs/logstest"
	"github.com/vidgen/vidgen/internal/syncbuf"
)

// unnamedErrors are the warnings and errors with no underlying error to
// name: each says what it saw instead.
var unnamedErrors = map[string]bool{
	"completed without a video URL":                                     true,
	"unknown upstream status, still polling":                            true,
	"upstream sent an unknown status":                                   true,
	"execution named a job it does not run; refused":                    true,
	"started job whose execution had not started":                       true,
	"resumed job whose execution was gone":                              true,
	"repaired slot counters that differed from the jobs holding a slot": true,
	"schedule skipped firings the clock jumped over":                    true,
	"execution of unknown state machine left running":                   true,
}

// TestJobLinesCarryIDs runs every function through a job's life on the
// local runtime, which invokes them with a Lambda context as AWS does:
// API submits (admitted under caps) that succeed with a webhook, fail in a
// step (the Fail function records it) and are cancelled; a direct start
// that Register records; a listing; a reconciler pass. Every line logged
// about a job names it, its tenant, the execution and the Lambda request,
// and the api function's lines the API request too.
func TestJobLinesCarryIDs(t *testing.T) {
	var out syncbuf.Buffer
	cfg := testConfig(t)
	cfg.Log = logs.New(&out, slog.LevelDebug)
	cfg.Limits = job.Limits{Global: 10, PerTenant: 10}
	// The first job's Poll fails at every attempt the machine makes: its
	// Catch runs the Fail function. (Its first Submit runs in Register,
	// whose Lambda failures are tried again later, not recorded.)
	failing := map[int]lambdas.Fault{}
	for i := 1; i <= 7; i++ {
		failing[i] = lambdas.ServiceException
	}
	cfg.Faults = &lambdas.Faults{At: map[string]map[int]lambdas.Fault{"PollFunction": failing}}
	rt := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	failed, exe := submitAndFinish(t, rt, api.PathGenerations, keyA, `{"model":"gen3a_turbo","image_url":"https://example.com/f.jpg"}`)
	if exe.Status != states.Failed {
		t.Fatalf("the faulted job's execution %s, want it failed", exe.Status)
	}
	rc, hooked := finishWithWebhook(t, rt)
	if w := waitExecution(t, rt, webhookFlow, hooked); w.Status != states.Succeeded || len(rc.deliveries) == 0 {
		t.Fatalf("webhook execution %s, %d deliveries", w.Status, len(rc.deliveries))
	}
	const direct = "direct-logs-1"
	if err := rt.Engine.Start(ctx, VideoJob, direct,
		json.RawMessage(`{"tenant":"tenantB","model":"gen3a_turbo","image_url":"https://example.com/d.jpg"}`)); err != nil {
		t.Fatal(err)
	}
	if exe, err := rt.Engine.Wait(ctx, VideoJob, direct); err != nil || exe.Status != states.Succeeded {
		t.Fatalf("direct start: %s %v", exe.Status, err)
	}
	r := call(t, "POST", rt.URL+api.PathGenerations, keyB, "application/json",
		`{"model":"gen3a_turbo","image_url":"https://example.com/c.jpg","prompt":"sim:gen=600"}`)
	cancelled, _ := r.body["id"].(string)
	if r = call(t, "DELETE", rt.URL+api.PathGenerations+"?generation_id="+cancelled, keyB, "", ""); r.status != 200 {
		t.Fatalf("cancel: %s", r.raw)
	}
	waitStarted(t, rt, cancelled)
	if r = call(t, "GET", rt.URL+api.PathGenerations+"?limit=1", keyA, "", ""); r.status != 200 {
		t.Fatalf("list: %s", r.raw)
	}
	if _, err := rt.functions.Call(ctx, "ReconcileFunction", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}

	lines := logstest.Lines(t, out.String())
	seen := map[string][]map[string]any{} // message → its lines about a job
	for _, l := range lines {
		if _, ok := l["job"]; ok {
			t.Errorf("a line names its job under the old key job: %v", l)
		}
		if lvl := l["level"]; (lvl == "WARN" || lvl == "ERROR") && l[logs.Err] == nil && !unnamedErrors[l["msg"].(string)] {
			t.Errorf("a %s line names no error (key %s): %v", lvl, logs.Err, l)
		}
		if l[logs.JobID] == nil {
			continue
		}
		want := []string{logs.Tenant, logs.Execution, logs.RequestID}
		if l["component"] == "api" {
			want = append(want, logs.APIRequestID)
		}
		for _, k := range want {
			if s, _ := l[k].(string); s == "" {
				t.Errorf("a line about job %v has no %s: %v", l[logs.JobID], k, l)
			}
		}
		seen[l["msg"].(string)] = append(seen[l["msg"].(string)], l)
	}
	// Each function's own lines are among them, with the right execution.
	for msg, want := range map[string]struct{ job, tenant, execution string }{
		"job accepted":      {hooked, "tenantA", hooked},       // api
		"job admitted":      {cancelled, "tenantB", cancelled}, // admission, within the api function
		"submitted":         {hooked, "tenantA", hooked},       // submit
		"job finished":      {hooked, "tenantA", hooked},       // poll
		"job announced":     {hooked, "tenantA", hooked},       // finish
		"webhook delivered": {hooked, "tenantA", hooked},       // webhook: its execution is named after the job
		"step failed":       {failed, "tenantA", failed},       // fail
		"job registered":    {direct, "tenantB", direct},       // register
		"job cancelled":     {cancelled, "tenantB", cancelled},
	} {
		found := false
		for _, l := range seen[msg] {
			if l[logs.JobID] != want.job {
				continue
			}
			found = true
			if l[logs.Tenant] != want.tenant || l[logs.Execution] != want.execution {
				t.Errorf("%q: %v, want tenant %s, execution %s", msg, l, want.tenant, want.execution)
			}
		}
		if !found {
			t.Errorf("no line %q about job %s", msg, want.job)
		}
	}
	summary := false
	for _, l := range lines {
		summary = summary || l["msg"] == "reconciled" && l["level"] == "DEBUG" && l[logs.RequestID] != nil
	}
	if !summary {
		t.Error("no DEBUG summary of the reconciler's pass with its request id")
	}
	if t.Failed() {
		t.Log(fmt.Sprint(len(lines)), " lines:\n", out.String())
	}
}
