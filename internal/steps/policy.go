package steps

import (
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// Policy decides how long to wait between polls and how to back off after
// transient failures.
type Policy struct {
	// FirstPoll is the wait after a submit before the first poll, per
	// requested video duration in seconds: nothing finishes sooner.
	FirstPoll map[int]time.Duration
	// Interval is the wait between later polls.
	Interval time.Duration
	// BaseBackoff and MaxBackoff bound the jittered exponential backoff
	// after transient failures.
	BaseBackoff, MaxBackoff time.Duration
	// Adaptive, when set, schedules polls from the generation times it
	// learns instead of FirstPoll and Interval (see adaptive.go).
	Adaptive *Adaptive
}

// DefaultPolicy polls first when a typical generation of that length is
// due (the upstream documents ~25 s for a 5-s video), then every 5 s.
func DefaultPolicy() Policy {
	return Policy{
		FirstPoll:   map[int]time.Duration{5: 20 * time.Second, 10: 35 * time.Second},
		Interval:    5 * time.Second,
		BaseBackoff: 2 * time.Second,
		MaxBackoff:  60 * time.Second,
	}
}

// AdaptivePolicy is what vidgen runs with: DefaultPolicy's backoff and
// follower interval, and polls scheduled by DefaultAdaptive. make bench
// compares it with fixed schedules (docs/performance.md).
func AdaptivePolicy() Policy {
	p := DefaultPolicy()
	p.Adaptive = DefaultAdaptive()
	return p
}

// First is the wait in seconds before the first poll of j.
func (p Policy) First(j job.Job, now time.Time) int {
	if p.Adaptive != nil {
		return clampToDeadline(p.Adaptive.first(j, now), j, now)
	}
	d, ok := p.FirstPoll[j.Request.Duration]
	if !ok {
		d = p.Interval
	}
	return clampToDeadline(max(d, time.Second), j, now)
}

// Next is the wait in seconds before the poll after this one.
func (p Policy) Next(j job.Job, now time.Time) int {
	if p.Adaptive != nil {
		return clampToDeadline(p.Adaptive.next(j, now), j, now)
	}
	return clampToDeadline(max(p.Interval, time.Second), j, now)
}

// Window is how long a poll of j that finds it unfinished keeps asking
// within the same invocation, and how often; zero for a single ask.
func (p Policy) Window(j job.Job, now time.Time) (window, every time.Duration) {
	if p.Adaptive == nil {
		return 0, 0
	}
	return p.Adaptive.window(j, now)
}

// watchOverdue is the wait between reads of a followed job past its
// deadline: its own execution or the reconciler is about to end it, and
// polling faster would only cost transitions.
const watchOverdue = 30 * time.Second

// A follower reads a job that has run for t again after t/followGrowth,
// between Interval and maxFollowWait: a job that waits for a slot for
// hours is read a few hundred times, not thousands, which keeps the
// follower's execution history far below Step Functions' 25,000 events
// (docs/aws-limits.md), while a job of a minute is read every Interval.
const (
	followGrowth  = 20
	maxFollowWait = 5 * time.Minute
)

// Watch is the wait in seconds before a follower reads j's record again.
func (p Policy) Watch(j job.Job, now time.Time) int {
	d := max(p.Interval, MinTurn, min(now.Sub(j.CreatedAt)/followGrowth, maxFollowWait))
	if !now.Before(j.Deadline) {
		d = max(d, watchOverdue)
	}
	return int(d.Round(time.Second).Seconds())
}
