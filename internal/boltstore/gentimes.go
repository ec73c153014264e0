package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/vidgen/vidgen/internal/gentime"
	bolt "go.etcd.io/bbolt"
)

// genTimesBucket holds the learned generation times (internal/gentime):
// under model NUL duration, gentime.Slots little-endian uint32 counts of
// gentime.Resolution, zero for an empty slot. It is made by the first
// write, so a database from before it needs nothing.
const genTimesBucket = "gentimes"

func genTimesKey(model string, duration int) []byte {
	return []byte(model + "\x00" + strconv.Itoa(duration))
}

// GenTimes returns the sample of model and duration by slot
// (gentime.Store).
func (s *Store) GenTimes(ctx context.Context, model string, duration int) ([]time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]time.Duration, gentime.Slots)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(genTimesBucket))
		if b == nil {
			return nil
		}
		decodeGenTimes(b.Get(genTimesKey(model, duration)), out)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read generation times: %w", err)
	}
	return out, nil
}

// RecordGenTime puts took in slot of model and duration's sample
// (gentime.Store), in one transaction.
func (s *Store) RecordGenTime(ctx context.Context, model string, duration int, slot int, took time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if slot < 0 || slot >= gentime.Slots || took < gentime.Resolution || took > gentime.MaxValue {
		return fmt.Errorf("record generation time: slot %d, time %v out of range", slot, took)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(genTimesBucket))
		if err != nil {
			return err
		}
		k := genTimesKey(model, duration)
		v := make([]byte, 4*gentime.Slots)
		copy(v, b.Get(k))
		binary.LittleEndian.PutUint32(v[4*slot:], uint32(took/gentime.Resolution))
		return b.Put(k, v)
	})
	if err != nil {
		return fmt.Errorf("record generation time: %w", err)
	}
	return nil
}

func decodeGenTimes(v []byte, out []time.Duration) {
	for i := range out {
		if 4*i+4 > len(v) {
			return
		}
		out[i] = time.Duration(binary.LittleEndian.Uint32(v[4*i:])) * gentime.Resolution
	}
}
