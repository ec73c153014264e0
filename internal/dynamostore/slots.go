package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
)

// Slots (job.Limits caps the generations in flight) are counted in one item
// of the jobs table, countsID, which holds
//
//	total          N  the jobs holding a slot, in all
//	tenant#<hex>   N  those of one tenant, the tenant name hex-encoded
//	version        N  how many writes changed the counts (see RepairSlots)
//
// One item lets an admission check both caps in one condition on one item,
// and InFlight read every count in one consistent GetItem (the table's key
// is id alone, so per-tenant counter items could not be queried). Tenants
// are top-level attributes rather than a map so that ADD creates the item
// and any count on first use, with no item to set up beforehand; their
// names are hex-encoded because a tenant may hold characters ('.', '[')
// that the expression builder reads as a document path. A tenant's count is
// removed when it drops to zero (prune), so the item holds only tenants
// with jobs in flight and stays far below DynamoDB's 400 KB.
//
// An admission is one TransactWriteItems: the job's update (waiting to
// holding a slot, on condition that it still waits, unchanged, and is not
// terminal) and the counters' increment (on condition that both caps leave
// room). The end of a job holding a slot is likewise one transaction (see
// giveBack), so the counts always equal the jobs with a slot; each of the
// two transactions also adds one to version, which lets the reconciler's
// repair (RepairSlots) know that no count moved while it recounted. The counters
// item has no tenant, open or waiting attribute, so it stays out of every
// index, and Get, Update and Create refuse ids with its prefix.
const (
	slotPrefix = "slot#"
	countsID   = slotPrefix + "counts"

	attrTotal         = "total"
	attrVersion       = "version"
	tenantCountPrefix = "tenant#"
)

// isReservedID reports whether id names one of the store's own items (an
// idempotency claim, the slot counters, learned generation times or
// spend counters)
// rather than a job.
func isReservedID(id string) bool {
	return isClaimID(id) || strings.HasPrefix(id, slotPrefix) || isGenTimesID(id) || isSpendID(id)
}

// tenantCount is the attribute of the counters item that counts tenant's
// slots.
func tenantCount(tenant string) expression.NameBuilder {
	return expression.NameNoDotSplit(tenantAttr(tenant))
}

// tenantAttr is the name of the counters item's attribute that counts
// tenant's slots.
func tenantAttr(tenant string) string {
	return tenantCountPrefix + hex.EncodeToString([]byte(tenant))
}

// Conflicting writes (a transaction and another write on the same item at
// the same moment, or a throttled transaction) are tried again, up to
// attempts times in all, after a short pause.
const attempts = 4

func pause(ctx context.Context, attempt int) error {
	d := time.Duration(5<<attempt) * time.Millisecond
	d += rand.N(d)
	return clock.Real{}.Sleep(ctx, d)
}

// conflicted reports whether err is worth trying again: a write that met a
// transaction in progress on its item, or a transaction cancelled only for
// such a conflict or for throttling, not for a condition.
func conflicted(err error) bool {
	var tce *types.TransactionConflictException
	if errors.As(err, &tce) {
		return true
	}
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return false
	}
	retry := false
	for _, r := range cancelled.CancellationReasons {
		switch code := reasonCode(r); code {
		case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded":
			retry = true
		case "", "None":
		default:
			return false
		}
	}
	return retry
}

func reasonCode(r types.CancellationReason) string {
	if r.Code == nil {
		return ""
	}
	return *r.Code
}

const codeConditionFailed = "ConditionalCheckFailed"

// Admit gives the waiting job id a slot if one is free under limits: in one
// transaction the job stops waiting and holds a slot, its counter shard
// and its tenant's item grow by one, on condition that they were under
// the shard's share of the global cap and the per-tenant cap (see
// counters.go). It fails with job.ErrFull (wrapped) when a cap is reached,
// job.ErrConflict (wrapped) when the job is not waiting (or is terminal)
// and job.ErrNotFound when there is no such job.
func (s *Store) Admit(ctx context.Context, id string, limits job.Limits, at time.Time) (job.Job, error) {
	// The job is read first for its tenant, which names its counter.
	cur, err := s.Get(ctx, id)
	if err != nil {
		return job.Job{}, err
	}
	full := func() error {
		return fmt.Errorf("admit job %s: %w (caps: %d in all, %d per tenant)", id, job.ErrFull, limits.Global, limits.PerTenant)
	}
	// The job's own state decides first: a job that no longer waits is
	// refused so whether or not there is room.
	if _, aerr := job.Admit(cur, at); aerr != nil {
		return job.Job{}, fmt.Errorf("admit job %s: %w", id, aerr)
	}
	var tried [counterShards]bool
	order := []int{homeShard(id)} // the shards to try, in turn
	if limits.Global > 0 {
		if order, err = s.roomiest(ctx, limits, &tried); err != nil {
			return job.Job{}, fmt.Errorf("admit job %s: %w", id, err)
		}
	}
	for retries := 0; ; {
		if len(order) == 0 {
			return job.Job{}, full()
		}
		k := order[0]
		admitted, aerr := job.Admit(cur, at)
		if aerr != nil {
			return job.Job{}, fmt.Errorf("admit job %s: %w", id, aerr)
		}
		old, err := s.admit(ctx, cur, limits, at, k)
		var cancelled *types.TransactionCanceledException
		switch {
		case err == nil:
			// The condition pinned the record as read (updated_at), so
			// the admitted record is exactly job.Admit of it.
			return admitted, nil
		case conflicted(err):
			if retries++; retries == attempts {
				return job.Job{}, fmt.Errorf("admit job %s: %w", id, err)
			}
			if werr := pause(ctx, retries); werr != nil {
				return job.Job{}, fmt.Errorf("admit job %s: %w (after %v)", id, werr, err)
			}
			continue
		case !errors.As(err, &cancelled) || len(cancelled.CancellationReasons) != 3:
			return job.Job{}, fmt.Errorf("admit job %s: %w", id, err)
		}
		reasons := cancelled.CancellationReasons
		jobFailed := reasonCode(reasons[0]) == codeConditionFailed
		shardFull := reasonCode(reasons[1]) == codeConditionFailed
		tenantFull := reasonCode(reasons[2]) == codeConditionFailed
		if jobFailed {
			// The job's own state decides first: an admission of a job that
			// is gone or no longer waits fails so whether or not there is
			// room.
			if len(old) == 0 {
				return job.Job{}, fmt.Errorf("job %s: %w", id, job.ErrNotFound)
			}
			if cur, err = decode(old); err != nil {
				return job.Job{}, fmt.Errorf("admit job %s: %w", id, err)
			}
			if _, aerr := job.Admit(cur, at); aerr != nil {
				return job.Job{}, fmt.Errorf("admit job %s: %w", id, aerr)
			}
		}
		switch {
		case tenantFull:
			return job.Job{}, full()
		case shardFull:
			// This shard's share is taken: the shards with most room next.
			tried[k] = true
			if order, err = s.roomiest(ctx, limits, &tried); err != nil {
				return job.Job{}, fmt.Errorf("admit job %s: %w", id, err)
			}
		case !jobFailed:
			return job.Job{}, fmt.Errorf("admit job %s: %w", id, err)
		default:
			// Still waiting but changed since it was read: admit it as it is.
			if retries++; retries == attempts {
				return job.Job{}, fmt.Errorf("admit job %s: %w: the job changed meanwhile", id, job.ErrConflict)
			}
		}
	}
}

// roomiest lists the counter shards not tried yet that have room under
// their share of the global cap, most room first; none when the shards'
// totals have reached the cap.
func (s *Store) roomiest(ctx context.Context, limits job.Limits, tried *[counterShards]bool) ([]int, error) {
	shards, err := s.readShards(ctx)
	if err != nil {
		return nil, err
	}
	if sumShards(shards).Total >= limits.Global {
		return nil, nil
	}
	var order []int
	for k := range counterShards {
		if !tried[k] && shards[k].f.Total < share(limits, k) {
			order = append(order, k)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return (share(limits, b) - shards[b].f.Total) - (share(limits, a) - shards[a].f.Total)
	})
	return order, nil
}

// admit is Admit's transaction for the job as read, into counter shard k.
// When the job's condition fails it returns the record as it was (nil if
// there is none) along with the TransactionCanceledException.
func (s *Store) admit(ctx context.Context, cur job.Job, limits job.Limits, at time.Time, k int) (map[string]types.AttributeValue, error) {
	terminal := []job.Status{job.Completed, job.Failed}
	admitted, err := job.Admit(cur, at)
	if err != nil {
		return nil, err
	}
	jobExpr, err := expression.NewBuilder().
		WithCondition(expression.And(
			expression.Name(attrID).AttributeExists(),
			expression.Name(attrWaiting).AttributeExists(),
			expression.Not(expression.Name(attrStatus).In(value(terminal[0]), value(terminal[1]))),
			// Pinned to the record as read, so the answer is exact.
			expression.Name(attrUpdatedAt).Equal(value(cur.UpdatedAt)))).
		WithUpdate(expression.
			Set(expression.Name(attrSlot), value(true)).
			Set(expression.Name(attrSlotShard), value(k)).
			Set(expression.Name(attrUpdatedAt), value(at)).
			// The generation's deadline runs from admission (job.Admit).
			Set(expression.Name(attrDeadline), value(admitted.Deadline)).
			Remove(expression.Name(attrWaiting))).
		Build()
	if err != nil {
		return nil, err
	}
	one := expression.Value(1)
	shard := expression.NewBuilder().WithUpdate(expression.
		Add(expression.Name(attrTotal), one).
		Add(tenantCount(cur.Tenant), one).
		Add(expression.Name(attrVersion), one))
	if limits.Global > 0 {
		total := expression.Name(attrTotal)
		shard = shard.WithCondition(total.AttributeNotExists().Or(total.LessThan(expression.Value(share(limits, k)))))
	}
	shardExpr, err := shard.Build()
	if err != nil {
		return nil, err
	}
	tenant := expression.NewBuilder().WithUpdate(expression.
		Add(expression.Name(attrCount), one).
		Add(expression.Name(attrVersion), one))
	if limits.PerTenant > 0 {
		n := expression.Name(attrCount)
		tenant = tenant.WithCondition(n.AttributeNotExists().Or(n.LessThan(expression.Value(limits.PerTenant))))
	}
	tenantExpr, err := tenant.Build()
	if err != nil {
		return nil, err
	}
	// The token makes the SDK's retry of this very attempt, after a lost
	// answer, succeed rather than fail the condition its first try changed
	// (and leave the job admitted without an execution).
	sum := sha256.Sum256([]byte("admit\x00" + cur.ID + "\x00" + cur.UpdatedAt.UTC().Format(timeLayout) + "\x00" + strconv.Itoa(k)))
	token := hex.EncodeToString(sum[:16])
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ClientRequestToken: &token, TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.table, Key: key(cur.ID),
			ConditionExpression: jobExpr.Condition(), UpdateExpression: jobExpr.Update(),
			ExpressionAttributeNames: jobExpr.Names(), ExpressionAttributeValues: jobExpr.Values(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Update: &types.Update{TableName: &s.table, Key: key(counterID(k)),
			ConditionExpression: shardExpr.Condition(), UpdateExpression: shardExpr.Update(),
			ExpressionAttributeNames: shardExpr.Names(), ExpressionAttributeValues: shardExpr.Values()}},
		{Update: &types.Update{TableName: &s.table, Key: key(tenantItemID(cur.Tenant)),
			ConditionExpression: tenantExpr.Condition(), UpdateExpression: tenantExpr.Update(),
			ExpressionAttributeNames: tenantExpr.Names(), ExpressionAttributeValues: tenantExpr.Values()}},
	}})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && len(cancelled.CancellationReasons) > 0 {
		return cancelled.CancellationReasons[0].Item, err
	}
	return nil, err
}

// giveBack applies c, which ends the job, together with giving back the
// slot the job holds in counter shard k: one transaction of the job's
// update, on c's condition and that the job still holds its slot in that
// shard, and the decrement of the shard and of the tenant's item. cur is
// the record as last read, which names the tenant (it never changes).
// When the job's condition fails giveBack returns the record as it was
// (nil if there is none) and failed.
func (s *Store) giveBack(ctx context.Context, cur job.Job, k int, c job.Change) (
	j job.Job, old map[string]types.AttributeValue, failed bool, err error) {
	id := cur.ID
	inShard := expression.Name(attrSlotShard).Equal(expression.Value(k))
	if k == 0 {
		inShard = expression.Name(attrSlotShard).AttributeNotExists().Or(inShard)
	}
	expr, err := expression.NewBuilder().
		WithCondition(condition(c).And(expression.Name(attrSlot).AttributeExists(), inShard)).
		WithUpdate(s.update(c)).
		Build()
	if err != nil {
		return job.Job{}, nil, false, fmt.Errorf("update job %s: %w", id, err)
	}
	minus, one := expression.Value(-1), expression.Value(1)
	shardExpr, err := expression.NewBuilder().WithUpdate(expression.
		Add(expression.Name(attrTotal), minus).
		Add(tenantCount(cur.Tenant), minus).
		Add(expression.Name(attrVersion), one)).
		Build()
	if err != nil {
		return job.Job{}, nil, false, fmt.Errorf("update job %s: %w", id, err)
	}
	tenantExpr, err := expression.NewBuilder().WithUpdate(expression.
		Add(expression.Name(attrCount), minus).
		Add(expression.Name(attrVersion), one)).
		Build()
	if err != nil {
		return job.Job{}, nil, false, fmt.Errorf("update job %s: %w", id, err)
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.table, Key: key(id),
			ConditionExpression: expr.Condition(), UpdateExpression: expr.Update(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Update: &types.Update{TableName: &s.table, Key: key(counterID(k)),
			UpdateExpression:         shardExpr.Update(),
			ExpressionAttributeNames: shardExpr.Names(), ExpressionAttributeValues: shardExpr.Values()}},
		{Update: &types.Update{TableName: &s.table, Key: key(tenantItemID(cur.Tenant)),
			UpdateExpression:         tenantExpr.Update(),
			ExpressionAttributeNames: tenantExpr.Names(), ExpressionAttributeValues: tenantExpr.Values()}},
	}})
	var cancelled *types.TransactionCanceledException
	switch {
	case conflicted(err):
		return job.Job{}, nil, false, err
	case errors.As(err, &cancelled) && len(cancelled.CancellationReasons) > 0 &&
		reasonCode(cancelled.CancellationReasons[0]) == codeConditionFailed:
		return job.Job{}, cancelled.CancellationReasons[0].Item, true, nil
	case err != nil:
		return job.Job{}, nil, false, fmt.Errorf("update job %s: %w", id, err)
	}
	s.prune(ctx, cur.Tenant, k)
	// A transaction returns no item. The record is terminal now, and a
	// terminal record never changes, so reading it back gives exactly what
	// the transaction wrote. Should that read fail, the answer is the
	// change applied to the record as last read (its counts may lag; the
	// change held on it, or the condition would have failed).
	if j, err = s.Get(ctx, id); err != nil {
		j, _ = c.Apply(cur)
	}
	return j, nil, false, nil
}

// prune removes tenant's count from counter shard k if it is zero, so the
// item keeps only tenants with jobs in flight. It is best effort: a count
// left at zero is still right, and a count that grew meanwhile fails the
// condition and stays. It leaves version alone: removing a zero changes no
// count, so a repair racing it writes the same counts.
func (s *Store) prune(ctx context.Context, tenant string, k int) {
	n := tenantCount(tenant)
	expr, err := expression.NewBuilder().
		WithCondition(n.LessThanEqual(expression.Value(0))).
		WithUpdate(expression.Remove(n)).
		Build()
	if err != nil {
		return
	}
	_, _ = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(counterID(k)),
		ConditionExpression:       expr.Condition(),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
}

// InFlight counts the jobs holding a slot, from one consistent read of
// every counter shard.
func (s *Store) InFlight(ctx context.Context) (job.InFlight, error) {
	shards, err := s.readShards(ctx)
	if err != nil {
		return job.InFlight{}, err
	}
	f := sumShards(shards)
	// A count below zero (only a drift RepairSlots has yet to repair can
	// make one) holds no slot.
	f.Total = max(f.Total, 0)
	maps.DeleteFunc(f.ByTenant, func(_ string, n int) bool { return n <= 0 })
	return f, nil
}

// sumShards adds the shards' counts up, as stored.
func sumShards(shards [counterShards]shardCounts) job.InFlight {
	f := job.InFlight{ByTenant: map[string]int{}}
	for _, sh := range shards {
		f.Total += sh.f.Total
		for tenant, n := range sh.f.ByTenant {
			f.ByTenant[tenant] += n
		}
	}
	maps.DeleteFunc(f.ByTenant, func(_ string, n int) bool { return n == 0 })
	return f
}

// decodeCounts reads a counter shard's item: the counts as stored (a drift
// may have made some negative; tenants at zero are left out) and the
// item's version, 0 when it has none.
func decodeCounts(item map[string]types.AttributeValue) (job.InFlight, int64, error) {
	f := job.InFlight{ByTenant: map[string]int{}}
	var version int64
	for name, av := range item {
		var n int
		switch {
		case name == attrTotal:
			if err := attributevalue.Unmarshal(av, &f.Total); err != nil {
				return job.InFlight{}, 0, fmt.Errorf("count slots: %s: %w", name, err)
			}
		case name == attrVersion:
			if err := attributevalue.Unmarshal(av, &version); err != nil {
				return job.InFlight{}, 0, fmt.Errorf("count slots: %s: %w", name, err)
			}
		case strings.HasPrefix(name, tenantCountPrefix):
			tenant, err := hex.DecodeString(strings.TrimPrefix(name, tenantCountPrefix))
			if err != nil {
				return job.InFlight{}, 0, fmt.Errorf("count slots: %s: %w", name, err)
			}
			if err := attributevalue.Unmarshal(av, &n); err != nil {
				return job.InFlight{}, 0, fmt.Errorf("count slots: %s: %w", name, err)
			}
			if n != 0 {
				f.ByTenant[string(tenant)] = n
			}
		}
	}
	return f, version, nil
}

// QueuePosition is j's 1-based place among its tenant's jobs waiting for a
// slot, oldest first (the order admission takes a tenant's jobs in): one
// more than the tenant's waiting jobs created before it (ties by id). It
// queries each shard of the sparse waiting-by-created index (see
// shards.go) up to j's creation time, filtered to the tenant: DynamoDB
// bills the index entries read, of every tenant, before the filter, about
// 100 bytes each, so a query costs half a read unit per ~40 jobs waiting
// ahead of j (eventually consistent, the only kind an index offers), and
// at least half a unit per shard. The index lags the table, so the place
// may be off by the jobs that began or stopped waiting in the last second.
func (s *Store) QueuePosition(ctx context.Context, j job.Job) (int, error) {
	ahead, err := eachShard(ctx, func(ctx context.Context, mark string) (int, error) {
		return s.waitingAhead(ctx, mark, j)
	})
	if err != nil {
		return 0, fmt.Errorf("queue position of job %s: %w", j.ID, err)
	}
	pos := 1
	for _, n := range ahead {
		pos += n
	}
	return pos, nil
}

// waitingAhead counts j's tenant's jobs waiting in one index shard that
// were created before j (ties by id).
func (s *Store) waitingAhead(ctx context.Context, mark string, j job.Job) (int, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrWaiting).Equal(expression.Value(mark)).
			And(expression.Key(attrCreatedAt).LessThanEqual(expression.Value(j.CreatedAt.UTC().Format(timeLayout))))).
		WithFilter(expression.Name(attrTenant).Equal(expression.Value(j.Tenant))).
		WithProjection(expression.NamesList(expression.Name(attrID), expression.Name(attrCreatedAt))).
		Build()
	if err != nil {
		return 0, err
	}
	n := 0
	var start map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &s.table,
			IndexName:                 new(waitingIndex),
			KeyConditionExpression:    expr.KeyCondition(),
			FilterExpression:          expr.Filter(),
			ProjectionExpression:      expr.Projection(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return 0, err
		}
		for _, av := range out.Items {
			e, err := decodeWaiting(av)
			if err != nil {
				return 0, err
			}
			if e.CreatedAt.Before(j.CreatedAt) || e.CreatedAt.Equal(j.CreatedAt) && e.ID < j.ID {
				n++
			}
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			return n, nil
		}
	}
}

// decodeWaiting reads an entry of the waiting-by-created index: id, tenant
// (absent from a QueuePosition's projection) and creation time.
func decodeWaiting(av map[string]types.AttributeValue) (job.Job, error) {
	var e struct {
		ID        string `dynamodbav:"id"`
		Tenant    string `dynamodbav:"tenant"`
		CreatedAt string `dynamodbav:"created_at"`
	}
	if err := attributevalue.UnmarshalMap(av, &e); err != nil {
		return job.Job{}, err
	}
	created, err := time.Parse(timeLayout, e.CreatedAt)
	if err != nil {
		return job.Job{}, fmt.Errorf("job %s: created_at: %w", e.ID, err)
	}
	return job.Job{ID: e.ID, Tenant: e.Tenant, Status: job.Queued, Waiting: true, CreatedAt: created}, nil
}

// Waiting returns up to n jobs waiting for a slot, oldest first, as the
// sparse waiting-by-created index shows them: id, tenant and creation time
// only, read from the index alone. A dispatch looks at up to a thousand
// waiting jobs to choose fairly, and reading each item again would cost a
// read unit apiece; the index costs one per 4 KB of entries. It lags the
// table, so a job listed may have been admitted or ended meanwhile, and one
// that just began waiting may be missing: Admit's condition decides, and
// the next dispatch sees the rest.
//
// The index has indexShards shards (see shards.go), each in creation
// order: Waiting merges them, reading each a page at a time as the merge
// reaches its end, so it reads about n entries plus a page per shard, not
// n per shard.
func (s *Store) Waiting(ctx context.Context, n int) ([]job.Job, error) {
	if n <= 0 {
		return nil, nil
	}
	// Pages a little over an even share: most merges need one per shard.
	pageSize := int32(min(n, 10000)/indexShards + 2)
	heads, err := eachShard(ctx, func(ctx context.Context, mark string) (*waitingShard, error) {
		w := &waitingShard{mark: mark}
		return w, s.nextWaiting(ctx, w, pageSize)
	})
	if err != nil {
		return nil, fmt.Errorf("list waiting jobs: %w", err)
	}
	var kept []job.Job
	for {
		var oldest *waitingShard
		for _, w := range heads {
			if len(w.buf) == 0 && !w.done {
				if err := s.nextWaiting(ctx, w, pageSize); err != nil {
					return nil, fmt.Errorf("list waiting jobs: %w", err)
				}
			}
			if len(w.buf) > 0 && (oldest == nil || w.buf[0].CreatedAt.Before(oldest.buf[0].CreatedAt)) {
				oldest = w
			}
		}
		// Read past the n-th entry while created_at ties, so that ties are
		// broken by id whatever order the index keeps them in.
		if oldest == nil || len(kept) >= n && oldest.buf[0].CreatedAt.After(kept[n-1].CreatedAt) {
			break
		}
		kept = append(kept, oldest.buf[0])
		oldest.buf = oldest.buf[1:]
	}
	slices.SortFunc(kept, func(a, b job.Job) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return kept[:min(n, len(kept))], nil
}

// waitingShard is one index shard's place in Waiting's merge: the entries
// read and not yet taken, where its next page starts, and whether it has
// no more.
type waitingShard struct {
	mark  string
	buf   []job.Job
	start map[string]types.AttributeValue
	done  bool
}

// nextWaiting reads w's next page of at most size entries.
func (s *Store) nextWaiting(ctx context.Context, w *waitingShard, size int32) error {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrWaiting).Equal(expression.Value(w.mark))).
		Build()
	if err != nil {
		return err
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 new(waitingIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ExclusiveStartKey:         w.start,
		Limit:                     &size,
	})
	if err != nil {
		return err
	}
	for _, av := range out.Items {
		j, err := decodeWaiting(av)
		if err != nil {
			return err
		}
		w.buf = append(w.buf, j)
	}
	w.start = out.LastEvaluatedKey
	w.done = len(w.start) == 0
	return nil
}
