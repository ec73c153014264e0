package boltstore

import (
	"context"
	"strconv"

	"github.com/vidgen/vidgen/internal/job"
	bolt "go.etcd.io/bbolt"
)

// SetSlotCountsForTest overwrites the slot counters with f, as a drift
// would leave them: the contract (storetest) corrupts the counts with it
// to see RepairSlots mend them.
func (s *Store) SetSlotCountsForTest(_ context.Context, f job.InFlight) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte(slotsBucket)); err != nil {
			return err
		}
		b, err := tx.CreateBucket([]byte(slotsBucket))
		if err != nil {
			return err
		}
		if err := b.Put([]byte("total"), []byte(strconv.Itoa(f.Total))); err != nil {
			return err
		}
		for tenant, n := range f.ByTenant {
			if err := b.Put([]byte("t:"+tenant), []byte(strconv.Itoa(n))); err != nil {
				return err
			}
		}
		return nil
	})
}
