package dynamostore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/vidgen/vidgen/internal/job"
)

// ErrBadCursor means a List cursor was not one that List returned for the
// same tenant.
var ErrBadCursor = errors.New("bad list cursor")

// position is where a page of the by-tenant index ends: the table key and
// the index key of its last item, which is all LastEvaluatedKey holds.
type position struct {
	ID        string `dynamodbav:"id" json:"id"`
	Tenant    string `dynamodbav:"tenant" json:"tenant"`
	CreatedAt string `dynamodbav:"created_at" json:"created_at"`
}

// List returns a tenant's jobs, newest first, at most limit of them (no
// limit if limit <= 0, though DynamoDB still ends a page at 1 MB). Pass ""
// for the first page and the returned cursor for the next; "" comes back
// when there is nothing more. A page may be empty while a cursor is not.
func (s *Store) List(ctx context.Context, tenant string, limit int, cursor string) ([]job.Job, string, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrTenant).Equal(expression.Value(tenant))).
		Build()
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 new(tenantIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          new(false),
	}
	if limit > 0 {
		in.Limit = new(int32(min(limit, math.MaxInt32)))
	}
	if cursor != "" {
		p, err := parseCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		if p.Tenant != tenant {
			return nil, "", fmt.Errorf("%w: cursor is for another tenant", ErrBadCursor)
		}
		if in.ExclusiveStartKey, err = attributevalue.MarshalMap(p); err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
		}
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
	}
	jobs := make([]job.Job, 0, len(out.Items))
	for _, av := range out.Items {
		j, err := decode(av)
		if err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
		}
		jobs = append(jobs, j)
	}
	if len(out.LastEvaluatedKey) == 0 {
		return jobs, "", nil
	}
	var p position
	if err := attributevalue.UnmarshalMap(out.LastEvaluatedKey, &p); err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: page key: %w", tenant, err)
	}
	next, err := json.Marshal(p)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: page key: %w", tenant, err)
	}
	return jobs, base64.RawURLEncoding.EncodeToString(next), nil
}

func parseCursor(cursor string) (position, error) {
	data, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return position{}, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p position
	if err := dec.Decode(&p); err != nil {
		return position{}, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return position{}, fmt.Errorf("%w: trailing data", ErrBadCursor)
	}
	if p.ID == "" || p.Tenant == "" || p.CreatedAt == "" {
		return position{}, fmt.Errorf("%w: incomplete position", ErrBadCursor)
	}
	return p, nil
}

// OpenJobs returns the ids of every job not yet terminal, soonest deadline
// first, from the sparse open-by-deadline index. The index is eventually
// consistent: callers re-read each job before acting on it.
func (s *Store) OpenJobs(ctx context.Context) ([]string, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrOpen).Equal(expression.Value(openMark))).
		Build()
	if err != nil {
		return nil, fmt.Errorf("list open jobs: %w", err)
	}
	pages := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 new(openIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ids []string
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list open jobs: %w", err)
		}
		for _, av := range out.Items {
			var p struct {
				ID string `dynamodbav:"id"`
			}
			if err := attributevalue.UnmarshalMap(av, &p); err != nil {
				return nil, fmt.Errorf("list open jobs: %w", err)
			}
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}
