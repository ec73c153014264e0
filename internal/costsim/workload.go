// Package costsim measures what a poll policy costs and how late it
// notices finished videos, on a discrete-event clock: the real video_job
// state machine runs in the ASL interpreter, the real handlers answer its
// Tasks through aws-lambda-go's JSON path, the real upstream client talks
// HTTP to the real simulator (in process, without sockets) and jobs live
// in the real bbolt store. Nothing sleeps: the clock jumps from one event
// to the next, so ten thousand jobs and hours of simulated time take
// seconds, and a run gives the same figures on any machine.
//
// What the simulation cannot observe, it models and says so (Latencies,
// Prices): how long each upstream, DynamoDB and S3 call takes and what
// AWS charges.
package costsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Workload describes the jobs of a run.
type Workload struct {
	Jobs int
	Seed uint64
	// Rate is how many jobs arrive per second, as a Poisson process.
	Rate float64
	// Share10s is the share of 10-s videos; the rest are 5-s.
	Share10s float64
	// Median5s and Median10s are the log-normal generation times' medians,
	// Sigma their shape.
	Median5s, Median10s time.Duration
	Sigma               float64
	// Errors, LongTails and Never are the shares of generations that end
	// in error (after a usual time), take TailMin–TailMax, and never end.
	Errors, LongTails, Never float64
	TailMin, TailMax         time.Duration
	// Burst submits every job at the start, the first ones by tenant "a"
	// and the last BurstShareB of them by tenant "b"; otherwise all jobs
	// are tenant "bench"'s.
	Burst       bool
	BurstShareB float64
	// Models, when set, mixes models (mixed.go): each job's model, clip
	// length and generation time are drawn from it, around the model's
	// catalogued prior, and Share10s, Median5s, Median10s, TailMin and
	// TailMax are not used.
	Models []ModelMix
}

// BurstOf is the burst workload of the issue: n jobs submitted at once,
// with the usual generation times and errors but no long tails and none
// that never finish, so that the makespan measures admission alone; the
// last fifth come from a second tenant.
func BurstOf(n int) Workload {
	w := Reference()
	w.Jobs, w.Burst, w.BurstShareB = n, true, 0.2
	w.LongTails, w.Never = 0, 0
	return w
}

// Reference is the workload of the issue: 10,000 jobs, log-normal
// generation times with medians 25 s (5-s videos) and 45 s (10-s), 3 %
// errors, 2 % long tails of 2–10 min and 1 % that never finish.
func Reference() Workload {
	return Workload{
		Jobs: 10_000, Seed: 1, Rate: 2, Share10s: 0.3,
		Median5s: 25 * time.Second, Median10s: 45 * time.Second, Sigma: 0.3,
		Errors: 0.03, LongTails: 0.02, Never: 0.01,
		TailMin: 2 * time.Minute, TailMax: 10 * time.Minute,
	}
}

// Kind is how a job's generation behaves.
type Kind int

// The kinds of generation a workload mixes.
const (
	Normal Kind = iota
	Error
	LongTail
	Never
)

func (k Kind) String() string {
	return [...]string{"normal", "error", "long tail", "never"}[k]
}

// Job is one request of a workload.
type Job struct {
	Tenant   string
	Arrival  time.Duration // after the run's start
	Duration int           // of the video, 5 or 10 s
	Kind     Kind
	GenTime  time.Duration // from submit to the end; 0 for Never
	// Model is the job's model; empty is gen3a_turbo.
	Model string
}

// Prompt is the request's prompt: the simulator's directives that make it
// behave as drawn.
func (j Job) Prompt() string {
	switch j.Kind {
	case Never:
		return "sim:never"
	case Error:
		return fmt.Sprintf("sim:error sim:gen=%.3f", j.GenTime.Seconds())
	}
	return fmt.Sprintf("sim:gen=%.3f", j.GenTime.Seconds())
}

// Generate draws the workload's jobs, the same for the same Seed.
func (w Workload) Generate() []Job {
	r := rand.New(rand.NewPCG(w.Seed, w.Seed^0x9e3779b97f4a7c15))
	jobs := make([]Job, w.Jobs)
	var at time.Duration
	for i := range jobs {
		j := Job{Tenant: "bench", Duration: 5}
		if w.Burst {
			j.Tenant = "a"
			if float64(i) >= float64(w.Jobs)*(1-w.BurstShareB) {
				j.Tenant = "b"
			}
		} else {
			at += time.Duration(r.ExpFloat64() / w.Rate * float64(time.Second))
			j.Arrival = at
		}
		median := w.Median5s
		tailMin, tailMax := w.TailMin, w.TailMax
		if len(w.Models) > 0 {
			j.Model, j.Duration, median, tailMin, tailMax = drawModel(r, w.Models)
		} else if r.Float64() < w.Share10s {
			j.Duration, median = 10, w.Median10s
		}
		j.GenTime = time.Duration(float64(median) * math.Exp(w.Sigma*r.NormFloat64()))
		switch u := r.Float64(); {
		case u < w.Never:
			j.Kind, j.GenTime = Never, 0
		case u < w.Never+w.LongTails:
			j.Kind = LongTail
			j.GenTime = tailMin + time.Duration(r.Float64()*float64(tailMax-tailMin))
		case u < w.Never+w.LongTails+w.Errors:
			j.Kind = Error
		}
		jobs[i] = j
	}
	return jobs
}
