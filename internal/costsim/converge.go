package costsim

import (
	"context"
	"slices"
	"time"
)

// ConvergeWorkload is a fresh deployment's first jobs when the upstream
// is not what the prior says: the reference workload with generation
// times whose medians are Median5s and Median10s (the prior assumes 25 s
// and 45 s).
func ConvergeWorkload(jobs int, median5s, median10s time.Duration) Workload {
	w := Reference()
	w.Jobs, w.Median5s, w.Median10s = jobs, median5s, median10s
	return w
}

// Block is the detection lag of one block of jobs, in submission order.
type Block struct {
	From, To int // the block's jobs, 1-based and inclusive
	// Mean and P50 are over the block's completed jobs.
	Mean, P50 time.Duration
	Completed int
}

// Usual keeps in res.JobLags the lags of w's jobs of usual generation
// times only. Long tails are polled on the tail schedule whatever was
// learned, and a single one in a block moves the block's mean lag by a
// tenth or more; the learned model decides the rest.
func Usual(res Result, w Workload) Result {
	lags := slices.Clone(res.JobLags)
	for i, j := range w.Generate() {
		if j.Kind != Normal && i < len(lags) {
			lags[i] = -1
		}
	}
	res.JobLags = lags
	return res
}

// Curve is the lag per block of size jobs, in submission order.
func Curve(res Result, size int) []Block {
	var out []Block
	for from := 0; from < len(res.JobLags); from += size {
		to := min(from+size, len(res.JobLags))
		var lags []time.Duration
		for _, l := range res.JobLags[from:to] {
			if l >= 0 {
				lags = append(lags, l)
			}
		}
		b := Block{From: from + 1, To: to, Completed: len(lags)}
		if len(lags) > 0 {
			slices.Sort(lags)
			var sum time.Duration
			for _, l := range lags {
				sum += l
			}
			b.Mean, b.P50 = sum/time.Duration(len(lags)), lags[len(lags)/2]
		}
		out = append(out, b)
	}
	return out
}

// MeanLag is the mean lag of the completed jobs among jobs from..to
// (1-based, inclusive).
func MeanLag(res Result, from, to int) time.Duration {
	var sum time.Duration
	n := 0
	from, to = max(from, 1), min(to, len(res.JobLags))
	if from > to {
		return 0
	}
	for _, l := range res.JobLags[from-1 : to] {
		if l >= 0 {
			sum += l
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// Convergence is what a fresh deployment's first jobs show.
type Convergence struct {
	Workload Workload
	Result   Result // of the usual jobs only (Usual)
	Blocks   []Block
	// Steady is the mean lag of jobs SteadyFrom onwards; Early that of
	// jobs EarlyFrom–EarlyTo, and Ratio Early / Steady.
	Steady, Early                  time.Duration
	SteadyFrom, EarlyFrom, EarlyTo int
	Ratio                          float64
}

// Converge runs w on a fresh deployment (an empty store: every function
// starts from the prior) and measures its curve in blocks of size jobs:
// the lag of the second hundred jobs (101–200) against the steady state
// (jobs 401 onwards, or the second half of a shorter run).
func Converge(ctx context.Context, w Workload, size int, template, dir string) (Convergence, error) {
	res, err := Run(ctx, Config{Workload: w, Policy: Policies()[2], Latencies: ModelLatencies(), Template: template,
		Deadline: 30 * time.Minute, Dir: dir})
	if err != nil {
		return Convergence{}, err
	}
	// A short run's steady state is its second half.
	c := Convergence{Workload: w, Result: Usual(res, w), SteadyFrom: min(401, w.Jobs/2+1), EarlyFrom: 101, EarlyTo: 200}
	c.Blocks = Curve(c.Result, size)
	c.Steady = MeanLag(c.Result, c.SteadyFrom, w.Jobs)
	c.Early = MeanLag(c.Result, c.EarlyFrom, c.EarlyTo)
	if c.Steady > 0 {
		c.Ratio = c.Early.Seconds() / c.Steady.Seconds()
	}
	return c, nil
}
