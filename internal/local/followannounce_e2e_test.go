package local

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
)

// TestFollowerEndsOnlyAnnounced is what TestFaultBatchSurvivesKill met
// under load. A restarted batch ran each item again as a new execution
// (the resumed Map started its items' children again under new random
// names, until Engine.startUnnamed; in AWS a RunJob retried after a lost
// answer does the same), which follows the job the item's first
// execution drives by the item's idempotency key: that one
// announces the job's end, in the Poll that records it. A job whose end
// was recorded by a Poll cut off before announcing (a kill, a Lambda
// timeout) is announced only when its own execution gets round to it
// again; its follower, reading the ended record, used to end at once,
// so the batch could end with the job unannounced, and with the job's
// own execution gone, nothing would ever announce it: the reconciler
// looks at open jobs only.
//
// Here the job's own execution is stopped once the upstream has the job,
// and its end is recorded as that Poll left it: ended, not announced.
// The follower, started with the same idempotency key, must not end
// before the end went out, once.
func TestFollowerEndsOnlyAnnounced(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReconcileInterval = 24 * time.Hour // nothing else touches the job
	rt := start(t, cfg)
	ctx := context.Background()
	request := json.RawMessage(`{"tenant":"tenantA","idempotency_key":"batch-b-7","batch":{"id":"b","item":7},` +
		`"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:gen=600"}`)

	const owner = "owner-1"
	if err := rt.Engine.Start(ctx, VideoJob, owner, request); err != nil {
		t.Fatal(err)
	}
	stopOnceSubmitted(t, rt, owner)
	if _, err := rt.Store.Update(ctx, owner, job.Change{At: rt.Clock.Now(), Status: job.Completed,
		Video: &job.Video{URL: "https://cdn.example.com/v.mp4"}}); err != nil {
		t.Fatal(err)
	}

	const follower = "follower-1"
	if err := rt.Engine.Start(ctx, VideoJob, follower, request); err != nil {
		t.Fatal(err)
	}
	exe := waitExecution(t, rt, VideoJob, follower)
	var out struct {
		ID     string     `json:"id"`
		Status job.Status `json:"status"`
	}
	if err := json.Unmarshal(exe.Output, &out); exe.Status != states.Succeeded || err != nil || out.ID != owner || out.Status != job.Completed {
		t.Fatalf("follower: %s %s %+v; want it succeeded with job %s completed", exe.Status, exe.Output, exe.Error, owner)
	}
	j, err := rt.Store.Get(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	if j.AnnouncedAt == nil {
		t.Errorf("the follower ended with the job's end unannounced: %+v", j)
	}
	if n := eventsOf(t, rt, owner); n != 1 {
		t.Errorf("%d events of job %s, want 1", n, owner)
	}
}
