package pollpolicy_test

import (
	"math"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/pollpolicy"
)

// logNormal is n times evenly spread over the quantiles of a log-normal
// with the given median and σ, slowest last.
func logNormal(n int, median time.Duration, sigma float64) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		z := math.Sqrt2 * math.Erfinv(2*(float64(i)+0.5)/float64(n)-1)
		out[i] = time.Duration(float64(median) * math.Exp(sigma*z)).Round(100 * time.Millisecond)
	}
	return out
}

// firstAsk splits times as the Poll learns them when the first ask comes
// at ask: the jobs done by then are bounds of ask, the others times.
func firstAsk(times []time.Duration, ask time.Duration) (learned, bounds []time.Duration) {
	for _, d := range times {
		if d <= ask {
			bounds = append(bounds, ask)
		} else {
			learned = append(learned, d)
		}
	}
	return learned, bounds
}

func within(got, want time.Duration, share float64) bool {
	return math.Abs(got.Seconds()-want.Seconds()) <= share*want.Seconds()
}

// An upstream faster than the first ask assumes (median 12 s, first ask at
// 12.2 s): half the jobs are done at their first ask. Their times alone
// put the window late; counted as bounds the fit finds the upstream's
// range, long tails and all.
func TestCensoredFitFindsAFasterUpstream(t *testing.T) {
	all := logNormal(100, 12*time.Second, 0.3)
	all[98], all[99] = 500*time.Second, 900*time.Second // long tails
	wantFrom := time.Duration(12 * float64(time.Second) * math.Exp(0.3*math.Sqrt2*math.Erfinv(2*0.02-1)))
	wantTo := time.Duration(12 * float64(time.Second) * math.Exp(0.3*math.Sqrt2*math.Erfinv(2*0.97-1)))
	learned, bounds := firstAsk(all, 12200*time.Millisecond)
	if len(bounds) < 40 || len(bounds) > 60 {
		t.Fatalf("%d bounds; the case wants about half", len(bounds))
	}
	from, to := pollpolicy.NewCensoredTimes(learned, bounds).Range(5, 0.02, 0.97)
	if !within(from, wantFrom, 0.1) || !within(to, wantTo, 0.1) {
		t.Errorf("censored fit's Range(0.02, 0.97) = %v, %v; want within 10 %% of %v, %v", from, to, wantFrom, wantTo)
	}
	if from, _ := pollpolicy.NewTimes(learned).Range(5, 0.02, 0.97); from < 10*time.Second {
		t.Errorf("the times alone put From at %v; the case wants them late (≥ 10 s)", from)
	}
}

// A sample of bounds only (every job done at its first ask) brings the
// first ask earlier than the bounds.
func TestCensoredFitOfBoundsOnly(t *testing.T) {
	ts := pollpolicy.NewCensoredTimes(nil, logNormal(30, 20*time.Second, 0.1))
	if from, _ := ts.Range(5, 0.02, 0.97); from >= 10*time.Second {
		t.Errorf("From = %v, want well before the bounds (~20 s)", from)
	}
}

// A young sample (more than a tenth of its places empty) holds the first
// jobs to finish, the faster ones: its spread is at least the prior's
// (σ 0.35). A full one is fitted as it is.
func TestYoungSampleIsAtLeastAsWideAsThePrior(t *testing.T) {
	narrow := logNormal(50, 20*time.Second, 0.1)
	spread := func(ts pollpolicy.Times) float64 {
		from, to := ts.Range(5, 0.25, 0.75)
		return math.Log(to.Seconds()/from.Seconds()) / (2 * 0.6744897501960817)
	}
	if s := spread(pollpolicy.NewSample(narrow, nil, 100)); s < 0.349 || s > 0.351 {
		t.Errorf("young sample's σ = %.3f, want the prior's 0.35", s)
	}
	if s := spread(pollpolicy.NewSample(narrow, nil, 55)); s > 0.15 {
		t.Errorf("full sample's σ = %.3f, want its own (~0.1)", s)
	}
	if s := spread(pollpolicy.NewSample(logNormal(50, 20*time.Second, 0.5), nil, 100)); s < 0.45 {
		t.Errorf("young wide sample's σ = %.3f, want its own (~0.5)", s)
	}
	if pollpolicy.NewSample(narrow[:19], nil, 100).Learned() || !pollpolicy.NewCensoredTimes(narrow[:10], narrow[:10]).Learned() {
		t.Error("Learned wants 20 times and bounds together")
	}
}
