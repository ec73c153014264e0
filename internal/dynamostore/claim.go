package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/job"
)

// claimPrefix marks idempotency claims, which share the jobs table: a claim
// is written in the same transaction as its job. Job ids never start with it.
const claimPrefix = "claim#"

// claimItem is an idempotency claim as the table holds it. It has no tenant
// attribute, so it stays out of the by-tenant index, and expires_at doubles
// as its TTL.
type claimItem struct {
	ID          string `dynamodbav:"id"`
	Tenant      string `dynamodbav:"claim_tenant"`
	Key         string `dynamodbav:"claim_key"`
	RequestHash string `dynamodbav:"request_hash"`
	JobID       string `dynamodbav:"job_id"`
	ExpiresAt   int64  `dynamodbav:"expires_at"`
}

func claimID(tenant, key string) string {
	sum := sha256.Sum256([]byte(tenant + "\x00" + key))
	return claimPrefix + hex.EncodeToString(sum[:])
}

func isClaimID(id string) bool { return strings.HasPrefix(id, claimPrefix) }

// CreateClaimed creates j under the idempotency claim c in one transaction:
// if a live claim for the same tenant and key exists, nothing is written and
// that claim is returned; otherwise j and c are stored and c is returned.
// Claims expire at whole seconds (c.ExpiresAt is truncated).
func (s *Store) CreateClaimed(ctx context.Context, j job.Job, c job.Claim, now time.Time) (job.Claim, error) {
	c.ExpiresAt = c.ExpiresAt.Truncate(time.Second)
	jobAV, err := s.marshalJob(j)
	if err != nil {
		return job.Claim{}, err
	}
	id := claimID(c.Tenant, c.Key)
	claimAV, err := attributevalue.MarshalMap(claimItem{
		ID: id, Tenant: c.Tenant, Key: c.Key, RequestHash: c.RequestHash, JobID: j.ID, ExpiresAt: c.ExpiresAt.Unix(),
	})
	if err != nil {
		return job.Claim{}, fmt.Errorf("encode claim: %w", err)
	}
	claimCond, err := expression.NewBuilder().WithCondition(
		expression.Name(attrID).AttributeNotExists().Or(
			expression.Name(attrExpiresAt).LessThanEqual(expression.Value(now.Unix())))).Build()
	if err != nil {
		return job.Claim{}, fmt.Errorf("claim condition: %w", err)
	}
	jobCond, err := expression.NewBuilder().WithCondition(expression.Name(attrID).AttributeNotExists()).Build()
	if err != nil {
		return job.Claim{}, fmt.Errorf("job condition: %w", err)
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: claimAV, ConditionExpression: claimCond.Condition(),
			ExpressionAttributeNames: claimCond.Names(), ExpressionAttributeValues: claimCond.Values()}},
		{Put: &types.Put{TableName: &s.table, Item: jobAV, ConditionExpression: jobCond.Condition(),
			ExpressionAttributeNames: jobCond.Names(), ExpressionAttributeValues: jobCond.Values()}},
	}})
	if err == nil {
		c.JobID = j.ID
		return c, nil
	}
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return job.Claim{}, fmt.Errorf("create job %s: %w", j.ID, err)
	}
	// A condition failed: either a live claim exists (the usual retry) or
	// the job id is taken.
	prev, found, gerr := s.getClaim(ctx, id)
	if gerr != nil {
		return job.Claim{}, gerr
	}
	if found && prev.Live(now) {
		return prev, nil
	}
	if _, gerr := s.Get(ctx, j.ID); gerr == nil {
		return job.Claim{}, fmt.Errorf("create job %s: %w", j.ID, job.ErrExists)
	}
	return job.Claim{}, fmt.Errorf("create job %s: transaction cancelled: %w", j.ID, err)
}

// LiveClaim returns the live idempotency claim of tenant's key at now, if
// there is one.
func (s *Store) LiveClaim(ctx context.Context, tenant, key string, now time.Time) (job.Claim, bool, error) {
	c, found, err := s.getClaim(ctx, claimID(tenant, key))
	if err != nil || !found || !c.Live(now) {
		return job.Claim{}, false, err
	}
	return c, true, nil
}

func (s *Store) getClaim(ctx context.Context, id string) (job.Claim, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(id), ConsistentRead: new(true)})
	if err != nil {
		return job.Claim{}, false, fmt.Errorf("get claim: %w", err)
	}
	if out.Item == nil {
		return job.Claim{}, false, nil
	}
	var it claimItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return job.Claim{}, false, fmt.Errorf("decode claim: %w", err)
	}
	return job.Claim{Tenant: it.Tenant, Key: it.Key, RequestHash: it.RequestHash, JobID: it.JobID,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC()}, true, nil
}
