package pollpolicy_test

import (
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/pollpolicy/polltest"
)

// The expected values were worked out apart from the code (Python's
// statistics.NormalDist): the quantiles 0.5, 0.1 and 0.9 of the log-normal,
// given that the time taken exceeds what the job ran already.
func TestETA(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	// 25 × 5 s, 25 × 25 s, 50 × 50 s: median 50 s, quartiles 25 s and 50 s.
	learned := pollpolicy.NewTimes(concat(polltest.Repeat(5*time.Second, 25), polltest.Repeat(25*time.Second, 25), polltest.Repeat(50*time.Second, 50)))
	learning := pollpolicy.Learning()
	var none pollpolicy.Times

	submitted := func(ran time.Duration) job.Job {
		at := now.Add(-ran)
		return job.Job{Status: job.Generating, UpstreamID: "u", SubmitStarted: &at, Request: job.Request{Model: job.Model, Duration: 5}}
	}
	tenSeconds := submitted(0)
	tenSeconds.Request.Duration = 10
	notSubmitted := job.Job{Status: job.Queued, Request: job.Request{Model: job.Model, Duration: 5}}
	claimedOnly := notSubmitted
	claimedOnly.SubmitStarted = new(now.Add(-time.Minute)) // no upstream id: not submitted
	for _, tc := range []struct {
		name   string
		p      pollpolicy.Policy
		ts     pollpolicy.Times // learned; zero: none
		j      job.Job
		since  time.Duration // before now
		at     time.Duration // the estimates, after since
		lo, hi time.Duration
	}{
		{"prior, 5 s, just submitted", pollpolicy.Fixed(), none, submitted(0), 0, sec(25), sec(15.964), sec(39.151)},
		{"prior from an unlearned adaptive policy", pollpolicy.Learning(), none, submitted(0), 0, sec(25), sec(15.964), sec(39.151)},
		{"prior, 10 s", pollpolicy.Fixed(), none, tenSeconds, 0, sec(45), sec(28.735), sec(70.471)},
		{"prior, at its median: later than the median", pollpolicy.Fixed(), none, submitted(sec(25)), sec(25), sec(31.657), sec(26.124), sec(44.459)},
		{"admitted, not submitted: as if submitted now", pollpolicy.Fixed(), none, notSubmitted, 0, sec(25), sec(15.964), sec(39.151)},
		{"a claim is no submission", pollpolicy.Fixed(), none, claimedOnly, 0, sec(25), sec(15.964), sec(39.151)},
		{"learned", learning, learned, submitted(0),
			0, sec(50), sec(25.881), sec(96.595)},
		{"a fixed policy estimates from the prior", pollpolicy.Fixed(), learned, submitted(0),
			0, sec(25), sec(15.964), sec(39.151)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := tc.p.ETA(tc.j, now, tc.ts)
			if !ok {
				t.Fatal("no estimate")
			}
			since := now.Add(-tc.since)
			for _, c := range []struct {
				what      string
				got, want time.Time
			}{{"At", e.At, since.Add(tc.at)}, {"Earliest", e.Earliest, since.Add(tc.lo)}, {"Latest", e.Latest, since.Add(tc.hi)}} {
				// Estimates are rounded to whole seconds.
				if d := c.got.Sub(c.want); d < -500*time.Millisecond || d > 500*time.Millisecond {
					t.Errorf("%s = since+%v, want since+%v", c.what, c.got.Sub(since), c.want.Sub(since))
				}
			}
			if e.Confidence != 0.8 {
				t.Errorf("Confidence = %v, want 0.8", e.Confidence)
			}
			if e.At.Before(now) || e.Earliest.Before(now) {
				t.Errorf("estimate %+v lies before now", e)
			}
		})
	}

	waiting := notSubmitted
	waiting.Waiting = true
	ended := submitted(sec(20))
	ended.Status = job.Completed
	for name, j := range map[string]job.Job{
		"waiting for a slot": waiting,
		"ended":              ended,
		// The prior's 99.9th percentile for 5 s is 73.7 s.
		"past nearly every generation": submitted(sec(74)),
	} {
		if e, ok := pollpolicy.Fixed().ETA(j, now, pollpolicy.Times{}); ok {
			t.Errorf("%s: estimate %+v, want none", name, e)
		}
	}
	if _, ok := pollpolicy.Fixed().ETA(submitted(sec(73)), now, pollpolicy.Times{}); !ok {
		t.Error("no estimate just inside the cutoff")
	}
	// Learned times all alike still estimate.
	alike := pollpolicy.NewTimes(polltest.Repeat(40*time.Second, 20))
	if e, ok := pollpolicy.Learning().ETA(submitted(sec(10)), now, alike); !ok || !e.At.Equal(now.Add(sec(30))) {
		t.Errorf("alike times: %+v, %v; want At 30 s from now", e, ok)
	}
}
