package pollpolicy

import (
	"fmt"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/upstream"
)

// Observation is what one Poll saw of a job that had not ended: its input's
// counters, and what the upstream answered if it was asked.
type Observation struct {
	// Now is when the last answer came (when the record was read, if the
	// upstream was not asked).
	Now time.Time
	// Follow is set for an execution that follows a job another one drives:
	// it only reads the record.
	Follow bool
	// Failures and NotFound are the input's counts of failed asks in a row,
	// and of 404s among them.
	Failures, NotFound int

	// Asks is how many answers the upstream gave (0: it was not asked, or
	// its only ask failed); Answer is the last of them.
	Asks   int
	Answer upstream.Generation
	// PrevAsk is when the last answer that found the job unfinished came,
	// within this Poll; zero if there was none.
	PrevAsk time.Time
	// Failed is set when the only ask failed; NotFoundErr when that was the
	// upstream's 404.
	Failed, NotFoundErr bool
	// RetryAfter is the wait the upstream asked for when it refused an ask.
	RetryAfter time.Duration
	// Refused is the job error of an ask that no retry can fix (vidgen's
	// key refused or missing), which ends the job.
	Refused *job.Error

	// Rand returns numbers in [0,1) for backoff jitter; a decision draws
	// at most one.
	Rand func() float64
	// Times are the learned generation times of the job's model and
	// duration, which an adaptive policy schedules the next poll by.
	Times Times
}

// Action is what a decision has the Poll do.
type Action int

const (
	// Wait writes nothing and waits Seconds, carrying Failures and NotFound
	// to the next Poll.
	Wait Action = iota
	// Record writes the answer (Status, and Error for a failed job); a job
	// that did not end then waits Seconds.
	Record
	// Archive copies Video into vidgen's own store, then records the job
	// completed; see Decision.Retry for a copy that failed.
	Archive
	// End ends the job with Error, recording nothing of the upstream.
	End
)

// Decision is what a Poll does next.
type Decision struct {
	Action  Action
	Seconds int // the wait before the next Poll (Wait, and Record of an unfinished job)
	// Failures and NotFound are the counts the next Poll gets (Wait).
	Failures, NotFound int
	Status             job.Status // to record; "" keeps the record's
	Error              *job.Error // of a failed job (Record, End)
	Video              *job.Video // of a completed job (Record, Archive)
	// Retry is the backoff after an archive failure that may pass; it is
	// drawn only then, since drawing takes a number from the random source.
	Retry Retry
	// Learned is how long the generation took, for the Poll to record in
	// the learned times (internal/gentime) once its own write completed
	// the job; 0 teaches nothing.
	Learned time.Duration
	// LearnedAtMost is, for a job found done at its very first ask (whose
	// time is unknown: Learned 0), the time to that ask: a bound for the
	// learned times (Times), recorded in the same way.
	LearnedAtMost time.Duration
	// Note says why a Poll waits without progress, for the log line.
	Note string
}

// Retry is a backoff not drawn yet.
type Retry struct {
	p        Policy
	failures int
	j        job.Job
	now      time.Time
}

// Failures is the count of failures in a row the backoff follows.
func (r Retry) Failures() int { return r.failures }

// Wait draws the backoff and tells whether the try after it still comes
// before the job's deadline: past that, retrying could only end the job.
func (r Retry) Wait(rand func() float64) (int, bool) {
	wait := r.p.Backoff(r.failures, 0, r.j, r.now, rand)
	return wait, r.now.Add(time.Duration(wait) * time.Second).Before(r.j.Deadline)
}

// ShouldAsk tells whether a Poll of j asks the upstream: not for a follower,
// and not past the job's deadline, which Decide then ends the job on.
func ShouldAsk(j job.Job, now time.Time, follow bool) bool {
	return !follow && now.Before(j.Deadline)
}

// MaxNotFound is how many 404s in a row end a job: one 404 right after a
// submit can be the upstream's own replication lag.
const MaxNotFound = 3

// Decide is the one decision of a Poll of j, which had not ended when it
// was read, given what the Poll observed.
func (p Policy) Decide(j job.Job, o Observation) Decision {
	switch {
	case o.Follow:
		return Decision{Action: Wait, Seconds: p.FollowWait(j, o.Now)}
	case o.Refused != nil:
		return Decision{Action: End, Error: o.Refused}
	case o.Asks == 0 && !o.Failed && !o.Now.Before(j.Deadline):
		// Not asked (ShouldAsk): past its deadline a job is ended.
		return Decision{Action: End, Error: &job.Error{Name: job.ErrNameTimedOut,
			Message: fmt.Sprintf("the upstream did not finish by the job's deadline (%s)", j.Deadline.Format(time.RFC3339))}}
	case o.Failed:
		notFound := 0
		if o.NotFoundErr {
			if o.NotFound >= MaxNotFound-1 {
				return Decision{Action: End, Error: &job.Error{Name: job.ErrNameUpstreamNotFound,
					Message: "the upstream no longer knows generation " + j.UpstreamID}}
			}
			notFound = o.NotFound + 1
		}
		return Decision{Action: Wait, Seconds: p.Backoff(o.Failures, o.RetryAfter, j, o.Now, o.Rand),
			Failures: o.Failures + 1, NotFound: notFound, Note: "poll failed, will retry"}
	}
	gen := o.Answer
	switch gen.Status {
	case job.Completed:
		if gen.Video == nil || gen.Video.URL == "" {
			// Completed without a URL is a malformed answer: ask again.
			return Decision{Action: Wait, Seconds: p.Backoff(o.Failures, 0, j, o.Now, o.Rand),
				Failures: o.Failures + 1, Note: "completed without a video URL"}
		}
		video := *gen.Video
		if video.Duration == nil {
			d := float64(j.Request.Duration)
			video.Duration = &d
		}
		d := Decision{Action: Archive, Status: job.Completed, Video: &video,
			Retry: Retry{p: p, failures: o.Failures, j: j, now: o.Now}}
		d.Learned, d.LearnedAtMost = took(j, o)
		return d
	case job.Failed:
		e := job.Error{Name: job.ErrNameGenerationFailed, Message: "the upstream reported an error"}
		if gen.Error != nil {
			e = *gen.Error
		}
		return Decision{Action: Record, Status: job.Failed, Error: &e}
	}
	d := Decision{Action: Record, Seconds: p.Next(j, o.Now, o.Times)}
	switch gen.Status {
	case job.Generating:
		d.Status = job.Generating
	case job.Queued:
	default:
		d.Note = "unknown upstream status, still polling"
	}
	if o.RetryAfter > time.Duration(d.Seconds)*time.Second {
		d.Seconds = ClampToDeadline(o.RetryAfter, j, o.Now)
	}
	return d
}

// took is how long j's generation took, for the learned times:
// the middle of the span between the last ask that found it unfinished and
// the one that found it done. A job done at its very first ask says only
// that it took at most the time to that ask: that is atMost, and took 0.
func took(j job.Job, o Observation) (took, atMost time.Duration) {
	if j.SubmitStarted == nil {
		return 0, 0
	}
	prev := o.PrevAsk
	if prev.IsZero() {
		if j.Polls == 0 {
			return 0, o.Now.Sub(*j.SubmitStarted)
		}
		prev = j.UpdatedAt // the previous Poll's last ask
	}
	return prev.Add(o.Now.Sub(prev) / 2).Sub(*j.SubmitStarted), 0
}
