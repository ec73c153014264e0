package pollpolicy

import (
	"math"
	"slices"
	"time"

	"github.com/vidgen/vidgen/internal/catalog"
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
	// TailEvery, when set, keeps a Poll asking past To too, every
	// TailEvery within windows of Window, instead of waiting between
	// Polls: a second of a 128 MB Lambda costs a fifteenth of a
	// transition, so waiting inside the function is cheaper than a
	// wait-poll turn shorter than 45 s (docs/performance.md, design c).
	TailEvery time.Duration
	// TailUntil, when set with TailEvery, ends those windows once the job
	// is that old: past it the job is most likely one that never ends, and
	// it waits TailFactor × time taken between Polls instead, in the state
	// machine, where a wait of over 45 s costs less than the Lambda seconds
	// it replaces (three transitions against 45 s of a 128 MB Lambda).
	// Zero keeps asking until the deadline.
	TailUntil time.Duration
	// TailBeyond, when set, moves TailUntil to TailBeyond × the To
	// quantile of the model's times when that is later: ten minutes is
	// a stuck gen3a_turbo job (median 25 s) but half of Kling master's
	// usual 10-s clip (median 12½ min), which would then wait up to
	// MaxTail between Polls while it is most likely to end.
	TailBeyond float64
}

// tailUntil is the age past which a job of times ending by to (the To
// quantile) waits between Polls: TailUntil, or TailBeyond × to if later.
func (a *Adaptive) tailUntil(to time.Duration) time.Duration {
	return max(a.TailUntil, time.Duration(a.TailBeyond*float64(to)))
}

// DefaultAdaptive is the adaptive policy the benchmark chose (see
// docs/performance.md): short windows and waits between Polls in the state
// machine; LongPoll keeps asking within long windows instead.
func DefaultAdaptive() *Adaptive {
	return &Adaptive{
		From: 0.02, To: 0.97,
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

func (a *Adaptive) first(j job.Job, now time.Time, t Times) time.Duration {
	from, _ := t.Of(j.Request.Model).Range(j.Request.Duration, a.From, a.To)
	return max(from-elapsed(j, now), time.Second)
}

func (a *Adaptive) window(j job.Job, now time.Time, t Times) (time.Duration, time.Duration) {
	from, to := t.Of(j.Request.Model).Range(j.Request.Duration, a.From, a.To)
	e, until := elapsed(j, now), a.tailUntil(to)
	switch {
	case a.TailEvery > 0 && a.TailUntil > 0 && e >= until:
		return 0, 0
	case a.TailEvery > 0 && e >= to:
		return a.tailWindow(e, until), a.TailEvery
	case a.TailEvery > 0:
		// Asked early (the first wait is the submit function's, which
		// may know less): keep asking rather than pay a turn to wait.
		return a.tailWindow(e, until), a.Every
	case e < from-a.Every, e >= to:
		return 0, 0
	}
	return min(a.Window, to-e+a.Every), a.Every
}

// tailWindow is a TailEvery window of a job e old: Window, ending at
// until (tailUntil) if that comes first.
func (a *Adaptive) tailWindow(e, until time.Duration) time.Duration {
	if a.TailUntil > 0 {
		return min(a.Window, until-e)
	}
	return a.Window
}

func (a *Adaptive) next(j job.Job, now time.Time, t Times) time.Duration {
	from, to := t.Of(j.Request.Model).Range(j.Request.Duration, a.From, a.To)
	switch e := elapsed(j, now); {
	case e < from:
		return max(from-e, time.Second)
	case e < to, a.TailEvery > 0 && (a.TailUntil == 0 || e < a.tailUntil(to)):
		return time.Second // straight into the next window
	default:
		d := time.Duration(a.TailFactor * float64(e))
		return min(max(d, a.MinTail), a.MaxTail)
	}
}

// Times is a snapshot of the generation times a deployment learned for one
// model and video length (internal/gentime keeps them, in the job store):
// every decision about a job is made from the snapshot of the job's model
// and duration, passed in, so the policy itself holds nothing that
// changes. Before it has enough times it answers from the model's prior,
// the catalogue's expected time for that clip length
// ((*catalog.Model).PriorFor; the policy sets the job's model with Of); a
// snapshot of no model answers gen3a_turbo's (~25 s for a 5-s video), as
// does the zero Times.
//
// Besides times it holds bounds: a job found done at its very first ask
// says only that it took at most the time to that ask. Leaving such jobs
// out biases the sample towards slow jobs exactly when the first ask is
// late (an upstream faster than believed), and the first ask then stays
// late; the fit counts them as censored instead (see fit).
type Times struct {
	sorted []time.Duration
	atMost []time.Duration // sorted
	young  bool
	model  string // whose prior it answers before it has learned enough
}

// Of is t as a snapshot of model's times: its prior is model's.
func (t Times) Of(model string) Times {
	t.model = model
	return t
}

// minLearned is how many times and bounds a key needs before its own
// quantiles are used.
const minLearned = 20

// NewTimes is the snapshot of times, in any order; times that are not
// positive (an empty slot of the store's sample) are left out.
func NewTimes(times []time.Duration) Times {
	return NewCensoredTimes(times, nil)
}

// NewSample is the snapshot of a store's sample of slots places (see
// internal/gentime), its times and its bounds: while more than a tenth of
// its places are empty it is young, its times are those of the first jobs
// to finish, which are the faster ones, and its spread is taken as at
// least the prior's, so that the slower jobs still find the window open.
func NewSample(times, atMost []time.Duration, slots int) Times {
	t := NewCensoredTimes(times, atMost)
	t.young = 10*t.Len() < 9*slots
	return t
}

// NewCensoredTimes is the snapshot of times and of bounds (jobs that took
// at most that long), each in any order; values that are not positive are
// left out.
func NewCensoredTimes(times, atMost []time.Duration) Times {
	positive := func(ds []time.Duration) []time.Duration {
		out := make([]time.Duration, 0, len(ds))
		for _, d := range ds {
			if d > 0 {
				out = append(out, d)
			}
		}
		slices.Sort(out)
		return out
	}
	return Times{sorted: positive(times), atMost: positive(atMost)}
}

// Learned says whether the snapshot holds enough times and bounds for its
// own quantiles; if not, it answers the prior.
func (t Times) Learned() bool { return t.Len() >= minLearned }

// Len is how many times and bounds the snapshot holds.
func (t Times) Len() int { return len(t.sorted) + len(t.atMost) }

// Range returns the p and q quantiles of the times, for videos of duration
// seconds: of a log-normal fitted to their median and quartiles. The fit
// looks only at the middle half, so neither the fastest jobs (which the
// first poll catches late, so their times are overstated) nor the slowest
// (long tails) pull the range about.
func (t Times) Range(duration int, p, q float64) (time.Duration, time.Duration) {
	mu, sigma := t.fit(duration)
	if t.young && t.Len() >= minLearned {
		_, prior := t.priorFit(duration)
		sigma = max(sigma, prior)
	}
	return lognormal(mu, sigma, p), lognormal(mu, sigma, q)
}

// fit is the log-normal of the times (see Range), as the mean and
// deviation of their logarithms in nanoseconds: the prior for videos of
// duration seconds until enough are learned.
//
// With bounds among them it is the censored maximum-likelihood fit
// instead (censoredFit): the quartiles of the times alone would be those
// of the slower jobs.
func (t Times) fit(duration int) (mu, sigma float64) {
	if t.Len() < minLearned {
		return t.priorFit(duration)
	}
	if len(t.atMost) > 0 {
		return t.censoredFit(duration)
	}
	at := func(p float64) float64 {
		i := int(math.Round(p * float64(len(t.sorted)-1)))
		return float64(t.sorted[min(max(i, 0), len(t.sorted)-1)])
	}
	return math.Log(at(0.5)), (math.Log(at(0.75)) - math.Log(at(0.25))) / (2 * zQuartile)
}

// censoredTop is the share of the slowest observations the censored fit
// knows only as "took longer than the slowest of the rest", so that long
// tails do not widen it (as the quartile fit ignores them).
const censoredTop = 0.1

// censoredFit is the maximum-likelihood log-normal of the times, the
// bounds as left-censored times (a bound b: took at most b) and the
// slowest tenth of all as right-censored at the time below them, found by
// expectation–maximisation from the prior. A fixed number of rounds keeps
// it cheap and deterministic; it moves little after the first few.
func (t Times) censoredFit(duration int) (mu, sigma float64) {
	n := t.Len()
	top := int(censoredTop * float64(n)) // the slowest times, right-censored
	top = min(top, len(t.sorted)-1)
	exact := t.sorted[:len(t.sorted)-max(top, 0)]
	if len(exact) < 2 {
		// Hardly any job outlasted its first ask: the first ask is far
		// too late. Put the bounds' median at the 95th percentile with
		// the prior's shape, which brings it earlier.
		_, prior := t.priorFit(duration)
		return math.Log(float64(t.atMost[len(t.atMost)/2])) - prior*normalQuantile(0.95), prior
	}
	cut := math.Log(float64(exact[len(exact)-1]))
	mu, sigma = t.priorFit(duration)
	logs := func(ds []time.Duration) []float64 {
		out := make([]float64, len(ds))
		for i, d := range ds {
			out[i] = math.Log(float64(d))
		}
		return out
	}
	ys, lows := logs(exact), logs(t.atMost)
	for range 60 {
		var sum, sq float64
		for _, y := range ys {
			sum, sq = sum+y, sq+y*y
		}
		// A left-censored y ≤ a, and a right-censored y > cut: the
		// truncated normal's first two moments.
		for _, a := range lows {
			alpha := (a - mu) / sigma
			l := normalPDF(alpha) / max(normalCDF(alpha), 1e-12)
			m := mu - sigma*l
			sum, sq = sum+m, sq+m*m+sigma*sigma*max(1-alpha*l-l*l, 0)
		}
		if top > 0 {
			beta := (cut - mu) / sigma
			l := normalPDF(beta) / max(1-normalCDF(beta), 1e-12)
			m := mu + sigma*l
			v := sigma * sigma * max(1+beta*l-l*l, 0)
			sum, sq = sum+float64(top)*m, sq+float64(top)*(m*m+v)
		}
		mu = sum / float64(n)
		sigma = math.Sqrt(max(sq/float64(n)-mu*mu, 1e-6))
	}
	return mu, sigma
}

func normalPDF(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }

// normalQuantile is the standard normal's p quantile.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// zQuartile is the standard normal's third quartile.
const zQuartile = 0.6744897501960817

func lognormal(mu, sigma, p float64) time.Duration {
	z := math.Sqrt2 * math.Erfinv(2*min(max(p, 0.001), 0.999)-1)
	return time.Duration(math.Exp(mu + sigma*z)).Round(time.Millisecond)
}

// priorFit is a log-normal around the prior of t's model for videos of
// duration seconds (Prior), with σ = 0.35.
func (t Times) priorFit(duration int) (mu, sigma float64) {
	return math.Log(float64(Prior(t.model, duration))), priorSigma
}

// priorSigma is the prior's spread: the documented example runs give one
// time each, and gen3a_turbo's learned quartiles are about this far apart.
const priorSigma = 0.35

// Prior is the expected generation time of a clip of duration seconds by
// model: the catalogue's (*catalog.Model).PriorFor. A model the catalogue
// does not hold (none, in a test's job) gets gen3a_turbo's, vidgen's first
// model: 25 s for a 5-s video, 45 s for 10 s.
func Prior(model string, duration int) time.Duration {
	t, ok := catalog.TimingOf(model)
	if !ok {
		if t, ok = catalog.TimingOf(job.Model); !ok {
			// The built-in catalogue is data its tests parse; a build
			// whose catalogue does not parse still polls, from the first
			// model's documented times.
			return legacyPrior(duration)
		}
	}
	return t.PriorFor(duration)
}

// legacyPrior is gen3a_turbo's documented times, as the policy held them
// before the catalogue.
func legacyPrior(duration int) time.Duration {
	if duration >= 10 {
		return 45 * time.Second
	}
	return 25 * time.Second
}
