// Package pollpolicy decides what a Poll does next: wait how long, end the
// job how, or archive its video and end it. It is pure: it reads a job
// snapshot and what the upstream answered, and holds no store and no
// clock (the time is an argument, as is the random source of backoff
// jitter). internal/steps applies its decisions.
package pollpolicy

import (
	"math"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// Policy decides how long to wait between polls and how to back off after
// transient failures.
type Policy struct {
	// FirstPoll is the wait after a submit before the first poll, per
	// requested video duration in seconds, for every model: a fixed
	// schedule, as a hand-made loop keeps (the adaptive policy's first
	// wait follows the model's prior and learned times instead).
	FirstPoll map[int]time.Duration
	// Interval is the wait between later polls.
	Interval time.Duration
	// BaseBackoff and MaxBackoff bound the jittered exponential backoff
	// after transient failures.
	BaseBackoff, MaxBackoff time.Duration
	// Adaptive, when set, schedules polls from the learned generation
	// times (Times) instead of FirstPoll and Interval (see adaptive.go).
	Adaptive *Adaptive
}

// Fixed polls first when a typical generation of that length is due (the
// upstream documents ~25 s for a 5-s video), then every 5 s.
func Fixed() Policy {
	return Policy{
		FirstPoll:   map[int]time.Duration{5: 20 * time.Second, 10: 35 * time.Second},
		Interval:    5 * time.Second,
		BaseBackoff: 2 * time.Second,
		MaxBackoff:  60 * time.Second,
	}
}

// Learning is what vidgen runs with: Fixed's backoff and follower
// interval, and polls scheduled by DefaultAdaptive. make bench compares it
// with fixed schedules (docs/performance.md).
func Learning() Policy {
	p := Fixed()
	p.Adaptive = DefaultAdaptive()
	return p
}

// LongPoll is design (c) of make bench: Learning's schedule, but each Poll keeps
// asking for up to LongPollWindow, every 1.5 s while a generation is likely
// to end and every 5 s past that, instead of waiting between Polls in the
// state machine. A second of a 128 MB Lambda costs a fifteenth of a state
// transition, and a wait-poll turn three: make bench measured it at 0.5×
// the cost per job of waiting between Polls, with a lower detection lag
// (docs/performance.md, "Cost and detection lag", design (c)).
//
// Once a job is LongPollTailUntil old it is most likely one that never
// ends (the reference workload's long tails end within 10 minutes): it
// then waits between Polls again, 15 % of its age and at most 2 minutes,
// which costs less than keeping a Lambda waiting (make bench: Lambda
// GB-s per job 5.1 → 3.7 with the lag's p99 unchanged).
func LongPoll() Policy {
	p := Learning()
	p.Adaptive.Every, p.Adaptive.TailEvery, p.Adaptive.Window = 1500*time.Millisecond, 5*time.Second, LongPollWindow
	p.Adaptive.TailUntil, p.Adaptive.MaxTail = LongPollTailUntil, 2*time.Minute
	p.Adaptive.TailBeyond = LongPollTailBeyond
	return p
}

// LongPollTailUntil is the age past which LongPoll's Polls ask once and
// wait in the state machine (Adaptive.TailUntil), unless the model's
// times run longer: then LongPollTailBeyond × their 97th percentile
// (Adaptive.TailBeyond; Kling master's 10-s clips keep asking until their
// deadline).
const (
	LongPollTailUntil  = 10 * time.Minute
	LongPollTailBeyond = 2
)

// LongPollWindow bounds one Poll's window of asks under LongPoll. With the
// archiving of a video found done and the record's update it would stay
// within a Poll function timeout of 900 s, Lambda's longest.
const LongPollWindow = 10 * time.Minute

// First is the wait in seconds before the first poll of j, t being the
// learned times of j's model and duration.
func (p Policy) First(j job.Job, now time.Time, t Times) int {
	if p.Adaptive != nil {
		return ClampToDeadline(p.Adaptive.first(j, now, t), j, now)
	}
	d, ok := p.FirstPoll[j.Request.Duration]
	if !ok {
		d = p.Interval
	}
	return ClampToDeadline(max(d, time.Second), j, now)
}

// Next is the wait in seconds before the poll after this one.
func (p Policy) Next(j job.Job, now time.Time, t Times) int {
	if p.Adaptive != nil {
		return ClampToDeadline(p.Adaptive.next(j, now, t), j, now)
	}
	return ClampToDeadline(max(p.Interval, time.Second), j, now)
}

// Window is how long a poll of j that finds it unfinished keeps asking
// within the same invocation, and how often; zero for a single ask.
func (p Policy) Window(j job.Job, now time.Time, t Times) (window, every time.Duration) {
	if p.Adaptive == nil {
		return 0, 0
	}
	return p.Adaptive.window(j, now, t)
}

// followOverdue is the wait between reads of a followed job past its
// deadline: its own execution or the reconciler is about to end it, and
// polling faster would only cost transitions.
const followOverdue = 30 * time.Second

// A follower reads a job that has run for t again after t/followGrowth,
// between Interval and maxFollowWait: a job that waits for a slot for
// hours is read a few hundred times, not thousands, which keeps the
// follower's execution history far below Step Functions' 25,000 events
// (docs/aws-limits.md), while a job of a minute is read every Interval.
const (
	followGrowth  = 20
	maxFollowWait = 5 * time.Minute
)

// FollowWait is the wait in seconds before a follower reads j's record
// again.
func (p Policy) FollowWait(j job.Job, now time.Time) int {
	d := max(p.Interval, MinTurn, min(now.Sub(j.CreatedAt)/followGrowth, maxFollowWait))
	if !now.Before(j.Deadline) {
		d = max(d, followOverdue)
	}
	return int(d.Round(time.Second).Seconds())
}

// Backoff is the wait in seconds after failures transient failures in a
// row: exponential with full jitter (rand returns a number in [0,1), drawn
// once), at least Retry-After, and never past the job's deadline (plus a
// second, so the next step sees it passed).
func (p Policy) Backoff(failures int, retryAfter time.Duration, j job.Job, now time.Time, rand func() float64) int {
	ceiling := math.Min(float64(p.MaxBackoff), float64(p.BaseBackoff)*math.Pow(2, float64(failures)))
	d := time.Duration(rand() * ceiling)
	d = max(d, retryAfter, time.Second)
	return ClampToDeadline(d, j, now)
}

// MinTurn is the shortest a turn of the state machine's loops lasts: a
// step plus the wait it asks for, except the last one before the job's
// deadline. It bounds a job's execution history: a turn costs 9 history
// events and Step Functions fails an execution past 25,000, so with the
// longest allowed deadline (template.yaml's JobDeadlineSeconds) the poll
// loop turns at most 6600 s / 5 s = 1320 times (docs/aws-limits.md). A
// shorter turn would save no money either: it costs 3 billed transitions,
// as much as a minute of a 128 MB Lambda, which is why Poll asks again
// about a job due soon within one invocation (its window) instead.
const MinTurn = 5 * time.Second

// ClampToDeadline rounds d up to whole seconds (what Wait takes) but never
// past a second after the deadline, so the step after the wait sees the
// deadline passed and ends the job on time.
func ClampToDeadline(d time.Duration, j job.Job, now time.Time) int {
	secs := math.Ceil(d.Seconds())
	if left := (j.Deadline.Sub(now) + time.Second).Seconds(); secs > left {
		secs = math.Floor(left)
	}
	return int(max(secs, 1))
}
