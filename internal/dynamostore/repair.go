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
// and overwrites each counter item that disagrees (a counter shard, a
// tenant's item; see counters.go) with the recount. It returns the counts
// as they were read (the shards' sum; a drift may have made some of them
// negative) and as they are now; they are equal when nothing was wrong.
// When a slot was taken or given back during the recount, the items it
// touched are not written and the error wraps job.ErrConflict: the next
// pass repairs them.
//
// Why the recount is right although the open-by-deadline index it lists
// the jobs from lags the table:
//   - Each counter item's version is read first, and its repair is one
//     PutItem on condition that its version is still the same. Every
//     admission and every end of a job holding a slot adds one to the
//     version of each item whose count it moves, in its own transaction, so
//     no count of an item moved between the read and the write of a repair
//     of it that succeeds; another repair racing this one moved it too.
//   - Each listed job is read again with a consistent GetItem, so a job the
//     index still lists after its end (its record no longer holds a slot)
//     is not counted.
//   - A job holding a slot is open from its creation, so the index lists
//     it once the write that created it has reached the index. Only a job
//     created moments before the versions were read can be missing, and
//     then the recount is short. So a recount that disagrees is made
//     again once IndexLag has passed since the versions were read: by then
//     every job that held a slot at that moment is listed, and any change
//     since shows in the versions. A tenant the first recount found but no
//     shard named has its item's version read before that second recount.
//
// Each is a PutItem rather than an UpdateItem so that the counts of
// tenants the recount does not find go with the rest, however many there
// are (an update expression is limited to 4 KB).
func (s *Store) RepairSlots(ctx context.Context) (before, after job.InFlight, err error) {
	shards, err := s.readShards(ctx)
	if err != nil {
		return job.InFlight{}, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
	}
	before = sumShards(shards)
	tenants := map[string]tenantItem{}
	readTenant := func(t string) error {
		if _, ok := tenants[t]; ok {
			return nil
		}
		n, v, err := s.tenantCounts(ctx, t)
		tenants[t] = tenantItem{n: n, version: v}
		return err
	}
	for _, sh := range shards {
		for t := range sh.f.ByTenant {
			if err := readTenant(t); err != nil {
				return before, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
			}
		}
	}
	// The reads happened no later than now: every write the versions
	// include was made before this.
	read := time.Now()
	recount, err := s.recount(ctx)
	if err != nil {
		return before, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
	}
	if agree(shards, tenants, recount) {
		return before, before, nil
	}
	for t := range sumRecount(recount).ByTenant {
		if err := readTenant(t); err != nil {
			return before, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
		}
	}
	if s.indexLag > 0 {
		// The first recount listed the jobs right after the read; list
		// them again once every write before the read has reached the
		// index.
		if err := (clock.Real{}).Sleep(ctx, s.indexLag-time.Since(read)); err != nil {
			return before, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
		}
	}
	if recount, err = s.recount(ctx); err != nil {
		return before, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
	}
	if agree(shards, tenants, recount) {
		return before, before, nil
	}
	if err := s.writeCounts(ctx, shards, tenants, recount); err != nil {
		return before, job.InFlight{}, err
	}
	return before, sumRecount(recount), nil
}

// tenantItem is a tenant's counter item as read: its count and version.
type tenantItem struct {
	n       int
	version int64
}

// sumRecount adds a recount's shards up.
func sumRecount(recount [counterShards]job.InFlight) job.InFlight {
	var shards [counterShards]shardCounts
	for k, f := range recount {
		shards[k].f = f
	}
	return sumShards(shards)
}

// agree reports whether the counter items as read hold the recount: each
// shard its own jobs, each tenant's item its jobs in all shards.
func agree(shards [counterShards]shardCounts, tenants map[string]tenantItem, recount [counterShards]job.InFlight) bool {
	for k := range shards {
		if !sameCounts(shards[k].f, recount[k]) {
			return false
		}
	}
	total := sumRecount(recount)
	for t, it := range tenants {
		if it.n != total.ByTenant[t] {
			return false
		}
	}
	for t := range total.ByTenant {
		if _, ok := tenants[t]; !ok {
			return false
		}
	}
	return true
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

// writeCounts writes the recount over every counter item that disagrees
// with it, each on condition that its version is still the one read (0:
// it has none), and moves the version on. It tries every item, and fails
// with job.ErrConflict if any had moved.
func (s *Store) writeCounts(ctx context.Context, shards [counterShards]shardCounts, tenants map[string]tenantItem, recount [counterShards]job.InFlight) error {
	moved := false
	put := func(item map[string]types.AttributeValue, version int64) error {
		item[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(version+1, 10)}
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
			moved = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("repair slot counters: %w", err)
		}
		return nil
	}
	for k, f := range recount {
		if sameCounts(shards[k].f, f) {
			continue
		}
		item := map[string]types.AttributeValue{
			attrID:    &types.AttributeValueMemberS{Value: counterID(k)},
			attrTotal: &types.AttributeValueMemberN{Value: strconv.Itoa(f.Total)},
		}
		for tenant, n := range f.ByTenant {
			if n != 0 {
				item[tenantAttr(tenant)] = &types.AttributeValueMemberN{Value: strconv.Itoa(n)}
			}
		}
		if err := put(item, shards[k].version); err != nil {
			return err
		}
	}
	total := sumRecount(recount)
	for t, it := range tenants {
		if it.n == total.ByTenant[t] {
			continue
		}
		item := map[string]types.AttributeValue{
			attrID:    &types.AttributeValueMemberS{Value: tenantItemID(t)},
			attrCount: &types.AttributeValueMemberN{Value: strconv.Itoa(total.ByTenant[t])},
		}
		if err := put(item, it.version); err != nil {
			return err
		}
	}
	if moved {
		return fmt.Errorf("repair slot counters: %w: a slot was taken or given back during the recount", job.ErrConflict)
	}
	return nil
}

// recount counts the open jobs that hold a slot, by counter shard, each
// from a consistent read of its record.
func (s *Store) recount(ctx context.Context) ([counterShards]job.InFlight, error) {
	var f [counterShards]job.InFlight
	for k := range f {
		f[k].ByTenant = map[string]int{}
	}
	ids, err := s.OpenJobs(ctx)
	if err != nil {
		return f, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		readErr error
		wg      sync.WaitGroup
	)
	next := make(chan string)
	for range min(recountReaders, len(ids)) {
		wg.Go(func() {
			for id := range next {
				tenant, holds, k, err := s.holdsSlot(ctx, id)
				mu.Lock()
				switch {
				case err != nil && readErr == nil:
					readErr = err
					cancel()
				case holds:
					f[k].Total++
					f[k].ByTenant[tenant]++
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
		return f, readErr
	}
	if err := ctx.Err(); err != nil {
		return f, err
	}
	return f, nil
}

// holdsSlot reads whether job id holds a slot, its tenant and its counter
// shard; a job that is gone holds none. Only those attributes are read, so
// a large record costs no more than a small one.
func (s *Store) holdsSlot(ctx context.Context, id string) (tenant string, holds bool, shard int, err error) {
	expr, err := expression.NewBuilder().
		WithProjection(expression.NamesList(expression.Name(attrTenant), expression.Name(attrStatus),
			expression.Name(attrSlot), expression.Name(attrSlotShard))).
		Build()
	if err != nil {
		return "", false, 0, fmt.Errorf("get job %s: %w", id, err)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &s.table,
		Key:                      key(id),
		ConsistentRead:           new(true),
		ProjectionExpression:     expr.Projection(),
		ExpressionAttributeNames: expr.Names(),
	})
	if err != nil {
		return "", false, 0, fmt.Errorf("get job %s: %w", id, err)
	}
	var r struct {
		Tenant string     `dynamodbav:"tenant"`
		Status job.Status `dynamodbav:"status"`
		Slot   bool       `dynamodbav:"slot"`
		Shard  int        `dynamodbav:"slot_shard"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return "", false, 0, fmt.Errorf("get job %s: %w", id, err)
	}
	if r.Shard < 0 || r.Shard >= counterShards {
		return "", false, 0, fmt.Errorf("get job %s: slot_shard %d out of range", id, r.Shard)
	}
	return r.Tenant, r.Slot && !r.Status.Terminal(), r.Shard, nil
}
