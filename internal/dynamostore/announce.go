package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/vidgen/vidgen/internal/job"
)

// ClaimAnnouncement makes the caller the announcer of the ended job id
// (job.ClaimAnnouncement) and returns the claimed record. It is one
// conditional UpdateItem: the job ended, has no announced_at, and has no
// announce_claimed later than at - lease (times are fixed-width UTC
// strings, so they compare as strings). It fails with job.ErrNotFound, or
// job.ErrConflict (wrapped with the reason) when the condition does not
// hold.
func (s *Store) ClaimAnnouncement(ctx context.Context, id string, at time.Time, lease time.Duration) (job.Job, error) {
	claimed := expression.Name(attrAnnounceClaim)
	cond := ended().And(
		expression.Name(attrAnnouncedAt).AttributeNotExists(),
		expression.Or(claimed.AttributeNotExists(), claimed.LessThanEqual(value(at.Add(-lease)))))
	return s.announce(ctx, id, cond, expression.Set(claimed, value(at)),
		func(j job.Job) (job.Job, error) { return job.ClaimAnnouncement(j, at, lease) })
}

// MarkAnnounced records that the ended job id was announced
// (job.MarkAnnounced) and returns the record; marking again keeps the first
// time. It fails with job.ErrNotFound, or job.ErrConflict (wrapped) when the
// job has not ended. The same write takes the job out of the
// open-by-deadline index, where it stayed since its end for the reconciler
// to see an end never announced.
func (s *Store) MarkAnnounced(ctx context.Context, id string, at time.Time) (job.Job, error) {
	announced := expression.Name(attrAnnouncedAt)
	update := expression.Set(announced, expression.IfNotExists(announced, value(at))).Remove(expression.Name(attrOpen))
	return s.announce(ctx, id, ended(), update,
		func(j job.Job) (job.Job, error) { return job.MarkAnnounced(j, at) })
}

// ended is the condition that the job exists and is terminal.
func ended() expression.ConditionBuilder {
	return expression.And(expression.Name(attrID).AttributeExists(),
		expression.Name(attrStatus).In(value(job.Completed), value(job.Failed)))
}

// announce writes update on condition cond; when the condition fails,
// check explains why from the record as it was.
func (s *Store) announce(ctx context.Context, id string, cond expression.ConditionBuilder, update expression.UpdateBuilder,
	check func(job.Job) (job.Job, error)) (job.Job, error) {
	if id == "" || isReservedID(id) {
		return job.Job{}, fmt.Errorf("job %q: %w", id, job.ErrNotFound)
	}
	j, old, failed, err := s.conditionalUpdate(ctx, id, "announce", cond, update)
	switch {
	case err != nil:
		return job.Job{}, err
	case failed && len(old) == 0:
		return job.Job{}, fmt.Errorf("job %s: %w", id, job.ErrNotFound)
	case failed:
		reason := job.ErrConflict
		if cur, derr := decode(old); derr == nil {
			if _, cerr := check(cur); cerr != nil {
				reason = cerr
			}
		}
		return job.Job{}, fmt.Errorf("announce job %s: %w", id, reason)
	}
	return j, nil
}
