package boltstore

import (
	"context"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// ClaimAnnouncement makes the caller the announcer of the ended job id
// (job.ClaimAnnouncement), in one transaction, and returns the claimed
// record. It fails with job.ErrNotFound, or job.ErrConflict (wrapped) when
// the job has not ended, was announced, or another claim younger than lease
// holds.
func (s *Store) ClaimAnnouncement(ctx context.Context, id string, at time.Time, lease time.Duration) (job.Job, error) {
	return s.announce(ctx, id, func(j job.Job) (job.Job, error) { return job.ClaimAnnouncement(j, at, lease) })
}

// MarkAnnounced records that the ended job id was announced
// (job.MarkAnnounced) and returns the record; marking again keeps the first
// time. It fails with job.ErrNotFound, or job.ErrConflict (wrapped) when the
// job has not ended.
func (s *Store) MarkAnnounced(ctx context.Context, id string, at time.Time) (job.Job, error) {
	return s.announce(ctx, id, func(j job.Job) (job.Job, error) { return job.MarkAnnounced(j, at) })
}

// announce applies change to the record in one transaction.
func (s *Store) announce(ctx context.Context, id string, change func(job.Job) (job.Job, error)) (job.Job, error) {
	return s.modify(ctx, id, "announce", plain(change))
}
