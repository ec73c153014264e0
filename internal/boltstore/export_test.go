package boltstore

import (
	"context"

	"github.com/vidgen/vidgen/internal/job"
	bolt "go.etcd.io/bbolt"
)

// SetSlotCountsForTest overwrites the slot counters with f, as a drift
// would leave them: the contract (storetest) corrupts the counts with it
// to see RepairSlots mend them.
func (s *Store) SetSlotCountsForTest(_ context.Context, f job.InFlight) error {
	return s.db.Update(func(tx *bolt.Tx) error { return writeSlots(tx, f) })
}
