package api

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
)

// stepClock is a manual clock that runs a hook after each sleep (the
// sleep's number, from 1), so that a test changes the job in the middle of
// a long-poll without any real waiting.
type stepClock struct {
	*clock.Manual
	sleeps  int
	onSleep func(n int)
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := c.Manual.Sleep(ctx, d); err != nil {
		return err
	}
	c.sleeps++
	if c.onSleep != nil {
		c.onSleep(c.sleeps)
	}
	return nil
}

// countingGets counts the store's reads of one job.
type countingGets struct {
	*boltstore.Store
	gets atomic.Int32
}

func (s *countingGets) Get(ctx context.Context, id string) (job.Job, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, id)
}

// longPollEnv is a handler on a stepClock with a counted store and one
// job of tenantA, "lp", generating with 2 polls.
func longPollEnv(t *testing.T) (*checkedHandler, *stepClock, *countingGets) {
	t.Helper()
	h, _, store := newHandler(t)
	clk := &stepClock{Manual: h.Clock.(*clock.Manual)}
	counted := &countingGets{Store: store}
	h.Clock, h.Store = clk, counted
	now := clk.Now()
	j := job.Job{ID: "lp", Tenant: "tenantA", Status: job.Queued, Request: job.Request{Model: job.Model, Duration: 5},
		CreatedAt: now, UpdatedAt: now, Deadline: now.Add(time.Hour)}
	if err := store.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(t.Context(), "lp", job.Change{At: now, Status: job.Generating, UpstreamID: "u", Polls: 2}); err != nil {
		t.Fatal(err)
	}
	counted.gets.Store(0)
	return h, clk, counted
}

func waitRequest(path, id, wait string) events.APIGatewayV2HTTPRequest {
	req := request("GET", path, "keyA", "", "")
	req.QueryStringParameters = map[string]string{}
	if id != "" {
		req.QueryStringParameters["generation_id"] = id
	}
	if wait != "" {
		req.QueryStringParameters["wait"] = wait
	}
	return req
}

func TestLongPollWaitIsValidated(t *testing.T) {
	h, clk, _ := longPollEnv(t)
	start := clk.Now()
	for _, w := range []string{"", "-1", "26", "1.5", "5s", "ten", "99999999999999999999"} {
		req := waitRequest(PathGenerations, "lp", w)
		req.QueryStringParameters["wait"] = w // present, even when empty
		resp, _ := h.Handle(t.Context(), req)
		body := decode(t, resp)
		fields, _ := body["error"].(map[string]any)["fields"].([]any)
		if resp.StatusCode != 400 || len(fields) != 1 || fields[0].(map[string]any)["field"] != "wait" {
			t.Errorf("wait=%q: %d %s; want 400 naming wait", w, resp.StatusCode, resp.Body)
		}
	}
	for _, w := range []string{"0", "25"} {
		clk.onSleep = func(int) { // end the 25-s one at once
			h.Store.Update(t.Context(), "lp", job.Change{At: clk.Now(), Polls: 1})
		}
		if resp, _ := h.Handle(t.Context(), waitRequest(PathGenerations, "lp", w)); resp.StatusCode != 200 {
			t.Errorf("wait=%s: %d %s", w, resp.StatusCode, resp.Body)
		}
	}
	if d := clk.Now().Sub(start); d != time.Second {
		t.Errorf("the clock moved %v, want 1 s (the 25-s wait's first interval)", d)
	}
}

// A long-poll answers at the first read that finds the job's progress
// changed, having read it once per WaitInterval.
func TestLongPollAnswersOnChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change job.Change
		want   func(g map[string]any) bool
	}{
		{"a poll", job.Change{Polls: 1}, func(g map[string]any) bool { return g["polls"] == 3.0 }},
		{"completed", job.Change{Status: job.Completed, Video: &job.Video{URL: "https://cdn.example.com/v.mp4?a=1&b=2"}},
			func(g map[string]any) bool { return g["status"] == "completed" && g["video"] != nil }},
		{"failed", job.Fail(time.Time{}, job.ErrNameCancelled, "cancelled"),
			func(g map[string]any) bool { return g["status"] == "error" && g["error"] != nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, clk, store := longPollEnv(t)
			start := clk.Now()
			clk.onSleep = func(n int) {
				if n == 3 {
					c := tc.change
					c.At = clk.Now()
					if _, err := store.Store.Update(t.Context(), "lp", c); err != nil {
						t.Error(err)
					}
				}
			}
			for _, path := range []string{PathGenerations, PathLegacy} {
				clk.sleeps, clk.Manual = 0, clock.NewManual(start)
				if path == PathLegacy {
					// The change is in; wait for another, which never comes.
					clk.onSleep = nil
				}
				store.gets.Store(0)
				resp, _ := h.Handle(t.Context(), waitRequest(path, "lp", "20"))
				g := decode(t, resp)
				if path == PathLegacy {
					if waited := clk.Now().Sub(start); resp.StatusCode != 200 || !tc.want(g) || (waited != 0 && waited != 20*time.Second) {
						t.Errorf("legacy path: %d after %v: %v", resp.StatusCode, waited, g)
					}
					continue
				}
				if resp.StatusCode != 200 || !tc.want(g) {
					t.Fatalf("%d %v; want the changed job", resp.StatusCode, g)
				}
				if waited := clk.Now().Sub(start); waited != 3*time.Second {
					t.Errorf("answered after %v, want 3 s (the read after the change)", waited)
				}
				if n := store.gets.Load(); n != 4 {
					t.Errorf("%d reads, want 4 (the request's own, then one per second)", n)
				}
			}
		})
	}
}

// Without a change a long-poll answers the current job after wait seconds;
// an ended job and wait=0 answer at once.
func TestLongPollTimesOutAndEndedAnswersAtOnce(t *testing.T) {
	h, clk, store := longPollEnv(t)
	start := clk.Now()
	resp, _ := h.Handle(t.Context(), waitRequest(PathGenerations, "lp", "7"))
	if g := decode(t, resp); resp.StatusCode != 200 || g["status"] != "generating" || g["polls"] != 2.0 {
		t.Fatalf("%d %v", resp.StatusCode, g)
	}
	if waited := clk.Now().Sub(start); waited != 7*time.Second {
		t.Errorf("answered after %v, want 7 s", waited)
	}
	if n := store.gets.Load(); n != 8 {
		t.Errorf("%d reads, want 8: one per waiting second and the request's own", n)
	}

	for _, w := range []string{"0", ""} {
		at := clk.Now()
		if resp, _ := h.Handle(t.Context(), waitRequest(PathGenerations, "lp", w)); resp.StatusCode != 200 || !clk.Now().Equal(at) {
			t.Errorf("wait=%q: %d, the clock moved %v; want an answer at once", w, resp.StatusCode, clk.Now().Sub(at))
		}
	}
	if _, err := store.Store.Update(t.Context(), "lp", job.Change{At: clk.Now(), Status: job.Completed, Video: &job.Video{URL: "https://v"}}); err != nil {
		t.Fatal(err)
	}
	at := clk.Now()
	resp, _ = h.Handle(t.Context(), waitRequest(PathGenerations, "lp", "25"))
	if g := decode(t, resp); g["status"] != "completed" || !clk.Now().Equal(at) {
		t.Errorf("ended job: %v after %v; want it at once", g, clk.Now().Sub(at))
	}
}

// A long-poll stops LongPollReserve before its invocation's deadline
// (real time, as Lambda's), and when the client goes away.
func TestLongPollStopsBeforeTheDeadline(t *testing.T) {
	h, clk, _ := longPollEnv(t)
	start := clk.Now()
	ctx, cancel := context.WithTimeout(t.Context(), LongPollReserve) // less than the reserve plus a step
	defer cancel()
	resp, _ := h.Handle(ctx, waitRequest(PathGenerations, "lp", "25"))
	if resp.StatusCode != 200 || !clk.Now().Equal(start) {
		t.Errorf("%d after %v; want the job at once", resp.StatusCode, clk.Now().Sub(start))
	}

	ctx, cancel = context.WithCancel(t.Context())
	clk.onSleep = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	resp, _ = h.Handle(ctx, waitRequest(PathGenerations, "lp", "25"))
	if resp.StatusCode != 200 || clk.Now().Sub(start) != 2*time.Second {
		t.Errorf("%d after %v; want the job after 2 s, when the client went away", resp.StatusCode, clk.Now().Sub(start))
	}
}

// A job waiting for a slot ends the wait when its queue position moves.
func TestLongPollAnswersOnQueuePosition(t *testing.T) {
	h, clk, store := longPollEnv(t)
	now := clk.Now()
	for i, id := range []string{"w1", "w2"} {
		j := job.Job{ID: id, Tenant: "tenantA", Status: job.Queued, Request: job.Request{Model: job.Model, Duration: 5},
			Waiting: true, CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now, Deadline: now.Add(time.Hour)}
		if err := store.Create(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	clk.onSleep = func(n int) {
		if n == 4 {
			if _, err := store.Store.Admit(t.Context(), "w1", job.Limits{}, clk.Now()); err != nil {
				t.Error(err)
			}
		}
	}
	resp, _ := h.Handle(t.Context(), waitRequest(PathGenerations, "w2", "25"))
	if g := decode(t, resp); g["queue_position"] != 1.0 || clk.Now().Sub(now) != 4*time.Second {
		t.Errorf("%v after %v; want queue_position 1 after 4 s", g, clk.Now().Sub(now))
	}
}

// GET /v1/jobs/{id} is the query of one generation: the same body, the
// same auth, wait included; nothing else is routed there.
func TestJobsAlias(t *testing.T) {
	h, clk, _ := longPollEnv(t)
	query, _ := h.Handle(t.Context(), waitRequest(PathGenerations, "lp", ""))
	alias, _ := h.Handle(t.Context(), request("GET", PathJobs+"lp", "keyA", "", ""))
	if alias.StatusCode != 200 || alias.Body != query.Body {
		t.Errorf("alias: %d %s\nquery: %s", alias.StatusCode, alias.Body, query.Body)
	}
	start := clk.Now()
	req := request("GET", PathJobs+"lp", "keyA", "", "")
	req.QueryStringParameters = map[string]string{"wait": "3"}
	if resp, _ := h.Handle(t.Context(), req); resp.StatusCode != 200 || clk.Now().Sub(start) != 3*time.Second {
		t.Errorf("alias with wait=3: %d after %v", resp.StatusCode, clk.Now().Sub(start))
	}
	req.QueryStringParameters = map[string]string{"wait": "30"}
	if resp, _ := h.Handle(t.Context(), req); resp.StatusCode != 400 || !strings.Contains(resp.Body, `"field":"wait"`) {
		t.Errorf("alias with wait=30: %d %s", resp.StatusCode, resp.Body)
	}
	for _, tc := range []struct {
		method, path, key string
		code              int
	}{
		{"GET", PathJobs + "lp", "keyB", 404}, // another tenant's
		{"GET", PathJobs + "nope", "keyA", 404},
		{"GET", PathJobs + "lp", "", 401},
		{"GET", PathJobs + "lp", "wrong", 401},
		{"DELETE", PathJobs + "lp", "keyA", 405},
		{"POST", PathJobs + "lp", "keyA", 405},
		{"GET", PathJobs, "keyA", 404},
		{"GET", PathJobs + "lp/more", "keyA", 404},
	} {
		resp, _ := h.Handle(t.Context(), request(tc.method, tc.path, tc.key, "", ""))
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s (key %q): %d %s, want %d", tc.method, tc.path, tc.key, resp.StatusCode, resp.Body, tc.code)
		}
		if tc.code == 405 && resp.Headers["Allow"] != "GET" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, resp.Headers["Allow"])
		}
	}
}
