// Package storetest is the contract every job store must meet. Each store's
// tests call Run with a constructor, so the embedded store and DynamoDB are
// held to exactly the same behaviour.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
)

// Store is what the contract exercises.
type Store interface {
	Create(ctx context.Context, j job.Job) error
	Get(ctx context.Context, id string) (job.Job, error)
	Update(ctx context.Context, id string, c job.Change) (job.Job, error)
	CreateClaimed(ctx context.Context, j job.Job, c job.Claim, now time.Time) (job.Claim, error)
	LiveClaim(ctx context.Context, tenant, key string, now time.Time) (job.Claim, bool, error)
	OpenJobs(ctx context.Context) ([]string, error)
	List(ctx context.Context, tenant string, f job.Filter, limit int, cursor string) ([]job.Job, string, error)
	Admit(ctx context.Context, id string, limits job.Limits, at time.Time) (job.Job, error)
	Waiting(ctx context.Context, n int) ([]job.Job, error)
	QueuePosition(ctx context.Context, j job.Job) (int, error)
	InFlight(ctx context.Context) (job.InFlight, error)
	ClaimAnnouncement(ctx context.Context, id string, at time.Time, lease time.Duration) (job.Job, error)
	MarkAnnounced(ctx context.Context, id string, at time.Time) (job.Job, error)
	RepairSlots(ctx context.Context) (before, after job.InFlight, err error)
	// SetSlotCountsForTest overwrites the slot counters, as a drift would:
	// each store defines it in a _test.go file, so it exists only in tests.
	SetSlotCountsForTest(ctx context.Context, f job.InFlight) error
	// The learned generation times live beside the jobs.
	gentime.Store
	// Spend is a tenant's credits on a UTC day (job.Day).
	Spend(ctx context.Context, tenant, day string) (job.Spend, error)
}

// Run runs the contract against stores made by newStore; each subtest gets
// a fresh store.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	seed := int64(42)
	sample := func(id string) job.Job {
		return job.Job{
			ID: id, Tenant: "tenantA", Status: job.Queued,
			Request: job.Request{Model: job.Model, ImageURL: "https://example.com/a.png", Prompt: "p ✓",
				TailImageURL: "data:image/png;base64,iVBORw0KGgo=", AspectRatio: "9:16", Duration: 10, Seed: &seed},
			CreatedAt: t0, UpdatedAt: t0, Deadline: t0.Add(30 * time.Minute),
		}
	}
	ctx := context.Background()
	announcements(t, newStore, sample)
	slotCounts(t, newStore, sample)
	genTimes(t, newStore)
	spend(t, newStore, sample)

	t.Run("create and get round-trip", func(t *testing.T) {
		s := newStore(t)
		want := sample("j1")
		if err := s.Create(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "j1")
		if err != nil {
			t.Fatal(err)
		}
		if err := sameJob(got, want); err != nil {
			t.Fatal(err)
		}
		// vidgen's own fields of a job started directly, in a batch.
		want = sample("j2")
		want.CallbackURL = "https://hooks.example.com/v?token=t"
		want.Batch = &job.BatchItem{ID: "2026-11-25T06:00:00Z", Item: 0}
		if err := s.Create(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err = s.Get(ctx, "j2"); err != nil {
			t.Fatal(err)
		}
		if err := sameJob(got, want); err != nil {
			t.Fatal(err)
		}
		// A job waiting for a slot, and one holding one.
		for _, want := range []job.Job{sample("j3"), sample("j4")} {
			want.Waiting, want.Slot = want.ID == "j3", want.ID == "j4"
			if err := s.Create(ctx, want); err != nil {
				t.Fatal(err)
			}
			if got, err = s.Get(ctx, want.ID); err != nil {
				t.Fatal(err)
			}
			if err := sameJob(got, want); err != nil {
				t.Fatal(err)
			}
		}
		// Another model's request: its body as sent, nested media, a
		// fraction, a null and a boolean, and no explicit defaults.
		want = sample("j5")
		if err := json.Unmarshal([]byte(`{"model":"klingai/video-o1-reference-to-video","prompt":"p",`+
			`"elements":[{"frontal_image_url":"https://a.example/f.png","reference_image_urls":["blob:images/j5/elements.0.reference_image_urls.0"]}],`+
			`"image_list":["https://a.example/1.png"],"duration":10,"provider":null}`), &want.Request); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err = s.Get(ctx, "j5"); err != nil {
			t.Fatal(err)
		}
		if err := sameJob(got, want); err != nil {
			t.Fatal(err)
		}
		if got.Request.Duration != 10 || !reflect.DeepEqual(got.Request.Body, want.Request.Body) {
			t.Fatalf("request read back as %+v, want %+v", got.Request, want.Request)
		}
	})
	t.Run("create is create-if-absent", func(t *testing.T) {
		s := newStore(t)
		if err := s.Create(ctx, sample("j1")); err != nil {
			t.Fatal(err)
		}
		// The same record again is a retried write whose answer was lost.
		if err := s.Create(ctx, sample("j1")); err != nil {
			t.Fatalf("the same record again: %v, want success", err)
		}
		other := sample("j1")
		other.Tenant = "tenantB"
		if err := s.Create(ctx, other); !errors.Is(err, job.ErrExists) {
			t.Fatalf("second create: err = %v, want ErrExists", err)
		}
		got, _ := s.Get(ctx, "j1")
		if got.Tenant != "tenantA" {
			t.Fatal("second create overwrote the first")
		}
	})
	t.Run("missing job", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("get: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Update(ctx, "nope", job.Change{At: t0}); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("update: err = %v, want ErrNotFound", err)
		}
	})
	t.Run("forward moves and a final record", func(t *testing.T) {
		s := newStore(t)
		if err := s.Create(ctx, sample("j1")); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Minute)
		j, err := s.Update(ctx, "j1", job.Change{At: at, Status: job.Generating, UpstreamID: "up-1", Polls: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := sample("j1")
		want.Status, want.UpstreamID, want.Polls, want.UpdatedAt, want.CheckedAt = job.Generating, "up-1", 1, at, &at
		if err := sameJob(j, want); err != nil {
			t.Fatalf("Update's answer: %v", err)
		}
		if got, _ := s.Get(ctx, "j1"); sameJob(got, want) != nil {
			t.Fatalf("after update: %v", sameJob(got, want))
		}
		if _, err := s.Update(ctx, "j1", job.Change{At: at, Status: job.Queued}); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("backwards: err = %v, want ErrConflict", err)
		}
		dur, credits := 5.0, 12.5
		done := job.Change{At: at.Add(time.Minute), Status: job.Completed,
			Video: &job.Video{URL: "https://cdn.example/v.mp4", Duration: &dur}, CreditsUsed: &credits}
		if _, err := s.Update(ctx, "j1", done); err != nil {
			t.Fatal(err)
		}
		for _, c := range []job.Change{
			job.Fail(at.Add(2*time.Minute), job.ErrNameCancelled, "late"),
			{At: at.Add(2 * time.Minute), Status: job.Completed, Video: &job.Video{URL: "https://other"}},
			{At: at.Add(2 * time.Minute), Polls: 1},
		} {
			if _, err := s.Update(ctx, "j1", c); !errors.Is(err, job.ErrConflict) {
				t.Fatalf("change of a terminal job: err = %v, want ErrConflict", err)
			}
		}
		got, _ := s.Get(ctx, "j1")
		if got.Status != job.Completed || got.Video.URL != "https://cdn.example/v.mp4" || *got.CreditsUsed != 12.5 || got.Error != nil {
			t.Fatalf("terminal record changed: %+v", got)
		}
		// CheckedAt moves only with the polls it counts.
		if got.Polls != 1 || got.CheckedAt == nil || !got.CheckedAt.Equal(at) {
			t.Fatalf("polls %d checked at %v, want 1 at %v (the completing change counted no poll)", got.Polls, got.CheckedAt, at)
		}
	})
	t.Run("submit claim is taken once", func(t *testing.T) {
		s := newStore(t)
		if err := s.Create(ctx, sample("j1")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, "j1", job.Change{At: t0, ClaimSubmit: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, "j1", job.Change{At: t0, ClaimSubmit: true}); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("second claim: err = %v, want ErrConflict", err)
		}
		j, err := s.Update(ctx, "j1", job.Change{At: t0, ReleaseSubmit: true})
		if err != nil || j.SubmitStarted != nil {
			t.Fatalf("release: %v %+v", err, j)
		}
		if _, err := s.Update(ctx, "j1", job.Change{At: t0, ClaimSubmit: true}); err != nil {
			t.Fatalf("claim after release: %v", err)
		}
	})
	t.Run("idempotency claim names one job until it expires", func(t *testing.T) {
		s := newStore(t)
		now := t0
		claim := func(id, tenant, key, hash string) (job.Claim, error) {
			j := sample(id)
			j.Tenant = tenant
			return s.CreateClaimed(ctx, j, job.Claim{Tenant: tenant, Key: key, RequestHash: hash, JobID: id,
				ExpiresAt: now.Add(job.IdempotencyTTL)}, now)
		}
		won, err := claim("j1", "tenantA", "k", "h1")
		if err != nil || won.JobID != "j1" {
			t.Fatalf("first claim: %+v, %v", won, err)
		}
		if _, err := s.Get(ctx, "j1"); err != nil {
			t.Fatalf("claimed job not created: %v", err)
		}
		now = now.Add(time.Hour)
		won, err = claim("j2", "tenantA", "k", "h2")
		if err != nil || won.JobID != "j1" || won.RequestHash != "h1" {
			t.Fatalf("repeat claim: %+v, %v; want j1's claim", won, err)
		}
		if _, err := s.Get(ctx, "j2"); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("a repeat claim created a job: %v", err)
		}
		if won, err = claim("j3", "tenantB", "k", "h1"); err != nil || won.JobID != "j3" {
			t.Fatalf("another tenant's key: %+v, %v", won, err)
		}
		if c, found, err := s.LiveClaim(ctx, "tenantA", "k", now); err != nil || !found || c.JobID != "j1" || c.RequestHash != "h1" {
			t.Fatalf("live claim: %+v, %v, %v; want j1's", c, found, err)
		}
		if c, found, err := s.LiveClaim(ctx, "tenantA", "other", now); err != nil || found {
			t.Fatalf("unclaimed key: %+v, %v, %v", c, found, err)
		}
		if c, found, err := s.LiveClaim(ctx, "tenantA", "k", t0.Add(job.IdempotencyTTL)); err != nil || found {
			t.Fatalf("expired claim: %+v, %v, %v", c, found, err)
		}
		now = t0.Add(job.IdempotencyTTL)
		if won, err = claim("j4", "tenantA", "k", "h1"); err != nil || won.JobID != "j4" {
			t.Fatalf("claim after expiry: %+v, %v; want a new job", won, err)
		}
	})
	t.Run("concurrent idempotent creates: exactly one job", func(t *testing.T) {
		s := newStore(t)
		const n = 12
		var wg sync.WaitGroup
		ids := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("c%d", i)
				won, err := s.CreateClaimed(ctx, sample(id), job.Claim{Tenant: "tenantA", Key: "same", RequestHash: "h",
					JobID: id, ExpiresAt: t0.Add(job.IdempotencyTTL)}, t0)
				if err != nil {
					t.Errorf("CreateClaimed: %v", err)
					return
				}
				ids <- won.JobID
			}()
		}
		wg.Wait()
		close(ids)
		winners := map[string]int{}
		for id := range ids {
			winners[id]++
		}
		if len(winners) != 1 {
			t.Fatalf("callers were told of %d different jobs: %v", len(winners), winners)
		}
		created := 0
		for i := range n {
			if _, err := s.Get(ctx, fmt.Sprintf("c%d", i)); err == nil {
				created++
			}
		}
		if created != 1 {
			t.Fatalf("%d jobs created, want 1", created)
		}
	})
	t.Run("claims are not jobs", func(t *testing.T) {
		s := newStore(t)
		won, err := s.CreateClaimed(ctx, sample("j1"), job.Claim{Tenant: "tenantA", Key: "k", RequestHash: "h",
			JobID: "j1", ExpiresAt: t0.Add(time.Hour)}, t0)
		if err != nil || won.JobID != "j1" {
			t.Fatal(won, err)
		}
		for _, id := range []string{"claim#", "claim#k"} {
			if _, err := s.Get(ctx, id); !errors.Is(err, job.ErrNotFound) {
				t.Fatalf("Get(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})
	t.Run("open jobs, soonest deadline first", func(t *testing.T) {
		s := newStore(t)
		for i, id := range []string{"late", "early", "done", "mid"} {
			j := sample(id)
			j.Deadline = t0.Add(time.Duration([]int{30, 10, 5, 20}[i]) * time.Minute)
			if err := s.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Update(ctx, "done", job.Fail(t0, job.ErrNameCancelled, "stop")); err != nil {
			t.Fatal(err)
		}
		// An ended job stays open until its end is announced (see the
		// announcements contract).
		if _, err := s.MarkAnnounced(ctx, "done", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, "mid", job.Change{At: t0, Status: job.Generating, CountResume: true}); err != nil {
			t.Fatal(err)
		}
		ids, err := s.OpenJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ids, ",") != "early,mid,late" {
			t.Fatalf("open jobs = %v, want early,mid,late", ids)
		}
		if j, _ := s.Get(ctx, "mid"); j.Resumes != 1 || j.ExecutionName() != "mid-r1" {
			t.Fatalf("resumes not recorded: %+v", j)
		}
	})
	t.Run("list pages a tenant's jobs newest first", func(t *testing.T) {
		s := newStore(t)
		var want []string
		for i := range 7 {
			j := sample(fmt.Sprintf("a%d", i))
			j.CreatedAt = t0.Add(time.Duration(i) * 500 * time.Millisecond)
			if i == 3 {
				j.CreatedAt = t0.Add(time.Second) // ties with a2: ordered by id
			}
			if err := s.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
			other := sample(fmt.Sprintf("b%d", i))
			other.Tenant = "tenantB"
			if err := s.Create(ctx, other); err != nil {
				t.Fatal(err)
			}
		}
		want = []string{"a6", "a5", "a4", "a3", "a2", "a1", "a0"}
		var got []string
		cursor := ""
		for page := 0; ; page++ {
			jobs, next, err := s.List(ctx, "tenantA", job.Filter{}, 3, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs {
				got = append(got, j.ID)
			}
			if next == "" {
				break
			}
			if page > 5 {
				t.Fatal("list does not end")
			}
			cursor = next
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("listed %v, want %v", got, want)
		}
		if _, err := s.Update(ctx, "a4", job.Fail(t0, job.ErrNameCancelled, "x")); err != nil {
			t.Fatal(err)
		}
		failed, next, err := s.List(ctx, "tenantA", job.Filter{Status: job.Failed}, 10, "")
		if err != nil || next != "" || len(failed) != 1 || failed[0].ID != "a4" {
			t.Fatalf("status filter: %v %q %v", failed, next, err)
		}
		queued, _, err := s.List(ctx, "tenantA", job.Filter{Status: job.Queued}, 2, "")
		if err != nil || len(queued) != 2 || queued[0].ID != "a6" || queued[1].ID != "a5" {
			t.Fatalf("filtered page: %v %v", queued, err)
		}
		// The model filter, alone and with a status.
		for _, id := range []string{"a1", "a5"} {
			j := sample("k" + id)
			j.Request.Model, j.CreatedAt = otherModel, t0.Add(-time.Minute)
			if err := s.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Update(ctx, "ka1", job.Fail(t0, job.ErrNameCancelled, "x")); err != nil {
			t.Fatal(err)
		}
		byModel, next, err := s.List(ctx, "tenantA", job.Filter{Model: otherModel}, 10, "")
		if err != nil || next != "" || len(byModel) != 2 || byModel[0].ID != "ka5" || byModel[1].ID != "ka1" {
			t.Fatalf("model filter: %v %q %v", ids(byModel), next, err)
		}
		both, _, err := s.List(ctx, "tenantA", job.Filter{Status: job.Failed, Model: otherModel}, 10, "")
		if err != nil || len(both) != 1 || both[0].ID != "ka1" {
			t.Fatalf("model and status filter: %v %v", ids(both), err)
		}
		first, next, err := s.List(ctx, "tenantA", job.Filter{Model: job.Model}, 4, "")
		if err != nil || len(first) != 4 || next == "" {
			t.Fatalf("model filter, first page: %v %q %v", ids(first), next, err)
		}
		rest, next, err := s.List(ctx, "tenantA", job.Filter{Model: job.Model}, 4, next)
		if err != nil || next != "" || len(rest) != 3 {
			t.Fatalf("model filter, second page: %v %q %v", ids(rest), next, err)
		}
		if got := strings.Join(append(ids(first), ids(rest)...), ","); got != strings.Join(want, ",") {
			t.Fatalf("model filter listed %s, want %v", got, want)
		}
		_, nextA, _ := s.List(ctx, "tenantA", job.Filter{}, 2, "")
		if _, _, err := s.List(ctx, "tenantB", job.Filter{}, 2, nextA); !errors.Is(err, job.ErrBadCursor) {
			t.Fatalf("another tenant's cursor: %v", err)
		}
		if _, _, err := s.List(ctx, "tenantA", job.Filter{}, 2, "!!"); !errors.Is(err, job.ErrBadCursor) {
			t.Fatalf("garbage cursor: %v", err)
		}
	})
	t.Run("concurrent claims: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		if err := s.Create(ctx, sample("j1")); err != nil {
			t.Fatal(err)
		}
		oneWins(t, 16, func() error {
			_, err := s.Update(ctx, "j1", job.Change{At: t0, ClaimSubmit: true})
			return err
		})
	})
	t.Run("queue position: among the tenant's waiting jobs, oldest first", func(t *testing.T) {
		s := newStore(t)
		jobs := map[string]job.Job{}
		waiting := func(id, tenant string, at time.Duration) {
			j := sample(id)
			j.Tenant, j.Waiting, j.CreatedAt = tenant, true, t0.Add(at)
			if err := s.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
			jobs[id] = j
		}
		waiting("a1", "tenantA", 0)
		waiting("b1", "tenantB", -time.Second) // another tenant's, older: not counted
		waiting("a3", "tenantA", time.Second)
		waiting("a2", "tenantA", time.Second) // same time as a3: ties by id
		waiting("a4", "tenantA", time.Hour)
		running := sample("a0") // older but admitted: not waiting
		running.CreatedAt = t0.Add(-time.Hour)
		if err := s.Create(ctx, running); err != nil {
			t.Fatal(err)
		}
		wantPlaces := func(want map[string]int) {
			t.Helper()
			for id, place := range want {
				got, err := s.QueuePosition(ctx, jobs[id])
				if err != nil || got != place {
					t.Errorf("QueuePosition(%s) = %d, %v; want %d", id, got, err, place)
				}
			}
		}
		wantPlaces(map[string]int{"a1": 1, "a2": 2, "a3": 3, "a4": 4, "b1": 1})
		if _, err := s.Admit(ctx, "a1", job.Limits{}, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, "a3", job.Fail(t0, job.ErrNameCancelled, "cancelled")); err != nil {
			t.Fatal(err)
		}
		wantPlaces(map[string]int{"a2": 1, "a4": 2, "b1": 1})
	})
	t.Run("slots: admitted under the caps, given back on every end", func(t *testing.T) {
		s := newStore(t)
		limits := job.Limits{Global: 2, PerTenant: 1}
		waiting := func(id, tenant string, age time.Duration) {
			j := sample(id)
			j.Tenant, j.Waiting, j.CreatedAt = tenant, true, t0.Add(-age)
			if err := s.Create(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		waiting("a1", "tenantA", 4*time.Minute)
		waiting("a2", "tenantA", 3*time.Minute)
		waiting("b1", "tenantB", 2*time.Minute)
		waiting("a3", "tenantA", time.Minute)
		wantWaiting := func(ids ...string) {
			t.Helper()
			got, err := s.Waiting(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []string
			for _, j := range got {
				gotIDs = append(gotIDs, j.ID)
			}
			if fmt.Sprint(gotIDs) != fmt.Sprint(ids) {
				t.Fatalf("waiting %v, want %v (oldest first)", gotIDs, ids)
			}
		}
		wantInFlight := func(total, a, b int) {
			t.Helper()
			f, err := s.InFlight(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if f.Total != total || f.ByTenant["tenantA"] != a || f.ByTenant["tenantB"] != b {
				t.Fatalf("in flight %+v, want %d (A %d, B %d)", f, total, a, b)
			}
		}
		admit := func(id string, want error) {
			t.Helper()
			j, err := s.Admit(ctx, id, limits, t0)
			if !errors.Is(err, want) {
				t.Fatalf("admit %s: %v, want %v", id, err, want)
			}
			if err == nil && (j.Waiting || !j.Slot) {
				t.Fatalf("admitted %s: %+v", id, j)
			}
		}
		wantWaiting("a1", "a2", "b1", "a3")
		if got, _ := s.Waiting(ctx, 2); len(got) != 2 || got[0].ID != "a1" {
			t.Fatalf("the first 2 waiting: %v", got)
		}
		if _, err := s.Update(ctx, "a1", job.Change{At: t0, ClaimSubmit: true}); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("submit claim of a waiting job: %v, want ErrConflict", err)
		}
		admit("a1", nil)
		admit("a2", job.ErrFull) // tenant A's one slot is taken
		admit("b1", nil)
		admit("b1", job.ErrConflict) // not waiting any more
		wantInFlight(2, 1, 1)
		wantWaiting("a2", "a3")
		// Moving on does not give a slot back; ending does, once.
		if _, err := s.Update(ctx, "a1", job.Change{At: t0, Status: job.Generating, ClaimSubmit: true}); err != nil {
			t.Fatal(err)
		}
		wantInFlight(2, 1, 1)
		if _, err := s.Update(ctx, "a1", job.Change{At: t0, Status: job.Completed, Video: &job.Video{URL: "https://v"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, "a1", job.Fail(t0, job.ErrNameCancelled, "late")); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("second end: %v, want ErrConflict", err)
		}
		wantInFlight(1, 0, 1)
		if j, _ := s.Get(ctx, "a1"); j.Slot || j.Waiting {
			t.Fatalf("ended job still holds its slot: %+v", j)
		}
		admit("a2", nil)
		// A waiting job that ends (cancelled) had no slot to give back.
		if _, err := s.Update(ctx, "a3", job.Fail(t0, job.ErrNameCancelled, "cancelled")); err != nil {
			t.Fatal(err)
		}
		wantInFlight(2, 1, 1)
		wantWaiting()
		if _, err := s.Update(ctx, "b1", job.Fail(t0, job.ErrNameTimedOut, "late")); err != nil {
			t.Fatal(err)
		}
		wantInFlight(1, 1, 0)
	})

	t.Run("parked: the token is kept while waiting, the deadline moves at admission", func(t *testing.T) {
		s := newStore(t)
		j := sample("parked")
		j.Waiting = true
		job.Timeouts{Generation: 30 * time.Minute, Queue: 6 * time.Hour}.Schedule(&j, t0)
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		parked, err := s.Update(ctx, j.ID, job.Change{At: t0.Add(time.Second), Park: "token-1"})
		if err != nil || parked.ParkToken != "token-1" {
			t.Fatalf("park: %v %+v", err, parked)
		}
		if got, _ := s.Get(ctx, j.ID); got.ParkToken != "token-1" || !got.Deadline.Equal(t0.Add(6*time.Hour)) {
			t.Fatalf("parked record: token %q deadline %v", got.ParkToken, got.Deadline)
		}
		at := t0.Add(2 * time.Hour)
		admitted, err := s.Admit(ctx, j.ID, job.Limits{Global: 1}, at)
		if err != nil {
			t.Fatal(err)
		}
		// The admitter resumes the parked execution with the token it reads
		// here, and the generation's time runs from now.
		if admitted.ParkToken != "token-1" || !admitted.Deadline.Equal(at.Add(30*time.Minute)) {
			t.Fatalf("admitted: token %q deadline %v", admitted.ParkToken, admitted.Deadline)
		}
		if got, _ := s.Get(ctx, j.ID); !got.Deadline.Equal(at.Add(30 * time.Minute)) {
			t.Fatalf("stored deadline %v, want %v", got.Deadline, at.Add(30*time.Minute))
		}
		open, err := s.OpenJobs(ctx)
		if err != nil || len(open) != 1 {
			t.Fatalf("open jobs %v %v", open, err)
		}
		// A token written after the admission would never be sent: refused.
		if _, err := s.Update(ctx, j.ID, job.Change{At: at, Park: "token-2"}); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("park after admission: %v, want ErrConflict", err)
		}
	})
}

// sameJob compares every field through JSON, with times in UTC, so a store
// that drops or mangles any attribute fails.
func sameJob(got, want job.Job) error {
	g, w := canonical(got), canonical(want)
	if g != w {
		return fmt.Errorf("stored job differs:\n got %s\nwant %s", g, w)
	}
	return nil
}

func canonical(j job.Job) string {
	j.CreatedAt, j.UpdatedAt, j.Deadline = j.CreatedAt.UTC(), j.UpdatedAt.UTC(), j.Deadline.UTC()
	for _, p := range []**time.Time{&j.SubmitStarted, &j.CheckedAt, &j.AnnounceClaimed, &j.AnnouncedAt} {
		if *p != nil {
			t := (*p).UTC()
			*p = &t
		}
	}
	b, err := json.Marshal(j)
	if err != nil {
		return "unencodable: " + err.Error()
	}
	return string(b)
}

// oneWins runs try n times at once and checks that exactly one succeeds
// and every other fails with job.ErrConflict.
func oneWins(t *testing.T, n int, try func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- try() })
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, job.ErrConflict):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d claims won, want 1", wins)
	}
}

// ids are the ids of jobs, in order.
func ids(jobs []job.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}
