package pollpolicy

import (
	"math"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// ETAConfidence is the probability that a job completes within the
// central interval an Estimate gives.
const ETAConfidence = 0.8

// etaCutoff is how far into the model's tail a job may be before ETA gives
// up: past its 99.9th percentile the fit says nothing credible about when
// it ends (it may be stuck, and its deadline will end it).
const etaCutoff = 0.999

// Estimate is when a job is expected to complete (At, the median) and the
// central interval it completes within with probability Confidence.
type Estimate struct {
	At, Earliest, Latest time.Time
	Confidence           float64
}

// ETA estimates when j completes, seen at now, from the completion-time
// model the policy polls by (the log-normal of t, the learned times of j's
// model and duration, or the prior before enough are learned, as for a
// fixed policy). A job with the upstream already for a while is estimated from
// the model given that it has not ended yet, so its estimate moves later
// as it runs rather than into the past. A job not submitted yet is
// estimated as if submitted now. There is no estimate (false) for a job
// that ended or waits for a slot, nor for one that has outlasted nearly
// every generation the model knows.
func (p Policy) ETA(j job.Job, now time.Time, t Times) (Estimate, bool) {
	if j.Status.Terminal() || j.Waiting {
		return Estimate{}, false
	}
	if p.Adaptive == nil {
		t = Times{}
	}
	mu, sigma := t.Of(j.Request.Model).fit(j.Request.Duration)
	// Learned times all alike fit σ = 0; keep a little spread so the
	// conditioning below stays defined.
	sigma = max(sigma, minETASigma)
	since := now
	if j.UpstreamID != "" && j.SubmitStarted != nil {
		since = *j.SubmitStarted
	}
	ran := now.Sub(since)
	done := 0.0 // the model's share of generations done within ran
	if ran > 0 {
		done = normalCDF((math.Log(float64(ran)) - mu) / sigma)
	}
	if done > etaCutoff {
		return Estimate{}, false
	}
	// The q quantile of the time taken, given that it exceeds ran.
	at := func(q float64) time.Time {
		z := math.Sqrt2 * math.Erfinv(2*(done+q*(1-done))-1)
		return since.Add(time.Duration(math.Exp(mu + sigma*z))).Round(time.Second)
	}
	tail := (1 - ETAConfidence) / 2
	return Estimate{At: at(0.5), Earliest: at(tail), Latest: at(1 - tail), Confidence: ETAConfidence}, true
}

// minETASigma is the least spread ETA assumes: 5 % around the median.
const minETASigma = 0.05

func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
