package client

import (
	"context"
	"fmt"
	"sync"

	"github.com/vidgen/vidgen"
)

// DefaultBatchConcurrency is how many submits SubmitBatch has in flight.
const DefaultBatchConcurrency = 4

// BatchOptions configures SubmitBatch.
type BatchOptions struct {
	// Concurrency bounds the submits in flight (0: DefaultBatchConcurrency).
	Concurrency int
	// KeyPrefix makes item i's Idempotency-Key KeyPrefix-i, so that running
	// the same batch again within 24 hours (after a crash, say) answers the
	// jobs the first run created instead of creating more. Empty: a fresh
	// random prefix, so each run creates its own jobs.
	KeyPrefix string
}

// BatchResult is what submitting one item of a batch gave.
type BatchResult struct {
	Index          int
	IdempotencyKey string
	Generation     vidgen.Generation
	Err            error
}

// SubmitBatch submits every request, each with its own Idempotency-Key, at
// most opts.Concurrency at a time, and returns one result per request in
// the requests' order; one item's failure does not stop the others.
//
// The HTTP API has no batch route: batches of jobs that run by themselves
// (from a manifest in S3, on a schedule) are the video_batch state
// machine's job (docs/integrations.md). SubmitBatch is the client-side
// batch: plain submits, so each job is an ordinary job of the caller's
// tenant.
func (c *Client) SubmitBatch(ctx context.Context, reqs []vidgen.Request, opts BatchOptions) []BatchResult {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultBatchConcurrency
	}
	prefix := opts.KeyPrefix
	if prefix == "" {
		prefix = NewIdempotencyKey()
	}
	results := make([]BatchResult, len(reqs))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, req := range reqs {
		key := fmt.Sprintf("%s-%d", prefix, i)
		results[i] = BatchResult{Index: i, IdempotencyKey: key}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].Err = fmt.Errorf("item %d: %w", i, ctx.Err())
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			g, err := c.Submit(ctx, req, IdempotencyKey(key))
			results[i].Generation = g
			if err != nil {
				results[i].Err = fmt.Errorf("item %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return results
}
