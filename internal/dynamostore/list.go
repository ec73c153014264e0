package dynamostore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/job"
)

// position is where a page of the by-tenant index ends: the table key and
// the index key of its last item, which is all LastEvaluatedKey holds.
type position struct {
	ID        string `dynamodbav:"id" json:"id"`
	Tenant    string `dynamodbav:"tenant" json:"tenant"`
	CreatedAt string `dynamodbav:"created_at" json:"created_at"`
}

// List returns a tenant's jobs, newest first, at most limit of them (1 to
// 1000; other values mean 1000), only those f matches (status, model).
// Pass "" for the first page and the returned cursor for the next; ""
// comes back when there is nothing more. With a filter List reads the
// records and keeps the matching ones, querying on until the page is full,
// a few index pages at most: the filtered attributes are not in the index,
// which holds keys only (below).
//
// The by-tenant index holds keys only (id, tenant, created_at), and List
// reads the records by key (BatchGetItem, eventually consistent, like the
// index). Projecting what a listing shows instead would rewrite the index
// entry at every write that changes one of those attributes (updated_at
// changes at every write), about one more write unit per job write; keys
// change never, so the index costs one write per job, at its creation. A
// listed record costs half a read unit (up to 4 KB) where an index entry
// costs about a tenth: listing every job once costs ~0.5 RRU per job
// against ~5 WRU per job for a projection, and a read unit is priced at a
// fifth of a write unit.
func (s *Store) List(ctx context.Context, tenant string, f job.Filter, limit int, cursor string) ([]job.Job, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(attrTenant).Equal(expression.Value(tenant))).Build()
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
	}
	var start map[string]types.AttributeValue
	if cursor != "" {
		p, err := parseCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		if p.Tenant != tenant {
			return nil, "", fmt.Errorf("%w: cursor is for another tenant", job.ErrBadCursor)
		}
		if start, err = attributevalue.MarshalMap(p); err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
		}
	}
	var (
		jobs  []job.Job
		pages int
	)
	for {
		// Unfiltered, a page of exactly what is left fills the list; with a
		// filter, records are read and then filtered, so read in fixed pages
		// and stop after a few: a short page with a cursor beats a request
		// that reads a tenant's whole history.
		pageSize := int32(limit - len(jobs))
		if f != (job.Filter{}) {
			pageSize = filteredPage
		}
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 new(tenantIndex),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ScanIndexForward:          new(false),
			ExclusiveStartKey:         start,
			Limit:                     &pageSize,
		})
		if err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
		}
		pages++
		ids := make([]string, len(out.Items))
		for i, av := range out.Items {
			var p position
			if err := attributevalue.UnmarshalMap(av, &p); err != nil {
				return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
			}
			ids[i] = p.ID
		}
		records, err := s.getAll(ctx, ids)
		if err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
		}
		for i, id := range ids {
			j, ok := records[id]
			// A record gone since the index listed it (expired) is left
			// out, as is one the filter does not want.
			if !ok || !f.Matches(j) {
				continue
			}
			jobs = append(jobs, j)
			if len(jobs) == limit && (i < len(out.Items)-1 || len(out.LastEvaluatedKey) > 0) {
				next, err := cursorAfter(jobs[len(jobs)-1])
				return jobs, next, err
			}
		}
		start = out.LastEvaluatedKey
		if len(start) == 0 {
			return jobs, "", nil
		}
		if pages == maxFilteredPages {
			var p position
			if err := attributevalue.UnmarshalMap(start, &p); err != nil {
				return nil, "", fmt.Errorf("list jobs of %s: page key: %w", tenant, err)
			}
			next, err := json.Marshal(p)
			if err != nil {
				return nil, "", err
			}
			return jobs, base64.RawURLEncoding.EncodeToString(next), nil
		}
	}
}

// getAll reads the records of ids by key, eventually consistent, in
// BatchGetItem calls of up to 100 keys; an id without a record is missing
// from the answer. Keys DynamoDB leaves unprocessed (throttling) are asked
// again after a pause, a few times at most.
func (s *Store) getAll(ctx context.Context, ids []string) (map[string]job.Job, error) {
	got := make(map[string]job.Job, len(ids))
	for chunk := range slices.Chunk(ids, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = key(id)
		}
		for attempt := 0; len(keys) > 0; attempt++ {
			if attempt > 0 {
				if attempt == attempts {
					return nil, fmt.Errorf("read %d records: still unprocessed after %d attempts", len(keys), attempts)
				}
				if err := pause(ctx, attempt); err != nil {
					return nil, err
				}
			}
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]types.KeysAndAttributes{s.table: {Keys: keys}},
			})
			if err != nil {
				return nil, fmt.Errorf("read records: %w", err)
			}
			for _, av := range out.Responses[s.table] {
				j, err := decode(av)
				if err != nil {
					return nil, err
				}
				got[j.ID] = j
			}
			keys = out.UnprocessedKeys[s.table].Keys
		}
	}
	return got, nil
}

// Filtered listing reads at most maxFilteredPages pages of filteredPage
// items per request.
const (
	filteredPage     = 100
	maxFilteredPages = 5
)

// cursorAfter is the cursor that continues a listing after j: the position
// a by-tenant ExclusiveStartKey holds.
func cursorAfter(j job.Job) (string, error) {
	next, err := json.Marshal(position{ID: j.ID, Tenant: j.Tenant, CreatedAt: j.CreatedAt.UTC().Format(timeLayout)})
	if err != nil {
		return "", fmt.Errorf("list jobs of %s: page key: %w", j.Tenant, err)
	}
	return base64.RawURLEncoding.EncodeToString(next), nil
}

func parseCursor(cursor string) (position, error) {
	data, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return position{}, fmt.Errorf("%w: %v", job.ErrBadCursor, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p position
	if err := dec.Decode(&p); err != nil {
		return position{}, fmt.Errorf("%w: %v", job.ErrBadCursor, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return position{}, fmt.Errorf("%w: trailing data", job.ErrBadCursor)
	}
	if p.ID == "" || p.Tenant == "" || p.CreatedAt == "" {
		return position{}, fmt.Errorf("%w: incomplete position", job.ErrBadCursor)
	}
	return p, nil
}

// OpenJobs returns the ids of every job not yet terminal or whose end was
// not yet announced, soonest deadline first, from the sparse
// open-by-deadline index, all its shards queried at
// once (see shards.go). The index is eventually consistent: callers re-read
// each job before acting on it.
func (s *Store) OpenJobs(ctx context.Context) ([]string, error) {
	type entry struct {
		ID       string `dynamodbav:"id"`
		Deadline string `dynamodbav:"deadline"`
	}
	shards, err := eachShard(ctx, func(ctx context.Context, mark string) ([]entry, error) {
		expr, err := expression.NewBuilder().
			WithKeyCondition(expression.Key(attrOpen).Equal(expression.Value(mark))).
			Build()
		if err != nil {
			return nil, err
		}
		pages := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 new(openIndex),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		})
		var got []entry
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, av := range out.Items {
				var e entry
				if err := attributevalue.UnmarshalMap(av, &e); err != nil {
					return nil, err
				}
				got = append(got, e)
			}
		}
		return got, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list open jobs: %w", err)
	}
	all := slices.Concat(shards...)
	// Deadlines are fixed-width UTC strings: they sort as times.
	slices.SortStableFunc(all, func(a, b entry) int { return strings.Compare(a.Deadline, b.Deadline) })
	ids := make([]string, len(all))
	for i, e := range all {
		ids[i] = e.ID
	}
	return ids, nil
}
