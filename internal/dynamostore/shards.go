package dynamostore

import (
	"context"
	"hash/fnv"
	"strconv"
	"sync"
)

// The sparse indexes open-by-deadline and waiting-by-created are keyed by
// a mark every listed job carries. With one mark value all their entries
// share one index partition, and DynamoDB serves a partition at most 1,000
// write units and 3,000 read units a second
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html;
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html):
// with ~4 index writes per job (open: its creation, the deadline moved at
// admission, which is a delete and a put, its end announced) that caps the whole
// service near 250 jobs a second, whatever the table's capacity, and a
// throttled index write throttles the table write that caused it.
//
// So each job's mark names one of indexShards shards, chosen by a hash of
// its id: "1" for shard 0, "1#k" for shard k. Shard 0's mark is the one
// value older records carry, so they stay listed where they are. Listing
// queries every shard at once and merges the answers in the index's order.
// Raising indexShards is safe (the queries cover the new shards);
// lowering it would hide the jobs of the shards dropped until they end.
const indexShards = 8

// shardOf is the index shard of job id.
func shardOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % indexShards)
}

// shardMark is the mark value of index shard k.
func shardMark(k int) string {
	if k == 0 {
		return openMark
	}
	return openMark + "#" + strconv.Itoa(k)
}

// eachShard runs query for every index shard's mark at once and returns
// their answers in shard order, or the first error.
func eachShard[T any](ctx context.Context, query func(ctx context.Context, mark string) (T, error)) ([]T, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make([]T, indexShards)
	errs := make([]error, indexShards)
	var wg sync.WaitGroup
	for k := range indexShards {
		wg.Go(func() {
			got[k], errs[k] = query(ctx, shardMark(k))
			if errs[k] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return got, nil
}
