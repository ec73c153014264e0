package api

import (
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
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
