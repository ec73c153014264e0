package dynamostore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/job"
)

// A tenant's credits per UTC day (job.Spend) are spendShards items per
// tenant and day, spend#<hex tenant>#<day>#<k>: n, credits, and one
// attribute per model, model#<model id>, each model's part; a job counts
// in shard k = its id's hash. Spend reads and sums the shards. One item
// would take every job of a tenant, two write units each (a transaction):
// a partition takes 1,000 a second, so one tenant without caps would stop
// at 500 jobs a second, below its by-tenant entry's 1,000; four shards
// leave that one the limit. The items have no tenant, created_at, open or
// waiting attribute, so they stay out of every index; each expires
// (expires_at) Retention after its day ends.
//
// The write that records a job's credits (the first answer that carries
// them, usually the create's) is one transaction: the job's update, on
// condition that its credits are still what was read, and the shard's ADD
// of the difference. So the counts equal the recorded credits, and a job
// costs one counter write, not one per poll: a change whose credits equal
// the record's is a plain update that leaves the counters alone.
const (
	spendPrefix      = "spend#"
	spendModelPrefix = "model#"
	spendShards      = 4
)

func isSpendID(id string) bool { return strings.HasPrefix(id, spendPrefix) }

// spendID is the id of shard k of tenant's spend items of day.
func spendID(tenant, day string, k int) string {
	return spendPrefix + hex.EncodeToString([]byte(tenant)) + "#" + day + "#" + strconv.Itoa(k)
}

// spendShard is the shard job id counts its credits in.
func spendShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % spendShards)
}

// Spend returns tenant's credits on day (job.Day), zero if none were
// recorded: a consistent GetItem of each shard, at once.
func (s *Store) Spend(ctx context.Context, tenant, day string) (job.Spend, error) {
	sp := job.Spend{Day: day, ByModel: map[string]float64{}}
	var (
		items [spendShards]map[string]types.AttributeValue
		errs  [spendShards]error
		wg    sync.WaitGroup
	)
	for k := range spendShards {
		wg.Go(func() {
			out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: &s.table, Key: key(spendID(tenant, day, k)), ConsistentRead: new(true),
			})
			if err == nil {
				items[k] = out.Item
			}
			errs[k] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return sp, fmt.Errorf("spend of %s on %s: %w", tenant, day, err)
	}
	for _, item := range items {
		for name, v := range item {
			n, ok := v.(*types.AttributeValueMemberN)
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				return sp, fmt.Errorf("spend of %s on %s: %s: %w", tenant, day, name, err)
			}
			if model, ok := strings.CutPrefix(name, spendModelPrefix); ok {
				sp.ByModel[model] += f
			} else if name == attrCount {
				sp.Credits += f
			}
		}
	}
	return sp, nil
}

// recordCredits writes c's credits to the job id together with its
// tenant's spend counter, when they change the record's. It returns the
// record written and what of c is left to write with a plain Update: the
// end of a job holding a slot (a transaction with the slot counters, see
// giveBack) goes on its own after the credits; any other change is
// written whole here and nothing is left (done). Credits equal to the
// record's are dropped from c, which is left whole.
func (s *Store) recordCredits(ctx context.Context, id string, c job.Change) (j job.Job, rest job.Change, done bool, err error) {
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if werr := pause(ctx, attempt); werr != nil {
				return job.Job{}, c, false, fmt.Errorf("record credits of job %s: %w (after %v)", id, werr, err)
			}
		}
		cur, gerr := s.Get(ctx, id)
		if gerr != nil {
			return job.Job{}, c, false, gerr
		}
		if cerr := c.Check(cur); cerr != nil {
			return job.Job{}, c, false, fmt.Errorf("update job %s: %w", id, cerr)
		}
		delta, changed := job.CreditsDelta(cur, c)
		if !changed {
			c.CreditsUsed = nil
			return job.Job{}, c, false, nil
		}
		// An end that gives a slot back is a transaction of its own
		// (giveBack): the credits go first, alone.
		first, split := c, c.Status.Terminal() && cur.Slot
		if split {
			first = job.Change{At: c.At, CreditsUsed: c.CreditsUsed}
		}
		var failed bool
		failed, err = s.creditsTransaction(ctx, cur, first, delta)
		switch {
		case err != nil && conflicted(err) && attempt+1 < attempts:
			continue
		case err != nil:
			// Conflicts on the shard (which many jobs write) outlasted the
			// retries, or the transaction failed for a reason not the
			// job's: the spend counter must never keep the upstream id or
			// an end from being recorded, so c goes whole as a plain
			// update and the day's sum undercounts this job (docs/api.md).
			s.log.ErrorContext(ctx, "spend counter not updated: job's credits recorded without it",
				"job_id", id, "tenant", cur.Tenant, "credits", delta, "err", err)
			s.missed(id)
			return job.Job{}, c, false, nil
		case failed:
			// The record changed since it was read: read it again.
			err = fmt.Errorf("update job %s: %w: its credits changed meanwhile", id, job.ErrConflict)
			continue
		}
		if split {
			c.CreditsUsed = nil
			return job.Job{}, c, false, nil
		}
		// A transaction returns no item; read back what it wrote, or
		// failing that the change applied to the record as read.
		if j, err = s.Get(ctx, id); err != nil {
			j, _ = first.Apply(cur)
		}
		return j, job.Change{}, true, nil
	}
	return job.Job{}, c, false, err
}

// creditsTransaction writes c to the job cur, on c's conditions and that
// its credits are still cur's, and adds delta to its tenant's spend on
// c's day. failed reports that a condition did not hold.
func (s *Store) creditsTransaction(ctx context.Context, cur job.Job, c job.Change, delta float64) (failed bool, err error) {
	same := expression.Name(attrCreditsUsed).AttributeNotExists()
	if cur.CreditsUsed != nil {
		same = expression.Name(attrCreditsUsed).Equal(value(*cur.CreditsUsed))
	}
	cond := condition(c).And(same)
	if c.Status.Terminal() {
		// The end of a job without a slot, as updateItem writes it.
		cond = cond.And(expression.Name(attrSlot).AttributeNotExists())
	}
	jobExpr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(s.update(c)).Build()
	if err != nil {
		return false, fmt.Errorf("update job %s: %w", cur.ID, err)
	}
	day := job.Day(c.At)
	u := expression.Add(expression.Name(attrCount), expression.Value(delta)).
		Add(expression.NameNoDotSplit(spendModelPrefix+cur.Request.Model), expression.Value(delta))
	if dayStart, perr := job.ParseDay(day); perr == nil {
		if at := s.expiry(job.NextDay(dayStart)); at != 0 {
			u = u.Set(expression.Name(attrExpiresAt), expression.Value(at))
		}
	}
	spendExpr, err := expression.NewBuilder().WithUpdate(u).Build()
	if err != nil {
		return false, fmt.Errorf("update job %s: %w", cur.ID, err)
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.table, Key: key(cur.ID),
			ConditionExpression: jobExpr.Condition(), UpdateExpression: jobExpr.Update(),
			ExpressionAttributeNames: jobExpr.Names(), ExpressionAttributeValues: jobExpr.Values()}},
		{Update: &types.Update{TableName: &s.table, Key: key(spendID(cur.Tenant, day, spendShard(cur.ID))),
			UpdateExpression:         spendExpr.Update(),
			ExpressionAttributeNames: spendExpr.Names(), ExpressionAttributeValues: spendExpr.Values()}},
	}})
	var cancelled *types.TransactionCanceledException
	switch {
	case conflicted(err):
		return false, err
	case errors.As(err, &cancelled) && len(cancelled.CancellationReasons) > 0 &&
		reasonCode(cancelled.CancellationReasons[0]) == codeConditionFailed:
		return true, nil
	case err != nil:
		return false, fmt.Errorf("update job %s: %w", cur.ID, err)
	}
	return false, nil
}
