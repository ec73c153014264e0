package api

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
)

// JSON answers leave & alone: a video URL pasted from the raw body must
// keep its signed query intact (HTML escaping would write \u0026).
func TestAnswersAreNotHTMLEscaped(t *testing.T) {
	h, _, store := newHandler(t)
	at := h.Clock.Now()
	const url = "https://cdn.example.com/v.mp4?expires=1&sig=a<b>"
	j := job.Job{ID: "amp", Tenant: "tenantA", Status: job.Queued, Request: job.Request{Model: job.Model, Duration: 5},
		CreatedAt: at, UpdatedAt: at, Deadline: at.Add(time.Hour)}
	if err := store.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(t.Context(), "amp", job.Change{At: at, Status: job.Completed, Video: &job.Video{URL: url}}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{PathGenerations, PathLegacy} {
		req := request("GET", path, "keyA", "", "")
		req.QueryStringParameters = map[string]string{"generation_id": "amp"}
		resp, _ := h.Handle(t.Context(), req)
		if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"url":"`+url+`"`) || strings.Contains(resp.Body, `\u0026`) {
			t.Errorf("GET %s: %d %s; want the URL with a plain &", path, resp.StatusCode, resp.Body)
		}
		if strings.HasSuffix(resp.Body, "\n") {
			t.Errorf("GET %s: body ends in a newline", path)
		}
	}
}

// The answer carries the job's progress: polls, when the upstream was last
// asked, when the job was submitted upstream and when it ended.
func TestQueryShowsProgress(t *testing.T) {
	h, _, store := newHandler(t)
	t0 := h.Clock.Now()
	j := job.Job{ID: "p1", Tenant: "tenantA", Status: job.Queued, Request: job.Request{Model: job.Model, Duration: 5},
		CreatedAt: t0, UpdatedAt: t0, Deadline: t0.Add(time.Hour)}
	if err := store.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	get := func() map[string]any {
		t.Helper()
		req := request("GET", PathGenerations, "keyA", "", "")
		req.QueryStringParameters = map[string]string{"generation_id": "p1"}
		resp, _ := h.Handle(t.Context(), req)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		return decode(t, resp)
	}
	g := get()
	for _, absent := range []string{"last_checked_at", "started_at", "ended_at", "queue_position"} {
		if _, ok := g[absent]; ok {
			t.Errorf("a fresh job's answer has %s: %v", absent, g)
		}
	}
	if g["polls"] != 0.0 {
		t.Errorf("polls = %v, want 0 (always present)", g["polls"])
	}

	submitted, asked, ended := t0.Add(time.Second), t0.Add(20*time.Second), t0.Add(30*time.Second)
	// A claim without an upstream id is no submission yet.
	if _, err := store.Update(t.Context(), "p1", job.Change{At: submitted, ClaimSubmit: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := get()["started_at"]; ok {
		t.Errorf("started_at before the upstream took the job")
	}
	if _, err := store.Update(t.Context(), "p1", job.Change{At: submitted.Add(time.Second), UpstreamID: "up-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(t.Context(), "p1", job.Change{At: asked, Status: job.Generating, Polls: 3}); err != nil {
		t.Fatal(err)
	}
	g = get()
	if g["status"] != "generating" || g["polls"] != 3.0 || g["last_checked_at"] != asked.Format(time.RFC3339) ||
		g["started_at"] != submitted.Format(time.RFC3339) {
		t.Errorf("generating job's answer: %v", g)
	}
	if _, ok := g["ended_at"]; ok {
		t.Errorf("ended_at before the end: %v", g)
	}
	if _, err := store.Update(t.Context(), "p1", job.Change{At: ended, Status: job.Completed, Polls: 1,
		Video: &job.Video{URL: "https://cdn.example.com/v.mp4"}}); err != nil {
		t.Fatal(err)
	}
	g = get()
	if g["ended_at"] != ended.Format(time.RFC3339) || g["polls"] != 4.0 || g["last_checked_at"] != ended.Format(time.RFC3339) {
		t.Errorf("ended job's answer: %v", g)
	}
	if _, ok := g["eta"]; ok {
		t.Errorf("an ended job has an eta: %v", g)
	}
}

// A job waiting for a slot answers its place among its tenant's waiting
// jobs, in a query and in a list page alike, and no eta; an admitted one
// answers an eta from the estimator and no place.
func TestQueuePositionAndETA(t *testing.T) {
	h, _, store := newHandler(t)
	h.Estimator = gentime.Estimator{Policy: pollpolicy.Fixed()} // the prior: 25 s median for 5 s
	now := h.Clock.Now()
	mk := func(id, tenant string, age time.Duration, waiting bool) {
		j := job.Job{ID: id, Tenant: tenant, Status: job.Queued, Request: job.Request{Model: job.Model, Duration: 5},
			Waiting: waiting, CreatedAt: now.Add(-age), UpdatedAt: now.Add(-age), Deadline: now.Add(time.Hour)}
		if err := store.Create(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	mk("w1", "tenantA", 4*time.Minute, true)
	mk("other", "tenantB", 3*time.Minute, true)
	mk("run", "tenantA", 150*time.Second, false)
	mk("w2", "tenantA", 2*time.Minute, true)
	mk("w3", "tenantA", time.Minute, true)

	query := func(id string) map[string]any {
		t.Helper()
		req := request("GET", PathGenerations, "keyA", "", "")
		req.QueryStringParameters = map[string]string{"generation_id": id}
		resp, _ := h.Handle(t.Context(), req)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		return decode(t, resp)
	}
	for id, want := range map[string]float64{"w1": 1, "w2": 2, "w3": 3} {
		g := query(id)
		if g["queue_position"] != want {
			t.Errorf("%s: queue_position %v, want %v", id, g["queue_position"], want)
		}
		if _, ok := g["eta"]; ok {
			t.Errorf("%s waits for a slot but has an eta: %v", id, g["eta"])
		}
	}
	g := query("run")
	if _, ok := g["queue_position"]; ok {
		t.Errorf("an admitted job has a queue position: %v", g)
	}
	eta, _ := g["eta"].(map[string]any)
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	// Not submitted yet: estimated as if submitted now.
	if eta == nil || eta["at"] != at(25*time.Second) || eta["earliest"] != at(16*time.Second) ||
		eta["latest"] != at(39*time.Second) || eta["confidence"] != 0.8 {
		t.Errorf("eta = %v, want at +25 s within +16 s..+39 s at 0.8", g["eta"])
	}

	req := request("GET", PathGenerations, "keyA", "", "")
	req.QueryStringParameters = map[string]string{"status": "queued", "limit": "2"}
	resp, _ := h.Handle(t.Context(), req)
	var page vidgen.Page
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || page.Next == nil {
		t.Fatalf("%s: %v", resp.Body, err)
	}
	req.QueryStringParameters["next"] = *page.Next
	resp, _ = h.Handle(t.Context(), req)
	var rest vidgen.Page
	if err := json.Unmarshal([]byte(resp.Body), &rest); err != nil {
		t.Fatalf("%s: %v", resp.Body, err)
	}
	got := map[string]int{}
	for _, g := range append(page.Data, rest.Data...) {
		if g.QueuePosition != nil {
			got[g.ID] = *g.QueuePosition
		} else if g.ETA == nil {
			t.Errorf("listed %s has neither a queue position nor an eta", g.ID)
		}
	}
	if want := map[string]int{"w1": 1, "w2": 2, "w3": 3}; !maps.Equal(got, want) {
		t.Errorf("listed queue positions %v, want %v", got, want)
	}
}

// With Stamp set (a local runtime on a scaled clock), every time a client
// reads, in a query and in a list page, is the stamped one.
func TestAnswersStampTimes(t *testing.T) {
	h, _, store := newHandler(t)
	const shift = -3 * time.Hour
	h.Stamp = func(t time.Time) time.Time { return t.Add(shift) }
	t0 := h.Clock.Now()
	j := job.Job{ID: "s1", Tenant: "tenantA", Status: job.Queued, Request: job.Request{Model: job.Model, Duration: 5},
		CreatedAt: t0, UpdatedAt: t0, Deadline: t0.Add(time.Hour)}
	if err := store.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	submitted, ended := t0.Add(time.Second), t0.Add(30*time.Second)
	for _, c := range []job.Change{{At: submitted, ClaimSubmit: true}, {At: submitted, UpstreamID: "up-1"},
		{At: ended, Status: job.Completed, Polls: 2, Video: &job.Video{URL: "https://cdn.example.com/v.mp4"}}} {
		if _, err := store.Update(t.Context(), "s1", c); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"created_at": t0.Add(shift).UTC().Format(time.RFC3339), "started_at": submitted.Add(shift).UTC().Format(time.RFC3339),
		"updated_at": ended.Add(shift).UTC().Format(time.RFC3339), "ended_at": ended.Add(shift).UTC().Format(time.RFC3339),
		"last_checked_at": ended.Add(shift).UTC().Format(time.RFC3339)}
	check := func(where string, g map[string]any) {
		t.Helper()
		for k, v := range want {
			if g[k] != v {
				t.Errorf("%s: %s = %v, want %s", where, k, g[k], v)
			}
		}
	}
	req := request("GET", PathGenerations, "keyA", "", "")
	req.QueryStringParameters = map[string]string{"generation_id": "s1"}
	resp, _ := h.Handle(t.Context(), req)
	check("query", decode(t, resp))
	resp, _ = h.Handle(t.Context(), request("GET", PathGenerations, "keyA", "", ""))
	var page struct{ Data []map[string]any }
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || len(page.Data) != 1 {
		t.Fatalf("list: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	check("list", page.Data[0])
}
