package boltstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vidgen/vidgen/internal/job"
	bolt "go.etcd.io/bbolt"
)

// spendBucket holds each tenant's credits per UTC day (job.Spend, as
// JSON) under tenant NUL day. The write that changes a job's credits
// updates it in the same transaction; it is made by the first such write,
// so a database from before it needs nothing.
const spendBucket = "spend"

func spendKey(tenant, day string) []byte { return []byte(tenant + "\x00" + day) }

// countCredits adds delta credits of model to tenant's spend on day.
func countCredits(tx *bolt.Tx, tenant, model, day string, delta float64) error {
	b, err := tx.CreateBucketIfNotExists([]byte(spendBucket))
	if err != nil {
		return err
	}
	sp := job.Spend{Day: day, ByModel: map[string]float64{}}
	if v := b.Get(spendKey(tenant, day)); v != nil {
		if err := json.Unmarshal(v, &sp); err != nil {
			return fmt.Errorf("decode spend of %s on %s: %w", tenant, day, err)
		}
	}
	sp.Credits += delta
	sp.ByModel[model] += delta
	v, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	return b.Put(spendKey(tenant, day), v)
}

// Spend returns tenant's credits on day (job.Day), zero if none were
// recorded.
func (s *Store) Spend(ctx context.Context, tenant, day string) (job.Spend, error) {
	if err := ctx.Err(); err != nil {
		return job.Spend{}, err
	}
	sp := job.Spend{Day: day, ByModel: map[string]float64{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(spendBucket))
		if b == nil {
			return nil
		}
		if v := b.Get(spendKey(tenant, day)); v != nil {
			return json.Unmarshal(v, &sp)
		}
		return nil
	})
	if err != nil {
		return job.Spend{}, fmt.Errorf("spend of %s on %s: %w", tenant, day, err)
	}
	return sp, nil
}
