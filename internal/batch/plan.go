package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// The batch's distributed Map hands each child execution a chunk of items
// (its ItemBatcher), and the child runs them one after another: a lane.
// Step Functions bills each child's start a transition, so larger chunks
// cost less per item; but the batch ends when its last lane does, and a
// lane ends a whole chunk after the others at worst. Plan sizes the chunks
// between the two.
const (
	// MaxItemsPerChild bounds a chunk: the batch's end may wait about half
	// a chunk's run (12 generations) longer than one-item children would.
	// Each chunk costs two transitions (its child's start and its Inline
	// Map state), a twelfth of one per item at 24, where the item's own
	// start of its job costs one: make bench's batch of 10,000 measured
	// 16 at 1.104× single jobs' cost, 24 at 1.099× and 28 at 1.098×, with
	// the makespan at 1.067–1.078×, 1.067–1.078× and 1.085–1.089× the
	// ideal (three workload seeds; docs/performance.md).
	MaxItemsPerChild = 24
	// chunksPerLane is how many chunks each lane gets at least, so that
	// the lanes take turns with the chunks and end close together: the
	// last lane ends about half a chunk after the others, at most 1/20 of
	// the batch's run (the batch of 10,000 at max_concurrency 25: 1/50).
	chunksPerLane = 10
)

// PlanInput is what the batch machine hands Plan: max_concurrency (the
// lanes), and the number of items of an inline list or the manifest that
// holds them.
type PlanInput struct {
	MaxConcurrency int       `json:"max_concurrency"`
	Items          *int      `json:"items,omitempty"`
	Manifest       *Manifest `json:"manifest,omitempty"`
}

// Manifest is where a batch's JSON Lines manifest is.
type Manifest struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// Plan is how the batch's Map chunks its items.
type Plan struct {
	ItemsPerChild int `json:"items_per_child"`
}

// Request is the batch function's input: a plan's, or a summary's.
type Request struct {
	Plan *PlanInput `json:"plan,omitempty"`
	Input
}

// Handle is the batch function: it plans the chunks (video_batch's
// PlanInline and PlanManifest) or sums the batch up (Summarize).
func (s *Summarizer) Handle(ctx context.Context, r Request) (any, error) {
	if r.Plan != nil {
		return s.Plan(ctx, *r.Plan)
	}
	return s.Summarize(ctx, r.Input)
}

// Plan counts the batch's items (a manifest's non-blank lines, as the
// Map's ItemReader reads them) and sizes its chunks.
func (s *Summarizer) Plan(ctx context.Context, in PlanInput) (Plan, error) {
	if in.MaxConcurrency < 1 {
		return Plan{}, errors.New("plan: max_concurrency must be at least 1")
	}
	var n int
	switch {
	case in.Items != nil:
		n = *in.Items
	case in.Manifest != nil:
		raw, err := s.Objects.Get(ctx, in.Manifest.Bucket, in.Manifest.Key)
		if err != nil {
			return Plan{}, fmt.Errorf("plan: read the manifest s3://%s/%s: %w", in.Manifest.Bucket, in.Manifest.Key, err)
		}
		n = lines(raw)
	default:
		return Plan{}, errors.New("plan: give items or manifest")
	}
	return Plan{ItemsPerChild: ItemsPerChild(n, in.MaxConcurrency)}, nil
}

// ItemsPerChild is the chunk size for n items in lanes lanes: each lane
// gets chunksPerLane chunks at least, each chunk 1 to MaxItemsPerChild
// items.
func ItemsPerChild(n, lanes int) int {
	return min(MaxItemsPerChild, max(1, n/(chunksPerLane*max(1, lanes))))
}

// lines counts the lines of b that hold more than white space.
func lines(b []byte) int {
	n := 0
	for line := range bytes.Lines(b) {
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	return n
}
