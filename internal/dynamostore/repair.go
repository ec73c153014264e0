package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
)

// DefaultIndexLag is how long RepairSlots gives a write to reach the
// open-by-deadline index. DynamoDB propagates a write to its global
// secondary indexes within a fraction of a second normally; the margin
// costs only a repair's time, and only when the counts disagree.
const DefaultIndexLag = 5 * time.Second

// recountReaders is how many records RepairSlots reads at once: enough
// that a recount of thousands of open jobs takes moments, which keeps the
// window in which a slot change makes the repair back off short.
const recountReaders = 16

// RepairSlots recounts the jobs holding a slot (admitted and not ended)
// and, if the counters item disagrees, overwrites it with the recount. It
// returns the counts as they were read (a drift may have made some of them
// negative) and as they are now; they are equal when nothing was wrong.
// When a slot was taken or given back during the recount, nothing is
// written and the error wraps job.ErrConflict: the next pass repairs.
//
// Why the recount is right although the open-by-deadline index it lists
// the jobs from lags the table:
//   - The counters' version is read first, and the repair is one PutItem
//     on condition that the version is still the same. Every admission and
//     every end of a job holding a slot adds one to the version in its own
//     transaction, so no slot moved between the read and the write of a
//     repair that succeeds; another repair racing this one moved it too.
//   - Each listed job is read again with a consistent GetItem, so a job the
//     index still lists after its end (its record no longer holds a slot)
//     is not counted.
//   - A job holding a slot is open from its creation, so the index lists
//     it once the write that created it has reached the index. Only a job
//     created moments before the version was read can be missing, and
//     then the recount is short. So a recount that disagrees is made
//     again once IndexLag has passed since the version was read: by then
//     every job that held a slot at that moment is listed, and any change
//     since shows in the version.
//
// It is a PutItem rather than an UpdateItem so that the counts of tenants
// the recount does not find go with the rest, however many there are (an
// update expression is limited to 4 KB).
func (s *Store) RepairSlots(ctx context.Context) (before, after job.InFlight, err error) {
	before, version, err := s.counts(ctx)
	if err != nil {
		return job.InFlight{}, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
	}
	// The read happened no later than now: every write the version
	// includes was made before this.
	read := time.Now()
	recount, err := s.recount(ctx)
	if err != nil {
		return before, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
	}
	if sameCounts(before, recount) {
		return before, before, nil
	}
	if s.indexLag > 0 {
		// The first recount listed the jobs right after the read; list
		// them again once every write before the read has reached the
		// index.
		if err := (clock.Real{}).Sleep(ctx, s.indexLag-time.Since(read)); err != nil {
			return before, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
		}
		if recount, err = s.recount(ctx); err != nil {
			return before, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
		}
		if sameCounts(before, recount) {
			return before, before, nil
		}
	}
	if err := s.writeCounts(ctx, recount, version); err != nil {
		return before, job.InFlight{}, err
	}
	return before, recount, nil
}

// sameCounts reports whether two counts agree; a tenant left out counts
// zero.
func sameCounts(a, b job.InFlight) bool {
	if a.Total != b.Total {
		return false
	}
	for tenant, n := range a.ByTenant {
		if b.ByTenant[tenant] != n {
			return false
		}
	}
	for tenant, n := range b.ByTenant {
		if a.ByTenant[tenant] != n {
			return false
		}
	}
	return true
}

// writeCounts replaces the counters item with f, on condition that its
// version is still version (0: it has none), and moves the version on.
func (s *Store) writeCounts(ctx context.Context, f job.InFlight, version int64) error {
	item := map[string]types.AttributeValue{
		attrID:      &types.AttributeValueMemberS{Value: countsID},
		attrTotal:   &types.AttributeValueMemberN{Value: strconv.Itoa(f.Total)},
		attrVersion: &types.AttributeValueMemberN{Value: strconv.FormatInt(version+1, 10)},
	}
	for tenant, n := range f.ByTenant {
		if n != 0 {
			item[tenantAttr(tenant)] = &types.AttributeValueMemberN{Value: strconv.Itoa(n)}
		}
	}
	cond := expression.Name(attrVersion).AttributeNotExists()
	if version != 0 {
		cond = expression.Name(attrVersion).Equal(expression.Value(version))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("repair slot counters: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("repair slot counters: %w: a slot was taken or given back during the recount", job.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("repair slot counters: %w", err)
	}
	return nil
}

// recount counts the open jobs that hold a slot, each from a consistent
// read of its record.
func (s *Store) recount(ctx context.Context) (job.InFlight, error) {
	ids, err := s.OpenJobs(ctx)
	if err != nil {
		return job.InFlight{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		f       = job.InFlight{ByTenant: map[string]int{}}
		readErr error
		wg      sync.WaitGroup
	)
	next := make(chan string)
	for range min(recountReaders, len(ids)) {
		wg.Go(func() {
			for id := range next {
				tenant, holds, err := s.holdsSlot(ctx, id)
				mu.Lock()
				switch {
				case err != nil && readErr == nil:
					readErr = err
					cancel()
				case holds:
					f.Total++
					f.ByTenant[tenant]++
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, id := range ids {
		select {
		case next <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if readErr != nil {
		return job.InFlight{}, readErr
	}
	if err := ctx.Err(); err != nil {
		return job.InFlight{}, err
	}
	return f, nil
}

// holdsSlot reads whether job id holds a slot, and its tenant; a job that
// is gone holds none. Only the three attributes are read, so a large
// record costs no more than a small one.
func (s *Store) holdsSlot(ctx context.Context, id string) (tenant string, holds bool, err error) {
	expr, err := expression.NewBuilder().
		WithProjection(expression.NamesList(expression.Name(attrTenant), expression.Name(attrStatus), expression.Name(attrSlot))).
		Build()
	if err != nil {
		return "", false, fmt.Errorf("get job %s: %w", id, err)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &s.table,
		Key:                      key(id),
		ConsistentRead:           new(true),
		ProjectionExpression:     expr.Projection(),
		ExpressionAttributeNames: expr.Names(),
	})
	if err != nil {
		return "", false, fmt.Errorf("get job %s: %w", id, err)
	}
	var r struct {
		Tenant string     `dynamodbav:"tenant"`
		Status job.Status `dynamodbav:"status"`
		Slot   bool       `dynamodbav:"slot"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return "", false, fmt.Errorf("get job %s: %w", id, err)
	}
	return r.Tenant, r.Slot && !r.Status.Terminal(), nil
}
