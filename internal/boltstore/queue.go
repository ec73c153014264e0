package boltstore

import (
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// queues is the waiting index held in memory too, each tenant's keys
// sorted, so that a queue position is a binary search, not a walk over
// every job ahead: under a long queue each query of a waiting job walked
// thousands of keys. The index in the file stays the record (Waiting reads
// it): this copy is read from it on Open and then follows each committed
// change of it (Tx.OnCommit), which only this process makes, bbolt's file
// lock keeping any other out.
type queues struct {
	mu       sync.RWMutex
	byTenant map[string][]string // waiting keys (waitingKey), ascending
}

// loadQueues reads the waiting index of tx.
func loadQueues(tx *bolt.Tx) *queues {
	q := &queues{byTenant: map[string][]string{}}
	tx.Bucket([]byte(waitingBucket)).ForEach(func(k, v []byte) error {
		// In key order: each tenant's keys come sorted.
		q.byTenant[string(v)] = append(q.byTenant[string(v)], string(k))
		return nil
	})
	return q
}

// add puts tenant's key in its place, once.
func (q *queues) add(tenant, key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	keys := q.byTenant[tenant]
	// New jobs are the newest: their keys go last, without a search.
	if n := len(keys); n == 0 || keys[n-1] < key {
		q.byTenant[tenant] = append(keys, key)
		return
	}
	i, found := slices.BinarySearch(keys, key)
	if !found {
		q.byTenant[tenant] = slices.Insert(keys, i, key)
	}
}

// remove takes tenant's key out, if there.
func (q *queues) remove(tenant, key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	keys := q.byTenant[tenant]
	i, found := slices.BinarySearch(keys, key)
	switch {
	case !found:
	case len(keys) == 1:
		delete(q.byTenant, tenant)
	case i == 0:
		// Admission takes each tenant's oldest job: dropping the first
		// key copies nothing (the next append that outgrows the array
		// frees the space).
		q.byTenant[tenant] = keys[1:]
	default:
		q.byTenant[tenant] = slices.Delete(keys, i, i+1)
	}
}

// before counts tenant's keys that sort before key.
func (q *queues) before(tenant, key string) int {
	q.mu.RLock()
	defer q.mu.RUnlock()
	i, _ := slices.BinarySearch(q.byTenant[tenant], key)
	return i
}
