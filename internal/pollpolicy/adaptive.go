package pollpolicy

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// Adaptive schedules polls around the generation times it has seen. It
// waits, without polling, until the earliest few percent of recent
// generations of that model and video length were done; then one Poll
// invocation keeps asking every Every while most of them finish (one
// invocation costs a state transition or three less than a wait-poll loop
// per ask, and a second of a 128 MB Lambda costs a fifteenth of a
// transition); past that it backs off in proportion to the time already
// taken, so a generation that never ends costs a few dozen polls, not
// hundreds.
type Adaptive struct {
	Learner *Learner
	// From and To are the quantiles of learned generation times between
	// which Poll keeps asking within one invocation (a window of asks).
	From, To float64
	// Every is the pause between asks within a window; Window bounds one
	// invocation's window, which must leave the invocation time to archive
	// a video found done (Poll's Lambda timeout is 170 s, the download's
	// 2 min).
	Every, Window time.Duration
	// TailFactor × time taken is the wait once past To, between MinTail
	// and MaxTail.
	TailFactor       float64
	MinTail, MaxTail time.Duration
}

// DefaultAdaptive is the adaptive policy the benchmark chose (see
// docs/performance.md).
func DefaultAdaptive() *Adaptive {
	return &Adaptive{
		Learner: NewLearner(256), From: 0.02, To: 0.97,
		Every: 2 * time.Second, Window: 30 * time.Second,
		TailFactor: 0.15, MinTail: 5 * time.Second, MaxTail: 10 * time.Second,
	}
}

// elapsed is how long j has been with the upstream.
func elapsed(j job.Job, now time.Time) time.Duration {
	since := j.CreatedAt
	if j.SubmitStarted != nil {
		since = *j.SubmitStarted
	}
	return now.Sub(since)
}

func (a *Adaptive) first(j job.Job, now time.Time) time.Duration {
	from, _ := a.Learner.Range(j.Request.Model, j.Request.Duration, a.From, a.To)
	return max(from-elapsed(j, now), time.Second)
}

func (a *Adaptive) window(j job.Job, now time.Time) (time.Duration, time.Duration) {
	from, to := a.Learner.Range(j.Request.Model, j.Request.Duration, a.From, a.To)
	e := elapsed(j, now)
	if e < from-a.Every || e >= to {
		return 0, 0
	}
	return min(a.Window, to-e+a.Every), a.Every
}

func (a *Adaptive) next(j job.Job, now time.Time) time.Duration {
	from, to := a.Learner.Range(j.Request.Model, j.Request.Duration, a.From, a.To)
	switch e := elapsed(j, now); {
	case e < from:
		return max(from-e, time.Second)
	case e < to:
		return time.Second // straight into the next window
	default:
		d := time.Duration(a.TailFactor * float64(e))
		return min(max(d, a.MinTail), a.MaxTail)
	}
}

// Learner keeps the most recent generation times per model and video
// length, and answers their quantiles. Before it has seen enough it
// answers from the upstream's documented times (~25 s for a 5-s video).
// It is safe for concurrent use. It learns in memory: in AWS each warm
// Poll function learns from the jobs it finishes, and a cold one starts
// from the documented times.
type Learner struct {
	size int

	mu     sync.Mutex
	recent map[learnKey]*window
}

type learnKey struct {
	model    string
	duration int
}

// window is a ring of recent times and, lazily, the same times sorted.
type window struct {
	times  []time.Duration
	next   int
	sorted []time.Duration // nil when stale
}

// minLearned is how many times a key needs before its own quantiles are
// used.
const minLearned = 20

// NewLearner keeps the last size times per key.
func NewLearner(size int) *Learner {
	return &Learner{size: max(size, minLearned), recent: map[learnKey]*window{}}
}

// Observe records that a generation of model and duration took d.
func (l *Learner) Observe(model string, duration int, d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := learnKey{model, duration}
	w := l.recent[k]
	if w == nil {
		w = &window{}
		l.recent[k] = w
	}
	if len(w.times) < l.size {
		w.times = append(w.times, d)
	} else {
		w.times[w.next] = d
		w.next = (w.next + 1) % l.size
	}
	w.sorted = nil
}

// Range returns the p and q quantiles of the times of model and duration:
// of a log-normal fitted to the recent times' median and quartiles. The fit
// looks only at the middle half, so neither the fastest jobs (which the
// first poll catches late, so their times are overstated) nor the slowest
// (long tails) pull the range about.
func (l *Learner) Range(model string, duration int, p, q float64) (time.Duration, time.Duration) {
	mu, sigma := l.fit(model, duration)
	return lognormal(mu, sigma, p), lognormal(mu, sigma, q)
}

// fit is the log-normal of the times of model and duration (see Range),
// as the mean and deviation of their logarithms in nanoseconds: the prior
// until enough are learned. A nil Learner answers the prior.
func (l *Learner) fit(model string, duration int) (mu, sigma float64) {
	if l == nil {
		return priorFit(duration)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.recent[learnKey{model, duration}]
	if w == nil || len(w.times) < minLearned {
		return priorFit(duration)
	}
	if w.sorted == nil {
		w.sorted = slices.Clone(w.times)
		slices.Sort(w.sorted)
	}
	at := func(p float64) float64 {
		i := int(math.Round(p * float64(len(w.sorted)-1)))
		return float64(w.sorted[min(max(i, 0), len(w.sorted)-1)])
	}
	return math.Log(at(0.5)), (math.Log(at(0.75)) - math.Log(at(0.25))) / (2 * zQuartile)
}

// zQuartile is the standard normal's third quartile.
const zQuartile = 0.6744897501960817

func lognormal(mu, sigma, p float64) time.Duration {
	z := math.Sqrt2 * math.Erfinv(2*min(max(p, 0.001), 0.999)-1)
	return time.Duration(math.Exp(mu + sigma*z)).Round(time.Millisecond)
}

// priorFit is a log-normal around the documented median (25 s for a 5-s
// video, 1.8× that for 10 s) with σ = 0.35.
func priorFit(duration int) (mu, sigma float64) {
	median := 25 * time.Second
	if duration >= 10 {
		median = 45 * time.Second
	}
	return math.Log(float64(median)), 0.35
}
