// Package polltest is test support for the poll policy's learned times: it
// makes snapshots of generation times and checks the log-normal they fit
// against values worked out independently of the code under test. Only
// tests import it.
package polltest

import (
	"math"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/pollpolicy"
)

// Seconds returns from, from+1, …, to seconds in a fixed scrambled order
// (a stride coprime with the count), so that sorting is exercised.
func Seconds(from, to int) []time.Duration {
	n := to - from + 1
	stride := 37
	for gcd(stride, n) != 1 {
		stride++
	}
	out := make([]time.Duration, n)
	for i := range n {
		out[i] = time.Duration(from+(i*stride)%n) * time.Second
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Repeat is n times d.
func Repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// Mid is the middle half of a key's recent times, which is all the learner
// fits: the sorted times at index round(p·(n−1)) for p 0.5, 0.25 and 0.75.
// The test cases work these out by hand.
type Mid struct{ Median, Q25, Q75 time.Duration }

// Middle is the Mid with the given median and quartiles, short for the
// tables that list many.
func Middle(median, q25, q75 time.Duration) Mid { return Mid{median, q25, q75} }

// zQuartile is the standard normal's third quartile.
const zQuartile = 0.6744897501960817

// z is the standard normal quantile of p clamped to [0.001, 0.999].
func z(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*min(max(p, 0.001), 0.999)-1)
}

// LognormalAt is the p quantile of the log-normal with the given median and
// σ, rounded to the millisecond.
func LognormalAt(median time.Duration, sigma, p float64) time.Duration {
	mu := math.Log(float64(median))
	return time.Duration(math.Exp(mu + sigma*z(p))).Round(time.Millisecond)
}

// Fit is what Range answers for p once a key's middle half is m: the p
// quantile of the log-normal with median m.Median and
// σ = (ln Q75 − ln Q25) / (2 × 0.6745). pollpolicy's TestTimesFitAnchors
// pins it to values worked out elsewhere.
func Fit(m Mid, p float64) time.Duration {
	sigma := (math.Log(float64(m.Q75)) - math.Log(float64(m.Q25))) / (2 * zQuartile)
	return LognormalAt(m.Median, sigma, p)
}

// Probes are the quantiles the tests ask Range for: outside [0, 1], at the
// clamps and across the range.
func Probes() []float64 {
	return []float64{-1, 0, 0.0005, 0.001, 0.01, 0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.97, 0.99, 0.999, 1, 2}
}

// WantFit checks that ts's Range for videos of duration seconds answers
// Fit(want) for every probe, and the median itself at 0.5.
func WantFit(t testing.TB, ts pollpolicy.Times, duration int, want Mid) {
	t.Helper()
	if m, m2 := ts.Range(duration, 0.5, 0.5); m != want.Median || m2 != want.Median {
		t.Errorf("Range(%d, 0.5, 0.5) = %v, %v; want the median %v", duration, m, m2, want.Median)
	}
	for _, p := range Probes() {
		from, to := ts.Range(duration, p, 1-p)
		if wantFrom, wantTo := Fit(want, p), Fit(want, 1-p); from != wantFrom || to != wantTo {
			t.Errorf("Range(%d, %v, %v) = %v, %v; want %v, %v (fitted to %+v)", duration, p, 1-p, from, to, wantFrom, wantTo, want)
		}
	}
}

// LongWindow is the window LearnedPolicy uses, longer than the
// default so that a single window spans the whole learned range.
const LongWindow = 120 * time.Second

// LearnedFrom and LearnedTo are LearnedPolicy's From (0.02) and To (0.97)
// quantiles for 5-s videos of job.Model.
const (
	LearnedFrom = 21361 * time.Millisecond
	LearnedTo   = 196359 * time.Millisecond
)

// LearnedTimes are 5-s generations of job.Model of 18..117 s: median
// 68 s, quartiles 43 s and 92 s, so LearnedPolicy's From is LearnedFrom
// and its To LearnedTo.
func LearnedTimes() pollpolicy.Times { return pollpolicy.NewTimes(Seconds(18, 117)) }

// LearnedPolicy is pollpolicy.Learning() with a LongWindow, for use with
// LearnedTimes. change, when not nil, adjusts the adaptive part before it
// is returned.
func LearnedPolicy(change func(*pollpolicy.Adaptive)) pollpolicy.Policy {
	p := pollpolicy.Learning()
	p.Adaptive.Window = LongWindow
	if change != nil {
		change(p.Adaptive)
	}
	return p
}
