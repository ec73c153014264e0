package pollpolicy_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/pollpolicy/polltest"
	"github.com/vidgen/vidgen/internal/upstream"
)

// draws is a random source that always answers v and counts its draws.
type draws struct {
	v float64
	n int
}

func (d *draws) rand() float64 { d.n++; return d.v }

// decideJob is a 5-s job submitted at t0, created 5 s earlier, polled
// polls times so far (the last at t0+30 s), due deadline after t0.
func decideJob(deadline time.Duration, polls int) job.Job {
	j := policyJob(5, deadline, true)
	j.UpstreamID, j.Polls, j.UpdatedAt = "gen-1", polls, t0.Add(30*time.Second)
	return j
}

func video(url string) *job.Video { return &job.Video{URL: url} }

// Decide is pure: each case is a job, what its Poll observed, and the one
// decision it makes, with the number of jitter draws it took. The fixed
// policy backs off 2 s × 2^failures at most (60 s), times the draw (0.5).
func TestDecide(t *testing.T) {
	five := 5.0
	for _, tc := range []struct {
		name  string
		j     job.Job
		o     pollpolicy.Observation // Now defaults to t0+60 s, Rand to the counter
		want  pollpolicy.Decision    // Retry is not compared
		draws int
	}{
		{name: "follower waits as the follow schedule says",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Follow: true},
			want: pollpolicy.Decision{Action: pollpolicy.Wait, Seconds: 5}},
		{name: "follower past the deadline waits longer",
			j: decideJob(30*time.Second, 0), o: pollpolicy.Observation{Follow: true},
			want: pollpolicy.Decision{Action: pollpolicy.Wait, Seconds: 30}},
		{name: "not asked: the deadline passed",
			j: decideJob(time.Minute, 0), o: pollpolicy.Observation{},
			want: pollpolicy.Decision{Action: pollpolicy.End, Error: &job.Error{Name: job.ErrNameTimedOut,
				Message: "the upstream did not finish by the job's deadline (2026-03-01T12:01:00Z)"}}},
		{name: "key refused ends the job with its error",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Failed: true, Refused: &job.Error{Name: job.ErrNameUpstreamAuth, Message: "m"}},
			want: pollpolicy.Decision{Action: pollpolicy.End, Error: &job.Error{Name: job.ErrNameUpstreamAuth, Message: "m"}}},
		{name: "key refused within a window ends it too",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 3, Answer: upstream.Generation{Status: job.Generating},
				Refused: &job.Error{Name: job.ErrNameConfiguration, Message: "m"}},
			want: pollpolicy.Decision{Action: pollpolicy.End, Error: &job.Error{Name: job.ErrNameConfiguration, Message: "m"}}},
		{name: "failed ask backs off with jitter",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Failed: true, Failures: 2},
			want:  pollpolicy.Decision{Action: pollpolicy.Wait, Seconds: 4, Failures: 3, Note: "poll failed, will retry"},
			draws: 1},
		{name: "failed ask waits at least Retry-After",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Failed: true, RetryAfter: 42 * time.Second},
			want:  pollpolicy.Decision{Action: pollpolicy.Wait, Seconds: 42, Failures: 1, Note: "poll failed, will retry"},
			draws: 1},
		{name: "backoff is capped by MaxBackoff",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Failed: true, Failures: 10},
			want:  pollpolicy.Decision{Action: pollpolicy.Wait, Seconds: 30, Failures: 11, Note: "poll failed, will retry"},
			draws: 1},
		{name: "backoff stops a second past the deadline",
			j: decideJob(70*time.Second, 0), o: pollpolicy.Observation{Failed: true, RetryAfter: time.Minute},
			want:  pollpolicy.Decision{Action: pollpolicy.Wait, Seconds: 11, Failures: 1, Note: "poll failed, will retry"},
			draws: 1},
		{name: "first 404 counts",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Failed: true, NotFoundErr: true},
			want:  pollpolicy.Decision{Action: pollpolicy.Wait, Seconds: 1, Failures: 1, NotFound: 1, Note: "poll failed, will retry"},
			draws: 1},
		{name: "another failure resets the 404 count",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Failed: true, Failures: 2, NotFound: 2},
			want:  pollpolicy.Decision{Action: pollpolicy.Wait, Seconds: 4, Failures: 3, Note: "poll failed, will retry"},
			draws: 1},
		{name: "third 404 in a row ends the job",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Failed: true, NotFoundErr: true, Failures: 2, NotFound: 2},
			want: pollpolicy.Decision{Action: pollpolicy.End, Error: &job.Error{Name: job.ErrNameUpstreamNotFound,
				Message: "the upstream no longer knows generation gen-1"}}},
		{name: "completed without a URL is asked again",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 1, Answer: upstream.Generation{Status: job.Completed}, Failures: 1},
			want:  pollpolicy.Decision{Action: pollpolicy.Wait, Seconds: 2, Failures: 2, Note: "completed without a video URL"},
			draws: 1},
		{name: "completed at its first ask: archive, the duration from the request, the time to the ask as a bound",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 1, Answer: upstream.Generation{Status: job.Completed, Video: video("https://cdn/v.mp4")}},
			want: pollpolicy.Decision{Action: pollpolicy.Archive, Status: job.Completed, Video: &job.Video{URL: "https://cdn/v.mp4", Duration: &five}, LearnedAtMost: 60 * time.Second}},
		{name: "completed after earlier polls teaches the middle of the span",
			j: decideJob(jobDeadline, 2), o: pollpolicy.Observation{Asks: 1, Answer: upstream.Generation{Status: job.Completed, Video: video("u")}},
			want: pollpolicy.Decision{Action: pollpolicy.Archive, Status: job.Completed, Video: &job.Video{URL: "u", Duration: &five}, Learned: 45 * time.Second}},
		{name: "completed within a window learns from its last unfinished ask",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 4, PrevAsk: t0.Add(50 * time.Second), Answer: upstream.Generation{Status: job.Completed, Video: video("u")}},
			want: pollpolicy.Decision{Action: pollpolicy.Archive, Status: job.Completed, Video: &job.Video{URL: "u", Duration: &five}, Learned: 55 * time.Second}},
		{name: "failed generation records the upstream's error",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 1, Answer: upstream.Generation{Status: job.Failed, Error: &job.Error{Name: "X", Message: "y"}}},
			want: pollpolicy.Decision{Action: pollpolicy.Record, Status: job.Failed, Error: &job.Error{Name: "X", Message: "y"}}},
		{name: "failed generation without an error",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 1, Answer: upstream.Generation{Status: job.Failed}},
			want: pollpolicy.Decision{Action: pollpolicy.Record, Status: job.Failed,
				Error: &job.Error{Name: job.ErrNameGenerationFailed, Message: "the upstream reported an error"}}},
		{name: "generating: record it and wait the interval",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 1, Answer: upstream.Generation{Status: job.Generating}},
			want: pollpolicy.Decision{Action: pollpolicy.Record, Status: job.Generating, Seconds: 5}},
		{name: "queued: record the poll only",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 1, Answer: upstream.Generation{Status: job.Queued}},
			want: pollpolicy.Decision{Action: pollpolicy.Record, Seconds: 5}},
		{name: "unknown status: keep polling, say so",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 1, Answer: upstream.Generation{RawStatus: "paused"}},
			want: pollpolicy.Decision{Action: pollpolicy.Record, Seconds: 5, Note: "unknown upstream status, still polling"}},
		{name: "a refused ask within a window stretches the wait to its Retry-After",
			j: decideJob(jobDeadline, 0), o: pollpolicy.Observation{Asks: 2, Answer: upstream.Generation{Status: job.Generating}, RetryAfter: 12500 * time.Millisecond},
			want: pollpolicy.Decision{Action: pollpolicy.Record, Status: job.Generating, Seconds: 13}},
		{name: "the interval stops a second past the deadline",
			j: decideJob(62*time.Second, 0), o: pollpolicy.Observation{Asks: 1, Answer: upstream.Generation{Status: job.Generating}},
			want: pollpolicy.Decision{Action: pollpolicy.Record, Status: job.Generating, Seconds: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &draws{v: 0.5}
			o := tc.o
			if o.Now.IsZero() {
				o.Now = t0.Add(time.Minute)
			}
			o.Rand = d.rand
			got := pollpolicy.Fixed().Decide(tc.j, o)
			got.Retry = pollpolicy.Retry{}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decide = %+v\nwant %+v", got, tc.want)
				if got.Error != nil {
					t.Logf("error %+v", *got.Error)
				}
			}
			if d.n != tc.draws {
				t.Errorf("Decide drew %d random numbers, want %d", d.n, tc.draws)
			}
		})
	}
}

// An adaptive policy decides the next wait from what it learned; Decide
// asks it as Next does.
func TestDecideAdaptiveWait(t *testing.T) {
	p := polltest.LearnedPolicy(nil)
	j := policyJob(5, jobDeadline, true)
	now := t0.Add(5 * time.Second) // before polltest.LearnedFrom
	got := p.Decide(j, pollpolicy.Observation{Now: now, Asks: 1, Answer: upstream.Generation{Status: job.Queued}, Times: polltest.LearnedTimes()})
	if want := p.Next(j, now, polltest.LearnedTimes()); got.Action != pollpolicy.Record || got.Seconds != want || want != 17 {
		t.Errorf("Decide = %+v, want Record and Next's %d s (17)", got, want)
	}
}

// An archive that fails in a way that may pass is retried on the backoff,
// drawn only then, while the retry still comes before the deadline.
func TestDecideArchiveRetry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline time.Duration // after t0; now is t0+60 s
		failures int
		wait     int
		ok       bool
	}{
		{name: "well before the deadline", deadline: jobDeadline, failures: 1, wait: 2, ok: true},
		{name: "the retry would come at the deadline", deadline: 62 * time.Second, failures: 1, wait: 2},
		{name: "clamped past the deadline", deadline: 61 * time.Second, failures: 5, wait: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := decideJob(tc.deadline, 0)
			d := pollpolicy.Fixed().Decide(j, pollpolicy.Observation{Now: t0.Add(time.Minute), Failures: tc.failures, Asks: 1,
				Answer: upstream.Generation{Status: job.Completed, Video: video("u")}})
			if d.Action != pollpolicy.Archive || d.Retry.Failures() != tc.failures {
				t.Fatalf("Decide = %+v, want Archive after %d failures", d, tc.failures)
			}
			r := &draws{v: 0.5}
			wait, ok := d.Retry.Wait(r.rand)
			if wait != tc.wait || ok != tc.ok || r.n != 1 {
				t.Errorf("Retry.Wait = %d, %v after %d draws; want %d, %v after 1", wait, ok, r.n, tc.wait, tc.ok)
			}
		})
	}
}

// ShouldAsk: a follower reads the record only, and past its deadline a job
// is ended, not asked about.
func TestShouldAsk(t *testing.T) {
	j := decideJob(time.Minute, 0)
	for _, tc := range []struct {
		at     time.Duration
		follow bool
		want   bool
	}{
		{59 * time.Second, false, true},
		{time.Minute, false, false},
		{59 * time.Second, true, false},
	} {
		if got := pollpolicy.ShouldAsk(j, t0.Add(tc.at), tc.follow); got != tc.want {
			t.Errorf("ShouldAsk(at t0+%v, follow %v) = %v, want %v", tc.at, tc.follow, got, tc.want)
		}
	}
}
