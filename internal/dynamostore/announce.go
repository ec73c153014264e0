package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
// job has not ended.
func (s *Store) MarkAnnounced(ctx context.Context, id string, at time.Time) (job.Job, error) {
	announced := expression.Name(attrAnnouncedAt)
	return s.announce(ctx, id, ended(), expression.Set(announced, expression.IfNotExists(announced, value(at))),
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
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
	if err != nil {
		return job.Job{}, fmt.Errorf("announce job %s: %w", id, err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           &s.table,
		Key:                                 key(id),
		ConditionExpression:                 expr.Condition(),
		UpdateExpression:                    expr.Update(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		if len(cfe.Item) == 0 {
			return job.Job{}, fmt.Errorf("job %s: %w", id, job.ErrNotFound)
		}
		reason := job.ErrConflict
		if old, derr := decode(cfe.Item); derr == nil {
			if _, cerr := check(old); cerr != nil {
				reason = cerr
			}
		}
		return job.Job{}, fmt.Errorf("announce job %s: %w", id, reason)
	}
	if err != nil {
		return job.Job{}, fmt.Errorf("announce job %s: %w", id, err)
	}
	j, err := decode(out.Attributes)
	if err != nil {
		return job.Job{}, fmt.Errorf("announce job %s: %w", id, err)
	}
	return j, nil
}
