package costsim

import (
	"context"
	"log/slog"
	"time"

	"github.com/vidgen/vidgen/internal/gentime"
)

// learned is one function's cache of the deployment's learned generation
// times, over the run's billed store.
func (r *run) learned() *gentime.Cache {
	return &gentime.Cache{Store: r.store, Clock: r.clk, Log: slog.New(slog.DiscardHandler)}
}

// GenTimes is billed as the DynamoDB store does it: one GetItem of an item
// under 1 KB. An eventually consistent read of it costs half a read unit;
// the counters are whole units, so it is billed a whole one, which
// overstates it.
func (s *countingStore) GenTimes(ctx context.Context, model string, duration int) ([]time.Duration, error) {
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	s.run.usage.RRU++
	s.run.usage.ModelReads++
	return s.Store.GenTimes(ctx, model, duration)
}

// RecordGenTime is billed as the DynamoDB store does it: one UpdateItem of
// an item under 1 KB (dynamostore.GenTimesItemSize), a write unit.
func (s *countingStore) RecordGenTime(ctx context.Context, model string, duration int, slot int, took time.Duration) error {
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	s.run.usage.WRU++
	s.run.usage.ModelWrites++
	return s.Store.RecordGenTime(ctx, model, duration, slot, took)
}
