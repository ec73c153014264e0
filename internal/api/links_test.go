package api

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// fakeLinks links key k as https://files.example/k?ttl=<ttl>, or fails.
type fakeLinks struct{ err error }

func (f fakeLinks) Link(_ context.Context, key string, ttl time.Duration) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	return "https://files.example/" + key + "?ttl=" + ttl.String(), nil
}

// An archived video is answered with a fresh link to the copy, in every
// route that renders jobs; its key never reaches the client.
func TestArchivedVideoGetsAFreshLink(t *testing.T) {
	h, _, store := newHandler(t)
	h.Links = fakeLinks{}
	h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody))
	h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody))
	dur := 5.0
	at := time.Date(2026, 11, 25, 12, 1, 0, 0, time.UTC)
	for id, key := range map[string]string{"job-1": "videos/job-1.mp4", "job-2": ""} {
		if _, err := store.Update(t.Context(), id, job.Change{At: at, Status: job.Completed, UpstreamID: "u-" + id,
			Video: &job.Video{URL: "https://cdn.example/" + id + ".mp4?sig=s", Duration: &dur, Key: key}}); err != nil {
			t.Fatal(err)
		}
	}
	query := func() string {
		req := request("GET", PathGenerations, "keyA", "", "")
		req.QueryStringParameters = map[string]string{"generation_id": "job-1"}
		resp, _ := h.Handle(t.Context(), req)
		return resp.Body
	}
	list, _ := h.Handle(t.Context(), request("GET", PathGenerations, "keyA", "", ""))
	for name, body := range map[string]string{"query": query(), "list": list.Body} {
		if !strings.Contains(body, `"video":{"url":"https://files.example/videos/job-1.mp4?ttl=1h0m0s","duration":5}`) {
			t.Errorf("%s: %s lacks a one-hour link to the archived video", name, body)
		}
		if strings.Contains(body, `"key"`) {
			t.Errorf("%s: the archive key leaks into %s", name, body)
		}
	}
	if !strings.Contains(list.Body, `"url":"https://cdn.example/job-2.mp4?sig=s"`) {
		t.Errorf("list: %s lacks the upstream URL of the video not archived", list.Body)
	}

	// A link that cannot be made falls back to the upstream's URL.
	h.Links = fakeLinks{err: errors.New("no credentials")}
	h.LinkTTL = 10 * time.Minute
	if body := query(); !strings.Contains(body, `"url":"https://cdn.example/job-1.mp4?sig=s"`) {
		t.Errorf("with a failing linker: %s, want the upstream URL", body)
	}
}
