package pollpolicy_test

import (
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/pollpolicy/polltest"
)

// secs is n seconds.
func secs(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }

// ordered returns from, from+1, …, to seconds in order.
func ordered(from, to int) []time.Duration {
	out := make([]time.Duration, 0, to-from+1)
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*time.Second)
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

// priorAt is what Range answers for p before a key has 20 times: the
// documented median (25 s; 45 s for videos of 10 s or more) with σ 0.35.
func priorAt(duration int, p float64) time.Duration {
	median := 25 * time.Second
	if duration >= 10 {
		median = 45 * time.Second
	}
	return polltest.LognormalAt(median, 0.35, p)
}

// wantPrior checks that ts's Range answers the prior for every probe.
func wantPrior(t *testing.T, ts pollpolicy.Times, duration int) {
	t.Helper()
	for _, p := range polltest.Probes() {
		from, to := ts.Range(duration, p, 1-p)
		if wantFrom, wantTo := priorAt(duration, p), priorAt(duration, 1-p); from != wantFrom || to != wantTo {
			t.Errorf("Range(%d, %v, %v) = %v, %v; want the prior's %v, %v", duration, p, 1-p, from, to, wantFrom, wantTo)
		}
	}
}

// polltest.Fit and priorAt agree with log-normal quantiles worked out
// independently (Python's statistics.NormalDist, rounded to the
// millisecond), so the tests below do not just restate the code.
func TestTimesFitAnchors(t *testing.T) {
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	type quantile struct {
		p  float64
		ms int64 // the p quantile, in milliseconds
	}
	for _, tc := range []struct {
		m    polltest.Mid // zero: the 5-s prior
		want []quantile
	}{
		{polltest.Middle(11*time.Second, 6*time.Second, 15*time.Second), []quantile{{0.001, 1348}, {0.02, 2726}, {0.97, 39465}, {0.999, 89741}}},
		{polltest.Middle(51*time.Second, 26*time.Second, 75*time.Second), []quantile{{0.02, 10165}, {0.97, 223378}}},
		{polltest.Middle(68*time.Second, 43*time.Second, 92*time.Second), []quantile{{0.02, 21361}, {0.97, 196359}}},
		{polltest.Middle(50*time.Second, 25*time.Second, 50*time.Second), []quantile{{0.02, 17405}, {0.97, 131425}}},
		{polltest.Middle(20*time.Second, 10*time.Second, 40*time.Second), []quantile{{0.25, 10000}, {0.75, 40000}, {0.97, 138179}}},
		{polltest.Mid{}, []quantile{{0.001, 8476}, {0.02, 12183}, {0.97, 48287}, {0.999, 73733}}},
	} {
		for _, q := range tc.want {
			got := priorAt(5, q.p)
			if tc.m != (polltest.Mid{}) {
				got = polltest.Fit(tc.m, q.p)
			}
			if want := ms(q.ms); got != want {
				t.Errorf("polltest.Fit(%+v, %v) = %v, want %v", tc.m, q.p, got, want)
			}
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
func TestTimesPrior(t *testing.T) {
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	for _, tc := range []struct {
		name     string
		duration int
		p, q     float64
		from, to time.Duration
	}{
		{name: "5-s median", duration: 5, p: 0.5, q: 0.5, from: 25 * time.Second, to: 25 * time.Second},
		{name: "10-s median", duration: 10, p: 0.5, q: 0.5, from: 45 * time.Second, to: 45 * time.Second},
		// Lengths gen3a_turbo does not make follow the catalogue's
		// PriorFor: scaled from the longest point, interpolated between.
		{name: "longer than 10 s scales the 10-s median", duration: 20, p: 0.5, q: 0.5, from: 90 * time.Second, to: 90 * time.Second},
		{name: "between 5 and 10 s interpolates", duration: 7, p: 0.5, q: 0.5, from: 33 * time.Second, to: 33 * time.Second},
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
			var l pollpolicy.Times
			if from, to := l.Range(tc.duration, tc.p, tc.q); from != tc.from || to != tc.to {
				t.Errorf("Range(%d, %v, %v) = %v, %v; want %v, %v", tc.duration, tc.p, tc.q, from, to, tc.from, tc.to)
			}
		})
	}

	// The prior's quantiles rise strictly with p, below the median below
	// 0.5 and above it above, and are whole milliseconds.
	for _, duration := range []int{5, 10} {
		var l pollpolicy.Times
		wantPrior(t, l, duration)
		median, _ := l.Range(duration, 0.5, 0.5)
		var last time.Duration
		for i, p := range []float64{0.001, 0.01, 0.02, 0.1, 0.25, 0.49, 0.5, 0.51, 0.75, 0.9, 0.97, 0.99, 0.999} {
			got, _ := l.Range(duration, p, p)
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
func TestTimesPriorUntilEnough(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		from, to time.Duration // Range(0, 1) after n times of 1 s, 2 s, …
		mid      polltest.Mid  // zero: the prior
	}{
		{name: "none", n: 0, from: 8476 * time.Millisecond, to: 73733 * time.Millisecond},
		{name: "19", n: 19, from: 8476 * time.Millisecond, to: 73733 * time.Millisecond},
		// indices 10 (9.5 rounds up), 5 (4.75) and 14 (14.25)
		{name: "20", n: 20, from: 1348 * time.Millisecond, to: 89741 * time.Millisecond, mid: polltest.Middle(11*time.Second, 6*time.Second, 15*time.Second)},
		// indices 10, 5 and 15
		{name: "21", n: 21, from: 1163 * time.Millisecond, to: 104040 * time.Millisecond, mid: polltest.Middle(11*time.Second, 6*time.Second, 16*time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := pollpolicy.NewTimes(ordered(1, tc.n))
			if l.Len() != tc.n {
				t.Errorf("NewTimes of %d times holds %d", tc.n, l.Len())
			}
			if from, to := l.Range(5, 0, 1); from != tc.from || to != tc.to {
				t.Errorf("after %d times Range(0, 1) = %v, %v; want %v, %v", tc.n, from, to, tc.from, tc.to)
			}
			if tc.mid == (polltest.Mid{}) {
				wantPrior(t, l, 5)
			} else {
				polltest.WantFit(t, l, 5, tc.mid)
			}
		})
	}
}

// symmetric is 101 times whose middle half is 10 s, 20 s and 40 s, so the
// fitted quartiles are those times themselves: 25 of fast, then 10 s at
// index 25, 24 of 15 s, 20 s at index 50, 24 of 30 s, 40 s at index 75 and
// 25 of slow. They are observed slowest first.
func symmetric(fast, slow time.Duration) []time.Duration {
	return concat(polltest.Repeat(slow, 25), []time.Duration{40 * time.Second}, polltest.Repeat(30*time.Second, 24),
		[]time.Duration{20 * time.Second}, polltest.Repeat(15*time.Second, 24), []time.Duration{10 * time.Second}, polltest.Repeat(fast, 25))
}

// Range fits a log-normal to the recent times' median and quartiles (the
// sorted times at index round(p·(n−1))) and answers its quantiles, with p
// clamped to [0.001, 0.999] and the answer rounded to the millisecond.
func TestTimesFit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []time.Duration
		mid   polltest.Mid
	}{
		// indices 50 (49.5 rounds up), 25 (24.75) and 74 (74.25)
		{name: "1..100 s", times: polltest.Seconds(1, 100), mid: polltest.Middle(51*time.Second, 26*time.Second, 75*time.Second)},
		{name: "18..117 s", times: polltest.Seconds(18, 117), mid: polltest.Middle(68*time.Second, 43*time.Second, 92*time.Second)},
		// indices 10, 5 and 14
		{name: "1..20 s", times: polltest.Seconds(1, 20), mid: polltest.Middle(11*time.Second, 6*time.Second, 15*time.Second)},
		{name: "sub-second times", times: concat(polltest.Repeat(1500*time.Millisecond, 10), polltest.Repeat(2500*time.Millisecond, 10)),
			mid: polltest.Middle(2500*time.Millisecond, 1500*time.Millisecond, 2500*time.Millisecond)},
		{name: "all alike: σ 0", times: polltest.Repeat(10*time.Second, 20), mid: polltest.Middle(10*time.Second, 10*time.Second, 10*time.Second)},
		{name: "symmetric", times: symmetric(5*time.Second, time.Hour), mid: polltest.Middle(20*time.Second, 10*time.Second, 40*time.Second)},
		{name: "the tails do not count", times: symmetric(time.Millisecond, 10*time.Hour), mid: polltest.Middle(20*time.Second, 10*time.Second, 40*time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			polltest.WantFit(t, pollpolicy.NewTimes(tc.times), 5, tc.mid)
		})
	}

	// Concrete answers, worked out independently (see
	// TestTimesFitAnchors).
	for _, tc := range []struct {
		name     string
		times    []time.Duration
		p, q     float64
		from, to time.Duration
	}{
		{name: "1..100 s, default range", times: polltest.Seconds(1, 100), p: 0.02, q: 0.97, from: 10165 * time.Millisecond, to: 223378 * time.Millisecond},
		{name: "18..117 s, default range", times: polltest.Seconds(18, 117), p: 0.02, q: 0.97, from: 21361 * time.Millisecond, to: 196359 * time.Millisecond},
		{name: "1..20 s, clamped", times: polltest.Seconds(1, 20), p: -0.5, q: 1.5, from: 1348 * time.Millisecond, to: 89741 * time.Millisecond},
		{name: "symmetric: the quartiles are the times", times: symmetric(5*time.Second, time.Hour), p: 0.25, q: 0.75, from: 10 * time.Second, to: 40 * time.Second},
		{name: "symmetric, default range", times: symmetric(time.Millisecond, 10*time.Hour), p: 0.02, q: 0.97, from: 2423 * time.Millisecond, to: 138179 * time.Millisecond},
		{name: "σ 0: every quantile is the time", times: polltest.Repeat(10*time.Second, 20), p: 0, q: 1, from: 10 * time.Second, to: 10 * time.Second},
		{name: "σ 0 with tails", times: concat(polltest.Repeat(time.Second, 5), polltest.Repeat(10*time.Second, 11), polltest.Repeat(time.Hour, 4)), p: 0.02, q: 0.97, from: 10 * time.Second, to: 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if from, to := pollpolicy.NewTimes(tc.times).Range(5, tc.p, tc.q); from != tc.from || to != tc.to {
				t.Errorf("Range(%v, %v) = %v, %v; want %v, %v", tc.p, tc.q, from, to, tc.from, tc.to)
			}
		})
	}

	// Learned quantiles rise strictly with p inside the clamp and stand
	// still outside it; the median is exactly the middle time.
	l := pollpolicy.NewTimes(polltest.Seconds(1, 100))
	var last time.Duration
	for i, p := range []float64{0.001, 0.01, 0.02, 0.1, 0.25, 0.49, 0.5, 0.51, 0.75, 0.9, 0.97, 0.99, 0.999} {
		got, _ := l.Range(5, p, p)
		if i > 0 && got <= last {
			t.Errorf("quantile %v = %v, not above the previous %v", p, got, last)
		}
		if p == 0.5 && got != 51*time.Second {
			t.Errorf("median = %v, want 51s", got)
		}
		last = got
	}
	for _, pair := range [][2]float64{{0, 0.001}, {-1, 0.0001}, {1, 0.999}, {3, 0.9999}} {
		a, _ := l.Range(5, pair[0], pair[0])
		b, _ := l.Range(5, pair[1], pair[1])
		if a != b {
			t.Errorf("Range at %v = %v but at %v = %v; both are clamped alike", pair[0], a, pair[1], b)
		}
	}

	// Times in any order are sorted: with 0.5 s and 500 s after them
	// there are 102 times, indices 51 (50.5 rounds up), 25 and 76 (75.75)
	// of 0.5 s, 1 s, …, 100 s, 500 s.
	l = pollpolicy.NewTimes(concat(polltest.Seconds(1, 100), []time.Duration{500 * time.Second, 500 * time.Millisecond}))
	polltest.WantFit(t, l, 5, polltest.Middle(51*time.Second, 25*time.Second, 76*time.Second))
}

// Times of zero or less are not generations and are not counted.
func TestTimesIgnoresNonPositive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []time.Duration
		mid   polltest.Mid // zero: the prior
	}{
		{name: "19 good and zero and negatives: still the prior",
			times: concat(polltest.Seconds(1, 19), []time.Duration{0, -time.Second, -time.Hour})},
		{name: "20 good among non-positive ones", times: concat([]time.Duration{0, -5 * time.Second}, polltest.Seconds(1, 20), []time.Duration{0, -1}),
			mid: polltest.Middle(11*time.Second, 6*time.Second, 15*time.Second)},
		{name: "empty slots of a sample among good ones",
			times: concat(polltest.Repeat(0, 30), polltest.Seconds(1, 20), polltest.Repeat(0, 50)),
			mid:   polltest.Middle(11*time.Second, 6*time.Second, 15*time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := pollpolicy.NewTimes(tc.times)
			if tc.mid == (polltest.Mid{}) {
				wantPrior(t, l, 5)
			} else {
				polltest.WantFit(t, l, 5, tc.mid)
			}
		})
	}
}

func TestAdaptivePolicyDefaults(t *testing.T) {
	a := pollpolicy.DefaultAdaptive()
	if a.From != 0.02 || a.To != 0.97 || a.Every != 2*time.Second || a.Window != 30*time.Second ||
		a.TailFactor != 0.15 || a.MinTail != 5*time.Second || a.MaxTail != 10*time.Second {
		t.Errorf("DefaultAdaptive() = %+v", a)
	}
	if b := pollpolicy.DefaultAdaptive(); b == a {
		t.Error("two DefaultAdaptive share one Adaptive")
	}
	p := pollpolicy.Learning()
	d := pollpolicy.Fixed()
	if p.Adaptive == nil || p.Interval != d.Interval || p.BaseBackoff != d.BaseBackoff || p.MaxBackoff != d.MaxBackoff {
		t.Errorf("Learning() = %+v; want Fixed's interval and backoff with an Adaptive", p)
	}
	if d.Adaptive != nil {
		t.Errorf("Fixed().Adaptive = %+v, want nil", d.Adaptive)
	}
}

// What the prior answers for unlearned keys (its 0.02 and 0.97 quantiles),
// and the policies' default Every.
const (
	priorFrom5   = 12183 * time.Millisecond
	priorFrom10  = 21930 * time.Millisecond
	priorTo10    = 86916 * time.Millisecond
	defaultEvery = 2 * time.Second
)

// polltest.LearnedTimes answer LearnedFrom and LearnedTo for 5-s videos;
// no times answer the prior.
func TestLearnedPolicyRange(t *testing.T) {
	l := polltest.LearnedTimes()
	if from, to := l.Range(5, 0.02, 0.97); from != polltest.LearnedFrom || to != polltest.LearnedTo {
		t.Errorf("LearnedTimes' Range(0.02, 0.97) = %v, %v; want %v, %v", from, to, polltest.LearnedFrom, polltest.LearnedTo)
	}
	var none pollpolicy.Times
	if from, to := none.Range(10, 0.02, 0.97); from != priorFrom10 || to != priorTo10 {
		t.Errorf("no times' 10-s Range(0.02, 0.97) = %v, %v; want the prior's %v, %v", from, to, priorFrom10, priorTo10)
	}
	if from, _ := none.Range(5, 0.02, 0.97); from != priorFrom5 {
		t.Errorf("no times' Range(0.02) = %v; want the prior's %v", from, priorFrom5)
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
	policy    pollpolicy.Policy // zero: polltest.LearnedPolicy(nil)
	seconds   int               // of video; 0: 5
	model     string            // "": job.Model
	deadline  time.Duration
	unclaimed bool          // no SubmitStarted: elapsed counts from CreatedAt (t0 − 5 s)
	at        time.Duration // now − t0
	// prior: no times learned for the job's model and duration; otherwise
	// polltest.LearnedTimes were, for 5-s videos of job.Model.
	prior bool
}

func (tc policyCase) setup() (pollpolicy.Policy, job.Job, time.Time, pollpolicy.Times) {
	p := tc.policy
	if p.Interval == 0 {
		p = polltest.LearnedPolicy(nil)
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
	// As the store holds them: learned for one model and duration only.
	var ts pollpolicy.Times
	if !tc.prior && seconds == 5 && j.Request.Model == job.Model {
		ts = polltest.LearnedTimes()
	}
	return p, j, t0.Add(tc.at), ts
}

// polltest.LearnedFrom is 21.361 s and polltest.LearnedTo 196.359 s.
func TestAdaptiveFirst(t *testing.T) {
	for _, tc := range []struct {
		policyCase
		want int
	}{
		{policyCase{name: "fresh job: the From quantile, rounded up"}, 22},
		{policyCase{name: "less what has elapsed, rounded up", at: secs(1.5)}, 20},                     // 19.861 s
		{policyCase{name: "a second and a half before From", at: polltest.LearnedFrom - secs(1.5)}, 2}, // 1.5 s
		{policyCase{name: "at least a second", at: polltest.LearnedFrom - 500*time.Millisecond}, 1},    // 0.5 s
		{policyCase{name: "past From", at: 60 * time.Second}, 1},                                       //
		{policyCase{name: "elapsed from CreatedAt without a claim", unclaimed: true}, 17},              // 16.361 s
		{policyCase{name: "clamped to a second past the deadline", deadline: 10 * time.Second}, 11},    //
		{policyCase{name: "clamped, fractional deadline", deadline: secs(10.5)}, 11},
		{policyCase{name: "deadline passed", deadline: 10 * time.Second, at: 15 * time.Second}, 1},
		{policyCase{name: "unlearned 5-s: the prior", policy: pollpolicy.Learning(), prior: true}, 13}, // 12.183 s
		{policyCase{name: "unlearned 10-s: the prior", seconds: 10}, 22},                               // 21.930 s
		{policyCase{name: "unlearned model: the prior", model: "other-model"}, 13},                     // 12.183 s
		{policyCase{name: "From 0.5 of the prior", policy: pollpolicy.Policy{Interval: 5 * time.Second, Adaptive: &pollpolicy.Adaptive{From: 0.5, To: 0.97}}, prior: true}, 25},
		{policyCase{name: "fixed policy", policy: pollpolicy.Fixed()}, 20},
		{policyCase{name: "fixed policy, 10-s", policy: pollpolicy.Fixed(), seconds: 10}, 35},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, j, now, ts := tc.setup()
			if got := p.First(j, now, ts); got != tc.want {
				t.Errorf("First at t0+%v = %d, want %d", tc.at, got, tc.want)
			}
		})
	}
}

// The window opens Every before From and lasts until To plus Every, at
// most Window.
func TestAdaptiveWindow(t *testing.T) {
	every5 := func() pollpolicy.Policy {
		return polltest.LearnedPolicy(func(a *pollpolicy.Adaptive) { a.Every = 5 * time.Second })
	}
	for _, tc := range []struct {
		policyCase
		window, every time.Duration
	}{
		{policyCase: policyCase{name: "at the submit"}},
		{policyCase: policyCase{name: "just before From − Every", at: polltest.LearnedFrom - defaultEvery - time.Millisecond}},
		{policyCase: policyCase{name: "at From − Every: capped at Window", at: polltest.LearnedFrom - defaultEvery}, window: 120 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "at From", at: polltest.LearnedFrom}, window: 120 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "at To + Every − Window", at: polltest.LearnedTo + defaultEvery - 120*time.Second}, window: 120 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "midway: until To + Every", at: 100 * time.Second}, window: 98359 * time.Millisecond, every: 2 * time.Second},
		{policyCase: policyCase{name: "a second before To", at: polltest.LearnedTo - time.Second}, window: 3 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "a millisecond before To", at: polltest.LearnedTo - time.Millisecond}, window: 2001 * time.Millisecond, every: 2 * time.Second},
		{policyCase: policyCase{name: "at To", at: polltest.LearnedTo}},
		{policyCase: policyCase{name: "long past To", at: 300 * time.Second}},
		{policyCase: policyCase{name: "capped by Window", at: polltest.LearnedFrom,
			policy: polltest.LearnedPolicy(func(a *pollpolicy.Adaptive) { a.Window = 30 * time.Second })}, window: 30 * time.Second, every: 2 * time.Second},
		{policyCase: policyCase{name: "Every 5 s: before From − Every", at: polltest.LearnedFrom - 5*time.Second - time.Millisecond, policy: every5()}},
		{policyCase: policyCase{name: "Every 5 s: at From − Every", at: polltest.LearnedFrom - 5*time.Second, policy: every5()}, window: 120 * time.Second, every: 5 * time.Second},
		{policyCase: policyCase{name: "Every 5 s: until To + Every", at: 150 * time.Second, policy: every5()}, window: 51359 * time.Millisecond, every: 5 * time.Second},
		{policyCase: policyCase{name: "elapsed from CreatedAt without a claim", unclaimed: true, at: 100 * time.Second}, window: 93359 * time.Millisecond, every: 2 * time.Second},
		{policyCase: policyCase{name: "unclaimed: before the window", unclaimed: true, at: polltest.LearnedFrom - defaultEvery - 5*time.Second - time.Millisecond}},
		{policyCase: policyCase{name: "prior: before", seconds: 10, at: priorFrom10 - defaultEvery - time.Millisecond}},
		{policyCase: policyCase{name: "prior: opens", seconds: 10, at: priorFrom10 - defaultEvery}, window: priorTo10 - priorFrom10 + 2*defaultEvery, every: 2 * time.Second}, // 68.986 s
		{policyCase: policyCase{name: "prior: inside", seconds: 10, at: 20 * time.Second}, window: 68916 * time.Millisecond, every: 2 * time.Second},
		{policyCase: policyCase{name: "prior: at To", seconds: 10, at: priorTo10}},
		{policyCase: policyCase{name: "fixed policy", policy: pollpolicy.Fixed(), at: 20 * time.Second}},
		{policyCase: policyCase{name: "fixed policy later", policy: pollpolicy.Fixed(), at: 60 * time.Second}},
		// With TailEvery every Poll keeps asking for a whole Window: at
		// Every until To, at TailEvery past it.
		{policyCase: policyCase{name: "TailEvery: at the submit", policy: tailEvery()}, window: 12 * time.Minute, every: 2 * time.Second},
		{policyCase: policyCase{name: "TailEvery: inside the range", at: 100 * time.Second, policy: tailEvery()}, window: 12 * time.Minute, every: 2 * time.Second},
		{policyCase: policyCase{name: "TailEvery: at To", at: polltest.LearnedTo, policy: tailEvery()}, window: 12 * time.Minute, every: 5 * time.Second},
		{policyCase: policyCase{name: "TailEvery: long past To", at: 20 * time.Minute, policy: tailEvery()}, window: 12 * time.Minute, every: 5 * time.Second},
		// TailUntil ends the windows there: one that would run past it
		// stops at it, and past it a Poll asks once.
		{policyCase: policyCase{name: "TailUntil: at the submit", policy: tailUntil()}, window: 12 * time.Minute, every: 2 * time.Second},
		{policyCase: policyCase{name: "TailUntil: a window ends at it", at: 10 * time.Minute, policy: tailUntil()}, window: 5 * time.Minute, every: 5 * time.Second},
		{policyCase: policyCase{name: "TailUntil: at it", at: 15 * time.Minute, policy: tailUntil()}},
		{policyCase: policyCase{name: "TailUntil: past it", at: 20 * time.Minute, policy: tailUntil()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, j, now, ts := tc.setup()
			if window, every := p.Window(j, now, ts); window != tc.window || every != tc.every {
				t.Errorf("Window at t0+%v = %v, %v; want %v, %v", tc.at, window, every, tc.window, tc.every)
			}
		})
	}
}

func TestAdaptiveNext(t *testing.T) {
	tail := func(factor float64) pollpolicy.Policy {
		return polltest.LearnedPolicy(func(a *pollpolicy.Adaptive) { a.TailFactor = factor })
	}
	for _, tc := range []struct {
		policyCase
		want int
	}{
		{policyCase{name: "before From: until From"}, 22},                                                    // 21.361 s
		{policyCase{name: "before From, rounded up", at: secs(10.5)}, 11},                                    // 10.861 s
		{policyCase{name: "just before From: a second", at: polltest.LearnedFrom - 500*time.Millisecond}, 1}, //
		{policyCase{name: "at From", at: polltest.LearnedFrom}, 1},
		{policyCase{name: "inside the range", at: 60 * time.Second}, 1},
		{policyCase{name: "just before To", at: polltest.LearnedTo - time.Millisecond}, 1},
		{policyCase{name: "at To: TailFactor × 196.359 s = 29.5 s, capped at MaxTail", at: polltest.LearnedTo}, 10},
		{policyCase{name: "long past To: MaxTail", at: 20 * time.Minute}, 10},
		{policyCase{name: "tail 0.03 at To: 5.89 s", policy: tail(0.03), at: polltest.LearnedTo}, 6},
		{policyCase{name: "tail 0.04 at 200 s: 8 s", policy: tail(0.04), at: 200 * time.Second}, 8},
		{policyCase{name: "tail 0.04 at 210 s: 8.4 s", policy: tail(0.04), at: 210 * time.Second}, 9},
		{policyCase{name: "tail 0.05 at 300 s: 15 s, capped", policy: tail(0.05), at: 300 * time.Second}, 10},
		{policyCase{name: "tail 0.01 at To: 1.96 s, raised to MinTail", policy: tail(0.01), at: polltest.LearnedTo}, 5},
		{policyCase{name: "elapsed from CreatedAt without a claim", unclaimed: true, at: 5 * time.Second}, 12}, // 11.361 s
		{policyCase{name: "before From, clamped to the deadline", deadline: 15 * time.Second}, 16},
		{policyCase{name: "tail clamped to the deadline", deadline: 203 * time.Second, at: polltest.LearnedTo}, 7}, // 7.641 s left
		{policyCase{name: "deadline passed", deadline: 120 * time.Second, at: 200 * time.Second}, 1},
		{policyCase{name: "unlearned 10-s: until the prior's From", seconds: 10, at: 10 * time.Second}, 12}, // 21.930 − 10
		{policyCase{name: "unlearned 10-s: past the prior's To", seconds: 10, at: priorTo10}, 10},           // 13.04 s, capped
		{policyCase{name: "fixed policy", policy: pollpolicy.Fixed(), at: 10 * time.Second}, 5},
		{policyCase{name: "fixed policy, clamped", policy: pollpolicy.Fixed(), deadline: 12 * time.Second, at: 10 * time.Second}, 3},
		{policyCase{name: "TailEvery: before From, until From", policy: tailEvery()}, 22},
		{policyCase{name: "TailEvery: past To, straight into the next window", policy: tailEvery(), at: 20 * time.Minute}, 1},
		{policyCase{name: "TailUntil: before it, straight into the next window", policy: tailUntil(), at: 14 * time.Minute}, 1},
		{policyCase{name: "TailUntil: past it, TailFactor × age: 0.15 × 16 min = 144 s, capped at MaxTail", policy: tailUntil(), at: 16 * time.Minute}, 120},
		{policyCase{name: "TailUntil: past it, clamped to the deadline", policy: tailUntil(), at: 29 * time.Minute}, 61}, // a second past it, as ClampToDeadline does
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, j, now, ts := tc.setup()
			if got := p.Next(j, now, ts); got != tc.want {
				t.Errorf("Next at t0+%v = %d, want %d", tc.at, got, tc.want)
			}
		})
	}
}

// tailUntil is tailEvery whose windows end at 15 minutes; past that it
// waits 15 % of the job's age between Polls, at most 2 minutes.
func tailUntil() pollpolicy.Policy {
	return polltest.LearnedPolicy(func(a *pollpolicy.Adaptive) {
		a.TailEvery, a.Window, a.TailUntil, a.MaxTail = 5*time.Second, 12*time.Minute, 15*time.Minute, 2*time.Minute
	})
}

// t0 is when the jobs of these tests were submitted.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// jobDeadline is how long the jobs of these tests may take.
const jobDeadline = 30 * time.Minute

func validRequest(prompt string, seconds int) job.Request {
	return job.Request{Model: job.Model, Prompt: prompt, ImageURL: "https://example.com/cat.png", AspectRatio: "16:9", Duration: seconds}
}

// tailEvery is the learned policy asking past To too, every 5 s, in
// windows of 12 minutes (docs/performance.md, design (c)).
func tailEvery() pollpolicy.Policy {
	return polltest.LearnedPolicy(func(a *pollpolicy.Adaptive) { a.TailEvery, a.Window = 5*time.Second, 12*time.Minute })
}
