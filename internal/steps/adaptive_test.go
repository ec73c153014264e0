package steps_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
)

// secs is n seconds.
func secs(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }

// observeAll feeds l the times of model and duration in order.
func observeAll(l *steps.Learner, model string, duration int, times ...time.Duration) {
	for _, d := range times {
		l.Observe(model, duration, d)
	}
}

// seconds returns from, from+1, …, to seconds in a fixed scrambled order
// (a stride coprime with the count), so that sorting is exercised.
func seconds(from, to int) []time.Duration {
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

// ordered returns from, from+1, …, to seconds in order.
func ordered(from, to int) []time.Duration {
	out := make([]time.Duration, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*time.Second)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// concat joins lists of times.
func concat(lists ...[]time.Duration) []time.Duration {
	var out []time.Duration
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// mid is the middle half of a key's recent times, which is all the learner
// fits: the sorted times at index round(p·(n−1)) for p 0.5, 0.25 and 0.75.
// The test cases work these out by hand.
type mid struct{ median, q25, q75 time.Duration }

// zQuartile is the standard normal's third quartile.
const zQuartile = 0.6744897501960817

// z is the standard normal quantile of p clamped to [0.001, 0.999].
func z(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*min(max(p, 0.001), 0.999)-1)
}

// lognormalAt is the p quantile of the log-normal with the given median and
// σ, rounded to the millisecond.
func lognormalAt(median time.Duration, sigma, p float64) time.Duration {
	mu := math.Log(float64(median))
	return time.Duration(math.Exp(mu + sigma*z(p))).Round(time.Millisecond)
}

// fit is what Range answers for p once a key's middle half is m: the p
// quantile of the log-normal with median m.median and
// σ = (ln q75 − ln q25) / (2 × 0.6745). TestLearnerFitAnchors pins it to
// values worked out elsewhere.
func fit(m mid, p float64) time.Duration {
	sigma := (math.Log(float64(m.q75)) - math.Log(float64(m.q25))) / (2 * zQuartile)
	return lognormalAt(m.median, sigma, p)
}

// priorAt is what Range answers for p before a key has 20 times: the
// documented median (25 s; 45 s for videos of 10 s or more) with σ 0.35.
func priorAt(duration int, p float64) time.Duration {
	median := 25 * time.Second
	if duration >= 10 {
		median = 45 * time.Second
	}
	return lognormalAt(median, 0.35, p)
}

// probes are the quantiles the tests ask Range for: outside [0, 1], at the
// clamps and across the range.
var probes = []float64{-1, 0, 0.0005, 0.001, 0.01, 0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.97, 0.99, 0.999, 1, 2}

// wantFit checks that Range answers fit(want) for every probe, and the
// median itself at 0.5.
func wantFit(t *testing.T, l *steps.Learner, model string, duration int, want mid) {
	t.Helper()
	if m, m2 := l.Range(model, duration, 0.5, 0.5); m != want.median || m2 != want.median {
		t.Errorf("Range(%s, %d, 0.5, 0.5) = %v, %v; want the median %v", model, duration, m, m2, want.median)
	}
	for _, p := range probes {
		from, to := l.Range(model, duration, p, 1-p)
		if wantFrom, wantTo := fit(want, p), fit(want, 1-p); from != wantFrom || to != wantTo {
			t.Errorf("Range(%s, %d, %v, %v) = %v, %v; want %v, %v (fitted to %+v)", model, duration, p, 1-p, from, to, wantFrom, wantTo, want)
		}
	}
}

// wantPrior checks that Range answers the prior for every probe.
func wantPrior(t *testing.T, l *steps.Learner, model string, duration int) {
	t.Helper()
	for _, p := range probes {
		from, to := l.Range(model, duration, p, 1-p)
		if wantFrom, wantTo := priorAt(duration, p), priorAt(duration, 1-p); from != wantFrom || to != wantTo {
			t.Errorf("Range(%s, %d, %v, %v) = %v, %v; want the prior's %v, %v", model, duration, p, 1-p, from, to, wantFrom, wantTo)
		}
	}
}

// The helpers above agree with log-normal quantiles worked out
// independently (Python's statistics.NormalDist, rounded to the
// millisecond), so the tests below do not just restate the code.
func TestLearnerFitAnchors(t *testing.T) {
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		m    mid // zero: the 5-s prior
		p    float64
		want time.Duration
	}{
		{mid{11 * time.Second, 6 * time.Second, 15 * time.Second}, 0.001, ms(1348)},
		{mid{11 * time.Second, 6 * time.Second, 15 * time.Second}, 0.02, ms(2726)},
		{mid{11 * time.Second, 6 * time.Second, 15 * time.Second}, 0.97, ms(39465)},
		{mid{11 * time.Second, 6 * time.Second, 15 * time.Second}, 0.999, ms(89741)},
		{mid{51 * time.Second, 26 * time.Second, 75 * time.Second}, 0.02, ms(10165)},
		{mid{51 * time.Second, 26 * time.Second, 75 * time.Second}, 0.97, ms(223378)},
		{mid{68 * time.Second, 43 * time.Second, 92 * time.Second}, 0.02, ms(21361)},
		{mid{68 * time.Second, 43 * time.Second, 92 * time.Second}, 0.97, ms(196359)},
		{mid{50 * time.Second, 25 * time.Second, 50 * time.Second}, 0.02, ms(17405)},
		{mid{50 * time.Second, 25 * time.Second, 50 * time.Second}, 0.97, ms(131425)},
		{mid{20 * time.Second, 10 * time.Second, 40 * time.Second}, 0.25, ms(10000)},
		{mid{20 * time.Second, 10 * time.Second, 40 * time.Second}, 0.75, ms(40000)},
		{mid{20 * time.Second, 10 * time.Second, 40 * time.Second}, 0.97, ms(138179)},
		{mid{}, 0.001, ms(8476)},
		{mid{}, 0.02, ms(12183)},
		{mid{}, 0.97, ms(48287)},
		{mid{}, 0.999, ms(73733)},
	} {
		got := priorAt(5, tc.p)
		if tc.m != (mid{}) {
			got = fit(tc.m, tc.p)
		}
		if got != tc.want {
			t.Errorf("fit(%+v, %v) = %v, want %v", tc.m, tc.p, got, tc.want)
		}
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.001, ms(15258)}, {0.02, ms(21930)}, {0.5, 45 * time.Second}, {0.97, ms(86916)}, {0.999, ms(132720)}} {
		if got := priorAt(10, tc.p); got != tc.want {
			t.Errorf("priorAt(10, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// Before a key has 20 times, Range answers the documented prior: a
// log-normal with median 25 s (5-s videos) or 45 s (10-s videos), σ 0.35,
// rounded to the millisecond.
func TestLearnerPrior(t *testing.T) {
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name     string
		duration int
		p, q     float64
		from, to time.Duration
	}{
		{name: "5-s median", duration: 5, p: 0.5, q: 0.5, from: 25 * time.Second, to: 25 * time.Second},
		{name: "10-s median", duration: 10, p: 0.5, q: 0.5, from: 45 * time.Second, to: 45 * time.Second},
		{name: "longer than 10 s uses the 10-s median", duration: 20, p: 0.5, q: 0.5, from: 45 * time.Second, to: 45 * time.Second},
		{name: "other lengths use the 5-s median", duration: 7, p: 0.5, q: 0.5, from: 25 * time.Second, to: 25 * time.Second},
		{name: "5-s default range", duration: 5, p: 0.02, q: 0.97, from: ms(12183), to: ms(48287)},
		{name: "10-s default range", duration: 10, p: 0.02, q: 0.97, from: ms(21930), to: ms(86916)},
		{name: "5-s quartiles", duration: 5, p: 0.25, q: 0.75, from: ms(19743), to: ms(31657)},
		{name: "10-s quartiles", duration: 10, p: 0.25, q: 0.75, from: ms(35538), to: ms(56982)},
		{name: "5-s 10th percentile", duration: 5, p: 0.1, q: 0.5, from: ms(15964), to: 25 * time.Second},
		{name: "p clamped to 0.001 and 0.999", duration: 5, p: 0, q: 1, from: ms(8476), to: ms(73733)},
		{name: "out-of-range p clamped too", duration: 10, p: -3, q: 7, from: ms(15258), to: ms(132720)},
		{name: "inside the clamp", duration: 5, p: 0.0002, q: 0.9995, from: ms(8476), to: ms(73733)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := steps.NewLearner(256)
			if from, to := l.Range(job.Model, tc.duration, tc.p, tc.q); from != tc.from || to != tc.to {
				t.Errorf("Range(%d, %v, %v) = %v, %v; want %v, %v", tc.duration, tc.p, tc.q, from, to, tc.from, tc.to)
			}
		})
	}

	// The prior's quantiles rise strictly with p, below the median below
	// 0.5 and above it above, and are whole milliseconds.
	for _, duration := range []int{5, 10} {
		l := steps.NewLearner(256)
		wantPrior(t, l, job.Model, duration)
		median, _ := l.Range(job.Model, duration, 0.5, 0.5)
		var last time.Duration
		for i, p := range []float64{0.001, 0.01, 0.02, 0.1, 0.25, 0.49, 0.5, 0.51, 0.75, 0.9, 0.97, 0.99, 0.999} {
			got, _ := l.Range(job.Model, duration, p, p)
			if i > 0 && got <= last {
				t.Errorf("%d-s prior: quantile %v = %v, not above the previous %v", duration, p, got, last)
			}
			switch {
			case p < 0.5 && got >= median, p > 0.5 && got <= median:
				t.Errorf("%d-s prior: quantile %v = %v on the wrong side of the median %v", duration, p, got, median)
			}
			if got%time.Millisecond != 0 {
				t.Errorf("%d-s prior: quantile %v = %v, not whole milliseconds", duration, p, got)
			}
			last = got
		}
	}
}

// A key needs 20 positive times before its own fit replaces the prior.
func TestLearnerPriorUntilEnough(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		from, to time.Duration // Range(0, 1) after n times of 1 s, 2 s, …
		mid      mid           // zero: the prior
	}{
		{name: "none", n: 0, from: 8476 * time.Millisecond, to: 73733 * time.Millisecond},
		{name: "19", n: 19, from: 8476 * time.Millisecond, to: 73733 * time.Millisecond},
		// indices 10 (9.5 rounds up), 5 (4.75) and 14 (14.25)
		{name: "20", n: 20, from: 1348 * time.Millisecond, to: 89741 * time.Millisecond, mid: mid{11 * time.Second, 6 * time.Second, 15 * time.Second}},
		// indices 10, 5 and 15
		{name: "21", n: 21, from: 1163 * time.Millisecond, to: 104040 * time.Millisecond, mid: mid{11 * time.Second, 6 * time.Second, 16 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := steps.NewLearner(256)
			for i := 1; i <= tc.n; i++ {
				l.Observe(job.Model, 5, time.Duration(i)*time.Second)
			}
			if from, to := l.Range(job.Model, 5, 0, 1); from != tc.from || to != tc.to {
				t.Errorf("after %d times Range(0, 1) = %v, %v; want %v, %v", tc.n, from, to, tc.from, tc.to)
			}
			if tc.mid == (mid{}) {
				wantPrior(t, l, job.Model, 5)
			} else {
				wantFit(t, l, job.Model, 5, tc.mid)
			}
		})
	}
}

// symmetric is 101 times whose middle half is 10 s, 20 s and 40 s, so the
// fitted quartiles are those times themselves: 25 of fast, then 10 s at
// index 25, 24 of 15 s, 20 s at index 50, 24 of 30 s, 40 s at index 75 and
// 25 of slow. They are observed slowest first.
func symmetric(fast, slow time.Duration) []time.Duration {
	return concat(repeat(slow, 25), []time.Duration{40 * time.Second}, repeat(30*time.Second, 24),
		[]time.Duration{20 * time.Second}, repeat(15*time.Second, 24), []time.Duration{10 * time.Second}, repeat(fast, 25))
}

// Range fits a log-normal to the recent times' median and quartiles (the
// sorted times at index round(p·(n−1))) and answers its quantiles, with p
// clamped to [0.001, 0.999] and the answer rounded to the millisecond.
func TestLearnerFit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []time.Duration
		mid   mid
	}{
		// indices 50 (49.5 rounds up), 25 (24.75) and 74 (74.25)
		{name: "1..100 s", times: seconds(1, 100), mid: mid{51 * time.Second, 26 * time.Second, 75 * time.Second}},
		{name: "18..117 s", times: seconds(18, 117), mid: mid{68 * time.Second, 43 * time.Second, 92 * time.Second}},
		// indices 10, 5 and 14
		{name: "1..20 s", times: seconds(1, 20), mid: mid{11 * time.Second, 6 * time.Second, 15 * time.Second}},
		{name: "sub-second times", times: concat(repeat(1500*time.Millisecond, 10), repeat(2500*time.Millisecond, 10)),
			mid: mid{2500 * time.Millisecond, 1500 * time.Millisecond, 2500 * time.Millisecond}},
		{name: "all alike: σ 0", times: repeat(10*time.Second, 20), mid: mid{10 * time.Second, 10 * time.Second, 10 * time.Second}},
		{name: "symmetric", times: symmetric(5*time.Second, time.Hour), mid: mid{20 * time.Second, 10 * time.Second, 40 * time.Second}},
		{name: "the tails do not count", times: symmetric(time.Millisecond, 10*time.Hour), mid: mid{20 * time.Second, 10 * time.Second, 40 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := steps.NewLearner(256)
			observeAll(l, job.Model, 5, tc.times...)
			wantFit(t, l, job.Model, 5, tc.mid)
		})
	}

	// Concrete answers, worked out independently (see
	// TestLearnerFitAnchors).
	for _, tc := range []struct {
		name     string
		times    []time.Duration
		p, q     float64
		from, to time.Duration
	}{
		{name: "1..100 s, default range", times: seconds(1, 100), p: 0.02, q: 0.97, from: 10165 * time.Millisecond, to: 223378 * time.Millisecond},
		{name: "18..117 s, default range", times: seconds(18, 117), p: 0.02, q: 0.97, from: 21361 * time.Millisecond, to: 196359 * time.Millisecond},
		{name: "1..20 s, clamped", times: seconds(1, 20), p: -0.5, q: 1.5, from: 1348 * time.Millisecond, to: 89741 * time.Millisecond},
		{name: "symmetric: the quartiles are the times", times: symmetric(5*time.Second, time.Hour), p: 0.25, q: 0.75, from: 10 * time.Second, to: 40 * time.Second},
		{name: "symmetric, default range", times: symmetric(time.Millisecond, 10*time.Hour), p: 0.02, q: 0.97, from: 2423 * time.Millisecond, to: 138179 * time.Millisecond},
		{name: "σ 0: every quantile is the time", times: repeat(10*time.Second, 20), p: 0, q: 1, from: 10 * time.Second, to: 10 * time.Second},
		{name: "σ 0 with tails", times: concat(repeat(time.Second, 5), repeat(10*time.Second, 11), repeat(time.Hour, 4)), p: 0.02, q: 0.97, from: 10 * time.Second, to: 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := steps.NewLearner(256)
			observeAll(l, job.Model, 5, tc.times...)
			if from, to := l.Range(job.Model, 5, tc.p, tc.q); from != tc.from || to != tc.to {
				t.Errorf("Range(%v, %v) = %v, %v; want %v, %v", tc.p, tc.q, from, to, tc.from, tc.to)
			}
		})
	}

	// Learned quantiles rise strictly with p inside the clamp and stand
	// still outside it; the median is exactly the middle time.
	l := steps.NewLearner(256)
	observeAll(l, job.Model, 5, seconds(1, 100)...)
	var last time.Duration
	for i, p := range []float64{0.001, 0.01, 0.02, 0.1, 0.25, 0.49, 0.5, 0.51, 0.75, 0.9, 0.97, 0.99, 0.999} {
		got, _ := l.Range(job.Model, 5, p, p)
		if i > 0 && got <= last {
			t.Errorf("quantile %v = %v, not above the previous %v", p, got, last)
		}
		if p == 0.5 && got != 51*time.Second {
			t.Errorf("median = %v, want 51s", got)
		}
		last = got
	}
	for _, pair := range [][2]float64{{0, 0.001}, {-1, 0.0001}, {1, 0.999}, {3, 0.9999}} {
		a, _ := l.Range(job.Model, 5, pair[0], pair[0])
		b, _ := l.Range(job.Model, 5, pair[1], pair[1])
		if a != b {
			t.Errorf("Range at %v = %v but at %v = %v; both are clamped alike", pair[0], a, pair[1], b)
		}
	}

	// A new time counts at once (the sorted copy is not stale): with 0.5 s
	// and 500 s added there are 102 times, indices 51 (50.5 rounds up), 25
	// and 76 (75.75) of 0.5 s, 1 s, …, 100 s, 500 s.
	l.Observe(job.Model, 5, 500*time.Second)
	l.Observe(job.Model, 5, 500*time.Millisecond)
	wantFit(t, l, job.Model, 5, mid{51 * time.Second, 25 * time.Second, 76 * time.Second})
}

// Each model and video length learns on its own.
func TestLearnerKeys(t *testing.T) {
	l := steps.NewLearner(256)
	observeAll(l, job.Model, 5, repeat(10*time.Second, 20)...)
	observeAll(l, "other-model", 10, repeat(70*time.Second, 20)...)
	observeAll(l, "third-model", 5, repeat(3*time.Second, 19)...) // not enough
	observeAll(l, "fourth-model", 5, seconds(1, 20)...)

	for _, tc := range []struct {
		model    string
		duration int
		mid      mid // zero: the prior
	}{
		{job.Model, 5, mid{10 * time.Second, 10 * time.Second, 10 * time.Second}},
		{job.Model, 10, mid{}},
		{"other-model", 10, mid{70 * time.Second, 70 * time.Second, 70 * time.Second}},
		{"other-model", 5, mid{}},
		{"third-model", 5, mid{}}, // 19 times only
		{"fourth-model", 5, mid{11 * time.Second, 6 * time.Second, 15 * time.Second}},
		{"fourth-model", 10, mid{}},
		{"unknown", 10, mid{}},
	} {
		if tc.mid == (mid{}) {
			wantPrior(t, l, tc.model, tc.duration)
		} else {
			wantFit(t, l, tc.model, tc.duration, tc.mid)
		}
	}
	// The two learned keys with σ 0 answer their one time everywhere.
	if from, to := l.Range(job.Model, 5, 0.02, 0.97); from != 10*time.Second || to != 10*time.Second {
		t.Errorf("Range(%s, 5, 0.02, 0.97) = %v, %v; want 10s, 10s", job.Model, from, to)
	}
	if from, to := l.Range("other-model", 10, 0, 1); from != 70*time.Second || to != 70*time.Second {
		t.Errorf("Range(other-model, 10, 0, 1) = %v, %v; want 1m10s, 1m10s", from, to)
	}
}

// The ring keeps the last size times per key (at least 20); the fit sees
// only those.
func TestLearnerRing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		times []time.Duration // observed in this order
		mid   mid             // of the times kept
	}{
		{name: "full, not overflowed", size: 20, times: ordered(1, 20), mid: mid{11 * time.Second, 6 * time.Second, 15 * time.Second}},
		{name: "overflowed by two: 3..22 s", size: 20, times: ordered(1, 22), mid: mid{13 * time.Second, 8 * time.Second, 17 * time.Second}},
		// 1..18, 5, 6 sorted: 1, 2, 3, 4, 5, 5 (index 5), 6, 6, 7, 8, 9
		// (index 10), 10, 11, 12, 13 (index 14), …
		{name: "old extremes forgotten", size: 20, times: concat([]time.Duration{time.Hour, time.Millisecond}, ordered(1, 18), []time.Duration{5 * time.Second, 6 * time.Second}),
			mid: mid{9 * time.Second, 5 * time.Second, 13 * time.Second}},
		{name: "replaced in full: 21..40 s", size: 20, times: concat(seconds(1, 20), seconds(21, 40)), mid: mid{31 * time.Second, 26 * time.Second, 35 * time.Second}},
		{name: "replaced twice over: 41..60 s", size: 20, times: concat(repeat(time.Hour, 20), repeat(time.Minute, 20), seconds(41, 60)),
			mid: mid{51 * time.Second, 46 * time.Second, 55 * time.Second}},
		{name: "size below 20 keeps 20: 6..25 s", size: 5, times: ordered(1, 25), mid: mid{16 * time.Second, 11 * time.Second, 20 * time.Second}},
		{name: "size 0 keeps 20", size: 0, times: ordered(1, 20), mid: mid{11 * time.Second, 6 * time.Second, 15 * time.Second}},
		// 11..40 s: indices 15 (14.5 rounds up), 7 (7.25) and 22 (21.75)
		{name: "size 30: 11..40 s", size: 30, times: ordered(1, 40), mid: mid{26 * time.Second, 18 * time.Second, 33 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := steps.NewLearner(tc.size)
			observeAll(l, job.Model, 5, tc.times...)
			wantFit(t, l, job.Model, 5, tc.mid)
		})
	}
}

// Times of zero or less are not generations and are not counted.
func TestLearnerIgnoresNonPositive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []time.Duration
		mid   mid // zero: the prior
	}{
		{name: "19 good and zero and negatives: still the prior",
			times: concat(seconds(1, 19), []time.Duration{0, -time.Second, -time.Hour})},
		{name: "20 good among non-positive ones", times: concat([]time.Duration{0, -5 * time.Second}, seconds(1, 20), []time.Duration{0, -1}),
			mid: mid{11 * time.Second, 6 * time.Second, 15 * time.Second}},
		{name: "non-positive do not push good ones out of a full ring",
			times: concat(seconds(1, 20), repeat(0, 30), repeat(-time.Second, 5)),
			mid:   mid{11 * time.Second, 6 * time.Second, 15 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := steps.NewLearner(20)
			observeAll(l, job.Model, 5, tc.times...)
			if tc.mid == (mid{}) {
				wantPrior(t, l, job.Model, 5)
			} else {
				wantFit(t, l, job.Model, 5, tc.mid)
			}
		})
	}
}

// Observe and Range may run at once from many goroutines (run with -race).
func TestLearnerConcurrent(t *testing.T) {
	const (
		writers = 8
		each    = 32 // writers × each = the ring's size: nothing is dropped
		readers = 8
	)
	l := steps.NewLearner(writers * each)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for range each {
				l.Observe(job.Model, 5, time.Duration(g+1)*time.Second)
				l.Observe("other-model", 10, 70*time.Second)
			}
		})
	}
	otherPrior := [2]time.Duration{priorAt(10, 0.02), priorAt(10, 0.97)}
	for range readers {
		wg.Go(func() {
			for range 200 {
				// Whatever mix of 1..8 s the learner holds, the fit's σ is
				// at most ln 8 / 1.349, so To is under 8 s × 18.2.
				from, to := l.Range(job.Model, 5, 0.02, 0.97)
				if from <= 0 || from > to || to > 3*time.Minute {
					t.Errorf("Range(%s, 5) = %v, %v while learning", job.Model, from, to)
					return
				}
				// Only 70 s is ever seen: the prior until 20, then 70 s.
				from, to = l.Range("other-model", 10, 0.02, 0.97)
				if got := [2]time.Duration{from, to}; got != otherPrior && got != [2]time.Duration{70 * time.Second, 70 * time.Second} {
					t.Errorf("Range(other-model, 10) = %v, %v while learning; want the prior's %v or 70s", from, to, otherPrior)
					return
				}
			}
		})
	}
	wg.Wait()

	// 32 each of 1..8 s, 256 in all: indices 128 (127.5 rounds up) in the
	// 5-s block, 64 (63.75) in the 3-s one and 191 (191.25) in the 6-s one.
	wantFit(t, l, job.Model, 5, mid{5 * time.Second, 3 * time.Second, 6 * time.Second})
	wantFit(t, l, "other-model", 10, mid{70 * time.Second, 70 * time.Second, 70 * time.Second})
}

func TestAdaptivePolicyDefaults(t *testing.T) {
	a := steps.DefaultAdaptive()
	if a.Learner == nil || a.From != 0.02 || a.To != 0.97 || a.Every != 2*time.Second || a.Window != 30*time.Second ||
		a.TailFactor != 0.15 || a.MinTail != 5*time.Second || a.MaxTail != 10*time.Second {
		t.Errorf("DefaultAdaptive() = %+v", a)
	}
	if b := steps.DefaultAdaptive(); b.Learner == a.Learner {
		t.Error("two DefaultAdaptive share a Learner")
	}
	p := steps.AdaptivePolicy()
	d := steps.DefaultPolicy()
	if p.Adaptive == nil || p.Interval != d.Interval || p.BaseBackoff != d.BaseBackoff || p.MaxBackoff != d.MaxBackoff {
		t.Errorf("AdaptivePolicy() = %+v; want DefaultPolicy's interval and backoff with an Adaptive", p)
	}
	if d.Adaptive != nil {
		t.Errorf("DefaultPolicy().Adaptive = %+v, want nil", d.Adaptive)
	}
}

// What learnedPolicy's learner answers for 5-s videos (its 0.02 and 0.97
// quantiles), and the prior's for unlearned 10-s videos.
const (
	learnedFrom  = 21361 * time.Millisecond
	learnedTo    = 196359 * time.Millisecond
	priorFrom5   = 12183 * time.Millisecond
	priorFrom10  = 21930 * time.Millisecond
	priorTo10    = 86916 * time.Millisecond
	defaultEvery = 2 * time.Second
)

// learnedPolicy is AdaptivePolicy with a learner that has seen 5-s
// generations of 18..117 s: median 68 s, quartiles 43 s and 92 s, so From
// (0.02) is learnedFrom and To (0.97) learnedTo.
func learnedPolicy(change func(*steps.Adaptive)) steps.Policy {
	p := steps.AdaptivePolicy()
	p.Adaptive.Window = longWindow
	observeAll(p.Adaptive.Learner, job.Model, 5, seconds(18, 117)...)
	if change != nil {
		change(p.Adaptive)
	}
	return p
}

func TestLearnedPolicyRange(t *testing.T) {
	l := learnedPolicy(nil).Adaptive.Learner
	if from, to := l.Range(job.Model, 5, 0.02, 0.97); from != learnedFrom || to != learnedTo {
		t.Errorf("learnedPolicy's Range(0.02, 0.97) = %v, %v; want %v, %v", from, to, learnedFrom, learnedTo)
	}
	if from, to := l.Range(job.Model, 10, 0.02, 0.97); from != priorFrom10 || to != priorTo10 {
		t.Errorf("learnedPolicy's 10-s Range(0.02, 0.97) = %v, %v; want the prior's %v, %v", from, to, priorFrom10, priorTo10)
	}
	if from, _ := l.Range("other-model", 5, 0.02, 0.97); from != priorFrom5 {
		t.Errorf("learnedPolicy's Range(0.02) of another model = %v; want the prior's %v", from, priorFrom5)
	}
}

// policyJob is a 5-s job (unless seconds says otherwise) submitted at t0,
// created 5 s earlier, with the given deadline after t0.
func policyJob(seconds int, deadline time.Duration, submitted bool) job.Job {
	j := job.Job{
		ID: "job-policy", Status: job.Generating, Request: validRequest("a cat", seconds),
		CreatedAt: t0.Add(-5 * time.Second), Deadline: t0.Add(deadline),
	}
	if submitted {
		at := t0
		j.SubmitStarted = &at
	}
	return j
}

type policyCase struct {
	name      string
	policy    steps.Policy // zero: learnedPolicy(nil)
	seconds   int          // of video; 0: 5
	model     string       // "": job.Model
	deadline  time.Duration
	unclaimed bool          // no SubmitStarted: elapsed counts from CreatedAt (t0 − 5 s)
	at        time.Duration // now − t0
}

func (tc policyCase) setup() (steps.Policy, job.Job, time.Time) {
	p := tc.policy
	if p.Interval == 0 {
		p = learnedPolicy(nil)
	}
	seconds := tc.seconds
	if seconds == 0 {
		seconds = 5
	}
	deadline := tc.deadline
	if deadline == 0 {
		deadline = jobDeadline
	}
	j := policyJob(seconds, deadline, !tc.unclaimed)
	if tc.model != "" {
		j.Request.Model = tc.model
	}
	return p, j, t0.Add(tc.at)
}

// learnedFrom is 21.361 s and learnedTo 196.359 s.
func TestAdaptiveFirst(t *testing.T) {
	for _, tc := range []struct {
		policyCase
		want int
	}{
		{policyCase{name: "fresh job: the From quantile, rounded up"}, 22},
		{policyCase{name: "less what has elapsed, rounded up", at: secs(1.5)}, 20},                  // 19.861 s
		{policyCase{name: "a second and a half before From", at: learnedFrom - secs(1.5)}, 2},       // 1.5 s
		{policyCase{name: "at least a second", at: learnedFrom - 500*time.Millisecond}, 1},          // 0.5 s
		{policyCase{name: "past From", at: 60 * time.Second}, 1},                                    //
		{policyCase{name: "elapsed from CreatedAt without a claim", unclaimed: true}, 17},           // 16.361 s
		{policyCase{name: "clamped to a second past the deadline", deadline: 10 * time.Second}, 11}, //
		{policyCase{name: "clamped, fractional deadline", deadline: secs(10.5)}, 11},
		{policyCase{name: "deadline passed", deadline: 10 * time.Second, at: 15 * time.Second}, 1},
		{policyCase{name: "unlearned 5-s: the prior", policy: steps.AdaptivePolicy()}, 13}, // 12.183 s
		{policyCase{name: "unlearned 10-s: the prior", seconds: 10}, 22},                   // 21.930 s
		{policyCase{name: "unlearned model: the prior", model: "other-model"}, 13},         // 12.183 s
		{policyCase{name: "From 0.5 of the prior", policy: steps.Policy{Interval: 5 * time.Second, Adaptive: &steps.Adaptive{Learner: steps.NewLearner(20), From: 0.5, To: 0.97}}}, 25},
		{policyCase{name: "fixed policy", policy: steps.DefaultPolicy()}, 20},
		{policyCase{name: "fixed policy, 10-s", policy: steps.DefaultPolicy(), seconds: 10}, 35},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, j, now := tc.setup()
			if got := p.First(j, now); got != tc.want {
				t.Errorf("First at t0+%v = %d, want %d", tc.at, got, tc.want)
			}
		})
	}
}

// The watch opens Every before From and lasts until To plus Every, at
// most Window.
func TestAdaptiveWindow(t *testing.T) {
	every5 := func() steps.Policy { return learnedPolicy(func(a *steps.Adaptive) { a.Every = 5 * time.Second }) }
	for _, tc := range []struct {
		policyCase
		window, every time.Duration
	}{
		{policyCase: policyCase{name: "at the submit"}},
		{policyCase: policyCase{name: "just before From − Every", at: learnedFrom - defaultEvery - time.Millisecond}},
		{policyCase: policyCase{name: "at From − Every: capped at Window", at: learnedFrom - defaultEvery}, window: 120 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "at From", at: learnedFrom}, window: 120 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "at To + Every − Window", at: learnedTo + defaultEvery - 120*time.Second}, window: 120 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "midway: until To + Every", at: 100 * time.Second}, window: 98359 * time.Millisecond, every: 2 * time.Second},
		{policyCase: policyCase{name: "a second before To", at: learnedTo - time.Second}, window: 3 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "a millisecond before To", at: learnedTo - time.Millisecond}, window: 2001 * time.Millisecond, every: 2 * time.Second},
		{policyCase: policyCase{name: "at To", at: learnedTo}},
		{policyCase: policyCase{name: "long past To", at: 300 * time.Second}},
		{policyCase: policyCase{name: "capped by Window", at: learnedFrom,
			policy: learnedPolicy(func(a *steps.Adaptive) { a.Window = 30 * time.Second })}, window: 30 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "Every 5 s: before From − Every", at: learnedFrom - 5*time.Second - time.Millisecond, policy: every5()}},
		{policyCase: policyCase{name: "Every 5 s: at From − Every", at: learnedFrom - 5*time.Second, policy: every5()}, window: 120 * time.Second, every: 5 * time.Second},
		{policyCase: policyCase{name: "Every 5 s: until To + Every", at: 150 * time.Second, policy: every5()}, window: 51359 * time.Millisecond, every: 5 * time.Second},
		{policyCase: policyCase{name: "elapsed from CreatedAt without a claim", unclaimed: true, at: 100 * time.Second}, window: 93359 * time.Millisecond, every: 2 * time.Second},
		{policyCase: policyCase{name: "unclaimed: before the window", unclaimed: true, at: learnedFrom - defaultEvery - 5*time.Second - time.Millisecond}},
		{policyCase: policyCase{name: "prior: before", seconds: 10, at: priorFrom10 - defaultEvery - time.Millisecond}},
		{policyCase: policyCase{name: "prior: opens", seconds: 10, at: priorFrom10 - defaultEvery}, window: priorTo10 - priorFrom10 + 2*defaultEvery, every: 2 * time.Second}, // 68.986 s
		{policyCase: policyCase{name: "prior: inside", seconds: 10, at: 20 * time.Second}, window: 68916 * time.Millisecond, every: 2 * time.Second},
		{policyCase: policyCase{name: "prior: at To", seconds: 10, at: priorTo10}},
		{policyCase: policyCase{name: "fixed policy", policy: steps.DefaultPolicy(), at: 20 * time.Second}},
		{policyCase: policyCase{name: "fixed policy later", policy: steps.DefaultPolicy(), at: 60 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, j, now := tc.setup()
			if window, every := p.Window(j, now); window != tc.window || every != tc.every {
				t.Errorf("Window at t0+%v = %v, %v; want %v, %v", tc.at, window, every, tc.window, tc.every)
			}
		})
	}
}

func TestAdaptiveNext(t *testing.T) {
	tail := func(factor float64) steps.Policy {
		return learnedPolicy(func(a *steps.Adaptive) { a.TailFactor = factor })
	}
	for _, tc := range []struct {
		policyCase
		want int
	}{
		{policyCase{name: "before From: until From"}, 22},                                           // 21.361 s
		{policyCase{name: "before From, rounded up", at: secs(10.5)}, 11},                           // 10.861 s
		{policyCase{name: "just before From: a second", at: learnedFrom - 500*time.Millisecond}, 1}, //
		{policyCase{name: "at From", at: learnedFrom}, 1},
		{policyCase{name: "inside the range", at: 60 * time.Second}, 1},
		{policyCase{name: "just before To", at: learnedTo - time.Millisecond}, 1},
		{policyCase{name: "at To: TailFactor × 196.359 s = 29.5 s, capped at MaxTail", at: learnedTo}, 10},
		{policyCase{name: "long past To: MaxTail", at: 20 * time.Minute}, 10},
		{policyCase{name: "tail 0.03 at To: 5.89 s", policy: tail(0.03), at: learnedTo}, 6},
		{policyCase{name: "tail 0.04 at 200 s: 8 s", policy: tail(0.04), at: 200 * time.Second}, 8},
		{policyCase{name: "tail 0.04 at 210 s: 8.4 s", policy: tail(0.04), at: 210 * time.Second}, 9},
		{policyCase{name: "tail 0.05 at 300 s: 15 s, capped", policy: tail(0.05), at: 300 * time.Second}, 10},
		{policyCase{name: "tail 0.01 at To: 1.96 s, raised to MinTail", policy: tail(0.01), at: learnedTo}, 5},
		{policyCase{name: "elapsed from CreatedAt without a claim", unclaimed: true, at: 5 * time.Second}, 12}, // 11.361 s
		{policyCase{name: "before From, clamped to the deadline", deadline: 15 * time.Second}, 16},
		{policyCase{name: "tail clamped to the deadline", deadline: 203 * time.Second, at: learnedTo}, 7}, // 7.641 s left
		{policyCase{name: "deadline passed", deadline: 120 * time.Second, at: 200 * time.Second}, 1},
		{policyCase{name: "unlearned 10-s: until the prior's From", seconds: 10, at: 10 * time.Second}, 12}, // 21.930 − 10
		{policyCase{name: "unlearned 10-s: past the prior's To", seconds: 10, at: priorTo10}, 10},           // 13.04 s, capped
		{policyCase{name: "fixed policy", policy: steps.DefaultPolicy(), at: 10 * time.Second}, 5},
		{policyCase{name: "fixed policy, clamped", policy: steps.DefaultPolicy(), deadline: 12 * time.Second, at: 10 * time.Second}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, j, now := tc.setup()
			if got := p.Next(j, now); got != tc.want {
				t.Errorf("Next at t0+%v = %d, want %d", tc.at, got, tc.want)
			}
		})
	}
}

// watchLearner has seen 5-s generations of 5 s (25 times), 25 s (25) and
// 50 s (50): median (index 50) 50 s, quartiles (indices 25 and 74) 25 s and
// 50 s, so From (0.02) is watchFrom and To (0.97) watchTo.
//
// One more time t, 101 in all, lands at index 25 or 50, which the fit then
// reads: between 25 s and 50 s it is the median (mid{t, 25 s, 50 s}), and
// between 5 s and 25 s the first quartile (mid{25 s, t, 50 s}).
func watchLearner() *steps.Learner {
	l := steps.NewLearner(256)
	observeAll(l, job.Model, 5, repeat(50*time.Second, 50)...)
	observeAll(l, job.Model, 5, repeat(5*time.Second, 25)...)
	observeAll(l, job.Model, 5, repeat(25*time.Second, 25)...)
	return l
}

const (
	watchFrom = 17405 * time.Millisecond
	watchTo   = 131425 * time.Millisecond
)

// unlearned is watchLearner's middle half before it learns anything.
var unlearned = mid{50 * time.Second, 25 * time.Second, 50 * time.Second}

// learnedMedian and learnedQ25 are watchLearner's middle half after it
// observed t.
func learnedMedian(t time.Duration) mid { return mid{t, 25 * time.Second, 50 * time.Second} }
func learnedQ25(t time.Duration) mid    { return mid{25 * time.Second, t, 50 * time.Second} }

func TestWatchLearner(t *testing.T) {
	l := watchLearner()
	if from, to := l.Range(job.Model, 5, 0.02, 0.97); from != watchFrom || to != watchTo {
		t.Errorf("watchLearner's Range(0.02, 0.97) = %v, %v; want %v, %v", from, to, watchFrom, watchTo)
	}
	wantFit(t, l, job.Model, 5, unlearned)
	for _, tc := range []struct {
		t    time.Duration
		want mid
	}{
		{33 * time.Second, learnedMedian(33 * time.Second)},
		{40500 * time.Millisecond, learnedMedian(40500 * time.Millisecond)},
		{16405 * time.Millisecond, learnedQ25(16405 * time.Millisecond)},
		{14 * time.Second, learnedQ25(14 * time.Second)},
	} {
		l := watchLearner()
		l.Observe(job.Model, 5, tc.t)
		wantFit(t, l, job.Model, 5, tc.want)
	}
}

// longWindow is the watch window these tests use, longer than the
// default so that a single watch spans the whole learned range.
const longWindow = 120 * time.Second

func watchPolicy(l *steps.Learner, change func(*steps.Adaptive)) steps.Policy {
	p := steps.AdaptivePolicy()
	p.Adaptive.Learner, p.Adaptive.Window = l, longWindow
	if change != nil {
		change(p.Adaptive)
	}
	return p
}

// Poll keeps asking within one invocation while the learner says
// completion is due, and learns the middle of the span between the last ask
// that found the job unfinished and the one that found it done. The
// simulator queues 3 s, so sim:gen=N is done N+3 s after the submit at t0.
// watchFrom is 17.405 s and watchTo 131.425 s.
func TestPollAdaptiveWatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		prompt   string
		window   time.Duration // Adaptive.Window; 0: the default 120 s
		deadline time.Duration // 0: jobDeadline
		pollAt   time.Duration // since the submit
		// after the Poll
		asks    int
		doneAt  time.Duration // the clock, since the submit
		status  job.Status
		wait    int
		learned mid // the learner's middle half
	}{
		{name: "completes while watching", prompt: "sim:gen=30 a cat", pollAt: 20 * time.Second,
			// asks at 20, 22, …, 34 s; done at 33 s: learns (32 + 34) / 2
			asks: 8, doneAt: 34 * time.Second, status: job.Completed, learned: learnedMedian(33 * time.Second)},
		{name: "completes on the dot", prompt: "sim:gen=31 a cat", pollAt: 20 * time.Second,
			asks: 8, doneAt: 34 * time.Second, status: job.Completed, learned: learnedMedian(33 * time.Second)},
		{name: "completes between asks", prompt: "sim:gen=31.5 a cat", pollAt: 20 * time.Second,
			// done at 34.5 s, found at 36 s: learns (34 + 36) / 2
			asks: 9, doneAt: 36 * time.Second, status: job.Completed, learned: learnedMedian(35 * time.Second)},
		{name: "completes at an odd time", prompt: "sim:gen=38.2 a cat", pollAt: 20300 * time.Millisecond,
			// asks at 20.3, 22.3, …, 42.3 s; done at 41.2 s: learns 41.3 s
			asks: 12, doneAt: 42300 * time.Millisecond, status: job.Completed, learned: learnedMedian(41300 * time.Millisecond)},
		{name: "already complete at the very first ask: nothing learned", prompt: "sim:gen=17 a cat", pollAt: 20 * time.Second,
			asks: 1, doneAt: 20 * time.Second, status: job.Completed, learned: unlearned},
		{name: "watch opens Every before From", prompt: "sim:gen=14 a cat", pollAt: watchFrom - 2*time.Second,
			// asks at 15.405 s and 17.405 s; done at 17 s: learns 16.405 s
			asks: 2, doneAt: watchFrom, status: job.Completed, learned: learnedQ25(16405 * time.Millisecond)},
		{name: "too early to watch", prompt: "sim:gen=30 a cat", pollAt: watchFrom - 2*time.Second - time.Millisecond,
			// the next poll at From (2.001 s, rounded up), but a turn of the
			// loop lasts at least steps.MinTurn
			asks: 1, doneAt: watchFrom - 2*time.Second - time.Millisecond, status: job.Generating, wait: 5, learned: unlearned},
		{name: "fails while watching: nothing learned", prompt: "sim:error sim:gen=30 a cat", pollAt: 20 * time.Second,
			asks: 8, doneAt: 34 * time.Second, status: job.Failed, learned: unlearned},
		{name: "watch ends at To, then the tail", prompt: "sim:never a cat", pollAt: 20 * time.Second,
			// window min(120 s, 131.425 − 20 + 2 s): asks at 20, 22, …, 132 s;
			// then 0.15 × 132 s, capped at 10 s
			asks: 57, doneAt: 132 * time.Second, status: job.Generating, wait: 10, learned: unlearned},
		{name: "watch bounded by Window, then straight back", prompt: "sim:never a cat", window: 30 * time.Second, pollAt: 20 * time.Second,
			asks: 16, doneAt: 50 * time.Second, status: job.Generating, wait: 1, learned: unlearned},
		{name: "watch stops an ask before the deadline", prompt: "sim:never a cat", deadline: 40 * time.Second, pollAt: 20 * time.Second,
			// no ask at or past the deadline: the last is at 38 s
			asks: 10, doneAt: 38 * time.Second, status: job.Generating, wait: 1, learned: unlearned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			l := watchLearner()
			e.h.Policy = watchPolicy(l, func(a *steps.Adaptive) {
				if tc.window != 0 {
					a.Window = tc.window
				}
			})
			deadline := tc.deadline
			if deadline == 0 {
				deadline = jobDeadline
			}
			// Created 5 s before the submit: generation times count from
			// SubmitStarted.
			e.n++
			j := job.Job{
				ID: fmt.Sprintf("job-%d", e.n), Tenant: "tenant-a", Status: job.Queued, Request: validRequest(tc.prompt, 5),
				CreatedAt: t0.Add(-5 * time.Second), UpdatedAt: t0.Add(-5 * time.Second), Deadline: t0.Add(deadline),
			}
			if err := e.store.Create(t.Context(), j); err != nil {
				t.Fatal(err)
			}
			if out := e.submit(e.h, steps.Input{JobID: j.ID}); !out.Submitted || out.WaitSeconds != 18 {
				t.Fatalf("Submit = %+v; want submitted with a wait of 18 s (From, 17.405 s, rounded up)", out)
			}
			wantTime(t, "SubmitStarted", e.get(j.ID).SubmitStarted, t0)
			e.clk.Advance(tc.pollAt)

			out := e.poll(e.h, steps.Input{JobID: j.ID})

			want := steps.Output{JobID: j.ID, Status: tc.status, Submitted: true, WaitSeconds: tc.wait}
			wantOutput(t, out, want)
			if now := e.clk.Now(); !now.Equal(t0.Add(tc.doneAt)) {
				t.Errorf("clock at t0+%v after the Poll, want t0+%v", now.Sub(t0), tc.doneAt)
			}
			got := e.get(j.ID)
			if got.Status != tc.status || got.Polls != tc.asks {
				t.Errorf("record: status %q, %d polls; want %q, %d", got.Status, got.Polls, tc.status, tc.asks)
			}
			wantTime(t, "UpdatedAt", &got.UpdatedAt, t0.Add(tc.doneAt))
			if n := e.tr.requests(http.MethodGet); n != tc.asks {
				t.Errorf("%d polls sent, want %d", n, tc.asks)
			}
			if tc.status == job.Completed && (got.Video == nil || got.Video.URL == "") {
				t.Errorf("completed without a video: %+v", got.Video)
			}
			if tc.status == job.Failed {
				wantFailed(t, got, "ContentModeration")
			}
			wantFit(t, l, job.Model, 5, tc.learned)
		})
	}
}

// watchStep is one Poll of a job followed across invocations.
type watchStep struct {
	fault *simulator.Fault // for the Poll's first ask; nil: none
	// after the Poll
	at       time.Duration // the clock, since the submit
	status   job.Status    // of the Output and the record
	polls    int           // the record's
	updated  time.Duration // the record's UpdatedAt, since the submit
	wait     int
	failures int
	learned  mid
}

// A job that outlasts one Poll is polled again by the next, and the record
// counts every ask. When the first ask of a Poll finds the job done, the
// learner takes the middle of the span since the record's UpdatedAt, the
// last ask a Poll recorded.
func TestPollAdaptiveWatchAcrossInvocations(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prompt string
		window time.Duration // 0: the default 120 s
		pollAt time.Duration // the first Poll, since the submit; each later one after the wait
		steps  []watchStep
	}{
		{name: "a watch, then the next Poll's first ask", prompt: "sim:gen=37.5 a cat", window: 20 * time.Second, pollAt: 20 * time.Second,
			steps: []watchStep{
				// asks at 20, 22, …, 40 s
				{at: 40 * time.Second, status: job.Generating, polls: 11, updated: 40 * time.Second, wait: 1, learned: unlearned},
				// done at 40.5 s, found at 41 s: learns (40 + 41) / 2
				{at: 41 * time.Second, status: job.Completed, polls: 12, updated: 41 * time.Second, learned: learnedMedian(40500 * time.Millisecond)},
			}},
		{name: "two watches", prompt: "sim:gen=32.5 a cat", window: 10 * time.Second, pollAt: 20 * time.Second,
			steps: []watchStep{
				// asks at 20, 22, …, 30 s
				{at: 30 * time.Second, status: job.Generating, polls: 6, updated: 30 * time.Second, wait: 1, learned: unlearned},
				// asks at 31, 33, 35 and 37 s; done at 35.5 s: learns (35 + 37) / 2
				{at: 37 * time.Second, status: job.Completed, polls: 10, updated: 37 * time.Second, learned: learnedMedian(36 * time.Second)},
			}},
		{name: "a single early ask, then a Poll whose first ask finds it done", prompt: "sim:gen=14 a cat", pollAt: 10 * time.Second,
			steps: []watchStep{
				// too early to watch; the next poll at From: 7.405 s, rounded up
				{at: 10 * time.Second, status: job.Generating, polls: 1, updated: 10 * time.Second, wait: 8, learned: unlearned},
				// done at 17 s, found at 18 s: learns (10 + 18) / 2
				{at: 18 * time.Second, status: job.Completed, polls: 2, updated: 18 * time.Second, learned: learnedQ25(14 * time.Second)},
			}},
		{name: "a failed Poll in between records nothing", prompt: "sim:gen=14 a cat", pollAt: 10 * time.Second,
			steps: []watchStep{
				{at: 10 * time.Second, status: job.Generating, polls: 1, updated: 10 * time.Second, wait: 8, learned: unlearned},
				// jitter × 2 s, stretched to steps.MinTurn
				{fault: &simulator.Fault{Status: 500}, at: 18 * time.Second, status: job.Generating, polls: 1, updated: 10 * time.Second, wait: 5, failures: 1, learned: unlearned},
				// found done at 23 s: learns (10 + 23) / 2
				{at: 23 * time.Second, status: job.Completed, polls: 2, updated: 23 * time.Second, learned: learnedQ25(16500 * time.Millisecond)},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			l := watchLearner()
			e.h.Policy = watchPolicy(l, func(a *steps.Adaptive) {
				if tc.window != 0 {
					a.Window = tc.window
				}
			})
			j := e.submitted(validRequest(tc.prompt, 5), jobDeadline)
			e.clk.Advance(tc.pollAt)
			in := steps.Input{JobID: j.ID}
			sent := 0 // GETs
			for i, want := range tc.steps {
				if want.fault != nil {
					e.sim.Inject(simulator.PollEndpoint, *want.fault)
					sent++ // sent, not answered
				}
				out := e.poll(e.h, in)
				wantOutput(t, out, steps.Output{JobID: j.ID, Status: want.status, Submitted: true, WaitSeconds: want.wait, Failures: want.failures})
				if now := e.clk.Now(); !now.Equal(t0.Add(want.at)) {
					t.Errorf("after Poll %d: clock at t0+%v, want t0+%v", i+1, now.Sub(t0), want.at)
				}
				got := e.get(j.ID)
				if got.Polls != want.polls || got.Status != want.status {
					t.Errorf("after Poll %d: %d polls, status %q; want %d, %q", i+1, got.Polls, got.Status, want.polls, want.status)
				}
				wantTime(t, fmt.Sprintf("UpdatedAt after Poll %d", i+1), &got.UpdatedAt, t0.Add(want.updated))
				wantFit(t, l, job.Model, 5, want.learned)
				e.clk.Advance(time.Duration(out.WaitSeconds) * time.Second)
				in = carry(t, out)
			}
			sent += tc.steps[len(tc.steps)-1].polls
			if n := e.tr.requests(http.MethodGet); n != sent {
				t.Errorf("%d polls sent, want %d", n, sent)
			}
		})
	}
}

// failingUpdates is a store whose updates fail.
type failingUpdates struct{ steps.Store }

func (failingUpdates) Update(context.Context, string, job.Change) (job.Job, error) {
	return job.Job{}, errors.New("store unavailable")
}

// Poll learns only once the record says the job completed: a Poll whose
// update fails teaches nothing, and neither does the retry, whose first
// ask is then the job's first recorded one.
func TestPollAdaptiveLearnsOnlyRecorded(t *testing.T) {
	e := newEnv(t)
	l := watchLearner()
	e.h.Policy = watchPolicy(l, nil)
	j := e.submitted(validRequest("sim:gen=30 a cat", 5), jobDeadline) // done at 33 s
	e.clk.Advance(20 * time.Second)

	broken := *e.h
	broken.Store = failingUpdates{e.store}
	if out, err := broken.Poll(t.Context(), steps.Input{JobID: j.ID}); !isTransient(err) {
		t.Fatalf("Poll with a failing store = %+v, %v; want a transient error", out, err)
	}
	if now := e.clk.Now(); !now.Equal(t0.Add(34 * time.Second)) {
		t.Errorf("clock at t0+%v after the watch, want t0+34s", now.Sub(t0))
	}
	wantSame(t, e.get(j.ID), j)
	wantFit(t, l, job.Model, 5, unlearned)

	e.clk.Advance(time.Second)
	out := e.poll(e.h, steps.Input{JobID: j.ID})
	wantOutput(t, out, steps.Output{JobID: j.ID, Status: job.Completed, Submitted: true})
	if got := e.get(j.ID); got.Polls != 1 || got.Status != job.Completed {
		t.Errorf("record: %d polls, status %q; want 1, completed", got.Polls, got.Status)
	}
	wantFit(t, l, job.Model, 5, unlearned)
	if n := e.tr.requests(http.MethodGet); n != 9 {
		t.Errorf("%d polls sent, want 9", n)
	}
}

// A failed ask ends the watch; the Poll records the answers it had and
// returns no error, waiting at least as long as a Retry-After the upstream
// sent. A failure of the first ask is the usual transient failure.
func TestPollAdaptiveWatchFault(t *testing.T) {
	ok := simulator.Fault{} // answers normally
	for _, tc := range []struct {
		name     string
		prompt   string            // "": sim:gen=30 (done at 33 s)
		pollAt   time.Duration     // since the submit; 0: 20 s
		faults   []simulator.Fault // for the asks in order
		failures int               // of the Input
		// after the Poll
		asks   int           // answered
		at     time.Duration // the clock, since the submit
		status job.Status
		want   steps.Output // JobID and Submitted are filled in
	}{
		{name: "500 on the fourth ask", faults: []simulator.Fault{ok, ok, ok, {Status: 500}},
			asks: 3, at: 26 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 1}},
		{name: "reset on the second ask", faults: []simulator.Fault{ok, {Reset: true}},
			asks: 1, at: 22 * time.Second, status: job.Generating, // the turn began at 20 s: MinTurn
			want: steps.Output{Status: job.Generating, WaitSeconds: 3}},
		{name: "429 with Retry-After 30 on the third ask; earlier failures forgotten", faults: []simulator.Fault{ok, ok, {Status: 429, RetryAfter: "30"}}, failures: 2,
			asks: 2, at: 24 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 30}},
		{name: "429 with Retry-After as a date", faults: []simulator.Fault{ok, ok, {Status: 429, RetryAfter: t0.Add(54 * time.Second).Format(http.TimeFormat)}},
			asks: 2, at: 24 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 30}},
		{name: "429 without Retry-After", faults: []simulator.Fault{ok, ok, {Status: 429}},
			asks: 2, at: 24 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 1}},
		{name: "503 with Retry-After 7 on the second ask", faults: []simulator.Fault{ok, {Status: 503, RetryAfter: "7"}},
			asks: 1, at: 22 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 7}},
		{name: "Retry-After shorter than the tail: the tail", prompt: "sim:never a cat", pollAt: 125 * time.Second,
			// window 131.425 − 125 + 2 s: asks at 125, 127, …, 133 s; the
			// tail at 133 s is 0.15 × 133 s, capped at 10 s
			faults: []simulator.Fault{ok, ok, ok, ok, {Status: 429, RetryAfter: "2"}},
			asks:   4, at: 133 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 10}},
		{name: "Retry-After longer than the tail", prompt: "sim:never a cat", pollAt: 125 * time.Second,
			faults: []simulator.Fault{ok, ok, ok, ok, {Status: 429, RetryAfter: "45"}},
			asks:   4, at: 133 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 45}},
		{name: "malformed answer on the fifth ask", faults: []simulator.Fault{ok, ok, ok, ok, {Malformed: true}},
			asks: 4, at: 28 * time.Second, status: job.Generating,
			want: steps.Output{Status: job.Generating, WaitSeconds: 1}},
		{name: "404 on the second ask is not counted", faults: []simulator.Fault{ok, {Status: 404}},
			asks: 1, at: 22 * time.Second, status: job.Generating, // the turn began at 20 s: MinTurn
			want: steps.Output{Status: job.Generating, WaitSeconds: 3}},
		{name: "500 on the first ask: no watch", faults: []simulator.Fault{{Status: 500}},
			asks: 0, at: 20 * time.Second, status: job.Queued,
			want: steps.Output{Status: job.Queued, WaitSeconds: 5, Failures: 1}}, // jitter × 2 s, stretched to MinTurn
		{name: "429 with Retry-After 30 on the first ask: the backoff waits for it", faults: []simulator.Fault{{Status: 429, RetryAfter: "30"}},
			asks: 0, at: 20 * time.Second, status: job.Queued,
			want: steps.Output{Status: job.Queued, WaitSeconds: 30, Failures: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			l := watchLearner()
			e.h.Policy = watchPolicy(l, nil)
			prompt := tc.prompt
			if prompt == "" {
				prompt = "sim:gen=30 a cat"
			}
			pollAt := tc.pollAt
			if pollAt == 0 {
				pollAt = 20 * time.Second
			}
			j := e.submitted(validRequest(prompt, 5), jobDeadline)
			e.clk.Advance(pollAt)
			e.sim.Inject(simulator.PollEndpoint, tc.faults...)

			out, err := e.h.Poll(t.Context(), steps.Input{JobID: j.ID, Failures: tc.failures})
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}

			want := tc.want
			want.JobID, want.Submitted = j.ID, true
			wantOutput(t, out, want)
			if now := e.clk.Now(); !now.Equal(t0.Add(tc.at)) {
				t.Errorf("clock at t0+%v after the Poll, want t0+%v", now.Sub(t0), tc.at)
			}
			got := e.get(j.ID)
			if got.Status != tc.status || got.Polls != tc.asks {
				t.Errorf("record: status %q, %d polls; want %q, %d", got.Status, got.Polls, tc.status, tc.asks)
			}
			if tc.asks > 0 {
				wantTime(t, "UpdatedAt", &got.UpdatedAt, t0.Add(tc.at)) // the failed ask's time
			} else {
				wantSame(t, got, j)
			}
			if n := e.tr.requests(http.MethodGet); n != len(tc.faults) {
				t.Errorf("%d polls sent, want %d", n, len(tc.faults))
			}
			wantFit(t, l, job.Model, 5, unlearned)
		})
	}
}

// The fixed policy asks exactly once per Poll and leaves the clock alone.
func TestPollFixedPolicyAsksOnce(t *testing.T) {
	e := newEnv(t)
	if e.h.Policy.Adaptive != nil {
		t.Fatal("the harness's handlers run an adaptive policy")
	}
	j := e.submitted(validRequest("sim:gen=30 a cat", 5), jobDeadline) // done at 33 s
	e.clk.Advance(20 * time.Second)
	for i, want := range []struct {
		at     time.Duration
		status job.Status
		wait   int
	}{
		{20 * time.Second, job.Generating, 5},
		{25 * time.Second, job.Generating, 5},
		{30 * time.Second, job.Generating, 5},
		{35 * time.Second, job.Completed, 0},
	} {
		if now := e.clk.Now(); !now.Equal(t0.Add(want.at)) {
			t.Fatalf("Poll %d at t0+%v, want t0+%v", i+1, now.Sub(t0), want.at)
		}
		out := e.poll(e.h, steps.Input{JobID: j.ID})
		wantOutput(t, out, steps.Output{JobID: j.ID, Status: want.status, Submitted: true, WaitSeconds: want.wait})
		if now := e.clk.Now(); !now.Equal(t0.Add(want.at)) {
			t.Errorf("Poll %d moved the clock to t0+%v", i+1, now.Sub(t0))
		}
		if got := e.get(j.ID); got.Polls != i+1 || got.Status != want.status {
			t.Errorf("after Poll %d: %d polls, status %q; want %d, %q", i+1, got.Polls, got.Status, i+1, want.status)
		}
		if n := e.tr.requests(http.MethodGet); n != i+1 {
			t.Errorf("after Poll %d: %d asks sent, want %d", i+1, n, i+1)
		}
		e.clk.Advance(time.Duration(out.WaitSeconds) * time.Second)
	}
}
