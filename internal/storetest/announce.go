package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// announcements is the contract of ClaimAnnouncement and MarkAnnounced: an
// ended job's announcement is claimed by one caller at a time, taken over
// once the claim's lease expired, and never claimed again once marked.
func announcements(t *testing.T, newStore func(t *testing.T) Store, sample func(id string) job.Job) {
	ctx := context.Background()
	const lease = time.Minute
	// ended stores a job of s that ended at end.
	ended := func(t *testing.T, s Store, id string, end time.Time) job.Job {
		t.Helper()
		if err := s.Create(ctx, sample(id)); err != nil {
			t.Fatal(err)
		}
		j, err := s.Update(ctx, id, job.Fail(end, job.ErrNameTimedOut, "late"))
		if err != nil {
			t.Fatal(err)
		}
		return j
	}

	t.Run("an ended job is open until its end is announced", func(t *testing.T) {
		s := newStore(t)
		if err := s.Create(ctx, sample("running")); err != nil {
			t.Fatal(err)
		}
		end := t0(sample).Add(time.Minute)
		ended(t, s, "ended", end)
		// The reconciler finds an end nobody announced here: its own
		// execution may have failed to announce it.
		if ids, err := s.OpenJobs(ctx); err != nil || !sameIDs(ids, "running", "ended") {
			t.Fatalf("open jobs after the end: %v, %v; want running and ended", ids, err)
		}
		if _, err := s.ClaimAnnouncement(ctx, "ended", end, lease); err != nil {
			t.Fatal(err)
		}
		if ids, err := s.OpenJobs(ctx); err != nil || !sameIDs(ids, "running", "ended") {
			t.Fatalf("open jobs while claimed: %v, %v; want running and ended", ids, err)
		}
		if _, err := s.MarkAnnounced(ctx, "ended", end.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if ids, err := s.OpenJobs(ctx); err != nil || !sameIDs(ids, "running") {
			t.Fatalf("open jobs once announced: %v, %v; want running", ids, err)
		}
		// Marking again changes nothing.
		if _, err := s.MarkAnnounced(ctx, "ended", end.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		if ids, err := s.OpenJobs(ctx); err != nil || !sameIDs(ids, "running") {
			t.Fatalf("open jobs after a second mark: %v, %v; want running", ids, err)
		}
	})

	t.Run("announcement is claimed once and marked once", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.ClaimAnnouncement(ctx, "nope", time.Now(), lease); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("claim of a missing job: %v, want ErrNotFound", err)
		}
		if _, err := s.MarkAnnounced(ctx, "nope", time.Now()); !errors.Is(err, job.ErrNotFound) {
			t.Fatalf("mark of a missing job: %v, want ErrNotFound", err)
		}
		open := sample("open")
		if err := s.Create(ctx, open); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimAnnouncement(ctx, open.ID, open.CreatedAt, lease); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("claim of an open job: %v, want ErrConflict", err)
		}
		if _, err := s.MarkAnnounced(ctx, open.ID, open.CreatedAt); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("mark of an open job: %v, want ErrConflict", err)
		}

		end := open.CreatedAt.Add(time.Minute)
		want := ended(t, s, "j1", end)
		claim := end.Add(time.Second)
		got, err := s.ClaimAnnouncement(ctx, "j1", claim, lease)
		if err != nil {
			t.Fatalf("first claim: %v", err)
		}
		// The claim is all that changes: the record still says when the job
		// ended, which its event carries.
		want.AnnounceClaimed = &claim
		if err := sameJob(got, want); err != nil {
			t.Fatalf("ClaimAnnouncement's answer: %v", err)
		}
		if got, _ := s.Get(ctx, "j1"); sameJob(got, want) != nil {
			t.Fatalf("after claim: %v", sameJob(got, want))
		}
		if _, err := s.ClaimAnnouncement(ctx, "j1", claim.Add(lease-time.Millisecond), lease); !errors.Is(err, job.ErrConflict) {
			t.Fatalf("claim within the lease: %v, want ErrConflict", err)
		}
		// The claimant died: once its lease expired, another takes over.
		takeover := claim.Add(lease)
		if got, err = s.ClaimAnnouncement(ctx, "j1", takeover, lease); err != nil || !got.AnnounceClaimed.Equal(takeover) {
			t.Fatalf("claim after the lease: %v, claimed %v, want %v", err, got.AnnounceClaimed, takeover)
		}

		mark := takeover.Add(time.Second)
		if got, err = s.MarkAnnounced(ctx, "j1", mark); err != nil {
			t.Fatalf("mark: %v", err)
		}
		want.AnnounceClaimed, want.AnnouncedAt = &takeover, &mark
		if err := sameJob(got, want); err != nil {
			t.Fatalf("MarkAnnounced's answer: %v", err)
		}
		for _, at := range []time.Time{mark, mark.Add(lease), mark.Add(24 * time.Hour)} {
			if _, err := s.ClaimAnnouncement(ctx, "j1", at, lease); !errors.Is(err, job.ErrConflict) {
				t.Fatalf("claim at %v after the mark: %v, want ErrConflict", at, err)
			}
		}
		// Marking again (a retried step) succeeds and keeps the first time.
		if got, err = s.MarkAnnounced(ctx, "j1", mark.Add(time.Hour)); err != nil || sameJob(got, want) != nil {
			t.Fatalf("second mark: %v, %+v", err, got)
		}
		if got, _ := s.Get(ctx, "j1"); sameJob(got, want) != nil {
			t.Fatalf("after the second mark: %v", sameJob(got, want))
		}
		// A record written with its marks keeps them.
		copied := want
		copied.ID = "j2"
		if err := s.Create(ctx, copied); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "j2"); sameJob(got, copied) != nil {
			t.Fatalf("round trip of the marks: %v", sameJob(got, copied))
		}
	})

	t.Run("concurrent announcement claims: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		end := sample("j1").CreatedAt.Add(time.Minute)
		ended(t, s, "j1", end)
		oneWins(t, 16, func() error {
			_, err := s.ClaimAnnouncement(ctx, "j1", end.Add(time.Second), lease)
			return err
		})
	})
}

// t0 is when sample's jobs are created.
func t0(sample func(id string) job.Job) time.Time { return sample("").CreatedAt }

// sameIDs reports whether ids holds exactly want, in any order.
func sameIDs(ids []string, want ...string) bool {
	return len(ids) == len(want) && !slices.ContainsFunc(want, func(id string) bool { return !slices.Contains(ids, id) })
}
