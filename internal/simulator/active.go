package simulator

import (
	"container/heap"
	"time"
)

// inProgress counts the generations in progress, the now and the most at
// once, for Stats. A generation is in progress from its accept until the
// clock reaches its end (generation.ends), so the count can rise only at an
// accept: counting there gives the exact peak without a timer on the clock.
//
// Generations that will end wait in a heap by end time, so an accept costs
// O(log n) however many are in progress and each generation is dropped once.
// A clock that runs backwards does not bring a dropped generation back.
type inProgress struct {
	ends  endHeap // of the generations that will end, soonest first
	never int     // generations that never end (sim:never)
	peak  int
}

// admit counts g from now on and notes the peak.
func (a *inProgress) admit(g *generation, queue time.Duration, now time.Time) {
	// A vanished generation answers 404 from the start, so no client can be
	// waiting on its progress: counting it could exceed what clients have in
	// flight.
	if !g.vanish {
		if end, finite := g.ends(queue); finite {
			heap.Push(&a.ends, end)
		} else {
			a.never++
		}
	}
	a.prune(now)
	a.peak = max(a.peak, a.count())
}

// prune drops the generations that have ended by now.
func (a *inProgress) prune(now time.Time) {
	for len(a.ends) > 0 && !now.Before(a.ends[0]) {
		heap.Pop(&a.ends)
	}
}

// count reports how many generations were in progress at the last prune.
func (a *inProgress) count() int { return len(a.ends) + a.never }

// endHeap is a min-heap of end times for container/heap.
type endHeap []time.Time

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }

func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
