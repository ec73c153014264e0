package costsim

import (
	"context"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// ClaimAnnouncement and MarkAnnounced are billed as the DynamoDB store
// does them: one conditional write each, the Finish step's two writes per
// ended job (notify.Notifier.Finish).
func (s *countingStore) ClaimAnnouncement(ctx context.Context, id string, at time.Time, lease time.Duration) (job.Job, error) {
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	j, err := s.Store.ClaimAnnouncement(ctx, id, at, lease)
	s.run.usage.WRU += units(j, 1024)
	return j, err
}

func (s *countingStore) MarkAnnounced(ctx context.Context, id string, at time.Time) (job.Job, error) {
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	before, _ := s.Store.Get(ctx, id) // bbolt: free, and not billed
	j, err := s.Store.MarkAnnounced(ctx, id, at)
	s.run.usage.WRU += units(j, 1024)
	if err == nil {
		// The mark takes the job out of open-by-deadline (the end does not).
		s.run.usage.WRU += indexWrites(before, j, jobIndexes())
	}
	return j, err
}
