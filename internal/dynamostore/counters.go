package dynamostore

import (
	"context"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/job"
)

// The slots in flight are counted in counterShards items and one item per
// tenant, so that no one item takes every admission and every end: an item
// is one partition key, and a partition takes at most 1,000 write units a
// second, which with two transactions a job (four units on the counters)
// capped admission near 250 jobs a second.
//
//   - Shard k (countsID for k = 0, the one item older versions kept, then
//     countsID#k) holds the slots of the jobs admitted into it: total, the
//     same per tenant (tenant#<hex>, what InFlight reports by tenant) and
//     version. A job records its shard (slot_shard; none means 0), so its
//     end takes the slot back from the item that gave it.
//   - With a global cap, shard k takes at most its share of it (share),
//     so the shards' totals never sum past the cap: the cap stays exact
//     while it stays the same. Admit reads every shard first, refuses when
//     their sum has reached the cap (which covers slots taken under an
//     earlier, larger cap, in any shard) and otherwise tries the shard with
//     most room. Without a global cap the total has no condition and a job
//     goes to the shard its id hashes to.
//   - Tenant t's item (slot#tenant#<hex>) holds n, its slots in all shards,
//     and version: the per-tenant cap is checked on it, exactly.
//
// An admission is one transaction of the job, its shard and its tenant's
// item; so is the end of a job holding a slot. When the job's shard is
// full, Admit tries the others, those with most room first.
const (
	counterShards = 8

	tenantItemPrefix = slotPrefix + "tenant#"
	attrSlotShard    = "slot_shard"
	attrCount        = "n"
)

// counterID is the id of counter shard k.
func counterID(k int) string {
	if k == 0 {
		return countsID
	}
	return countsID + "#" + strconv.Itoa(k)
}

// tenantItemID is the id of tenant's counter item.
func tenantItemID(tenant string) string {
	return tenantItemPrefix + hex.EncodeToString([]byte(tenant))
}

// share is shard k's part of the global cap (0: no cap); the shares sum
// to the cap.
func share(limits job.Limits, k int) int {
	if limits.Global <= 0 {
		return 0
	}
	n := limits.Global / counterShards
	if k < limits.Global%counterShards {
		n++
	}
	return n
}

// homeShard is the counter shard of a job admitted without a global cap.
func homeShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % counterShards)
}

// slotShardOf is the shard an item of a job holding a slot names (0 when
// it names none, as records admitted before the shards).
func slotShardOf(av map[string]types.AttributeValue) int {
	var k int
	if v, ok := av[attrSlotShard]; ok {
		_ = attributevalue.Unmarshal(v, &k)
	}
	return k
}

// shardCounts are the counts one counter shard holds.
type shardCounts struct {
	f       job.InFlight
	version int64
}

// readShards reads every counter shard consistently, in one BatchGetItem.
func (s *Store) readShards(ctx context.Context) ([counterShards]shardCounts, error) {
	var got [counterShards]shardCounts
	for k := range got {
		got[k].f.ByTenant = map[string]int{}
	}
	keys := make([]map[string]types.AttributeValue, counterShards)
	for k := range keys {
		keys[k] = key(counterID(k))
	}
	for attempt := 0; len(keys) > 0; attempt++ {
		if attempt > 0 {
			if attempt == attempts {
				return got, fmt.Errorf("count slots: %d counters still unprocessed", len(keys))
			}
			if err := pause(ctx, attempt); err != nil {
				return got, err
			}
		}
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: new(true)}},
		})
		if err != nil {
			return got, fmt.Errorf("count slots: %w", err)
		}
		for _, av := range out.Responses[s.table] {
			var id string
			if err := attributevalue.Unmarshal(av[attrID], &id); err != nil {
				return got, fmt.Errorf("count slots: %w", err)
			}
			for k := range counterShards {
				if counterID(k) == id {
					if got[k].f, got[k].version, err = decodeCounts(av); err != nil {
						return got, err
					}
				}
			}
		}
		keys = out.UnprocessedKeys[s.table].Keys
	}
	return got, nil
}

// tenantCounts reads tenant's counter item consistently: its count and
// version (0, 0 when it has none).
func (s *Store) tenantCounts(ctx context.Context, tenant string) (n int, version int64, err error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(tenantItemID(tenant)), ConsistentRead: new(true),
	})
	if err != nil {
		return 0, 0, fmt.Errorf("count slots of tenant %q: %w", tenant, err)
	}
	var it struct {
		N       int   `dynamodbav:"n"`
		Version int64 `dynamodbav:"version"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return 0, 0, fmt.Errorf("count slots of tenant %q: %w", tenant, err)
	}
	return it.N, it.Version, nil
}
