// Package gentime is a deployment's learned generation times: a bounded
// sample of recent times per model and video length, kept in the job store
// (one DynamoDB item, or one bbolt key, for each) so that every function
// of a deployment learns from every job, and read through a short cache
// so that it costs at most one read per invocation. The poll policy makes
// its decisions from the snapshots the cache hands out (pollpolicy.Times);
// only the Poll step that completes a job records its time.
//
// The sample has Slots places and a job's time goes to the place its id
// hashes to (Slot): one unconditional write per completed job, with no
// read before it and nothing for concurrent writers to conflict on, and a
// retried write lands where the first did. A new time replaces a random
// older one, so the sample holds mostly recent times (half of it from the
// last 70 jobs, 95 % from the last 300) and follows a drifting upstream.
package gentime

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
)

// Slots is how many times a model and duration's sample holds: enough for
// the fit's median and quartiles, and few enough that the DynamoDB item
// stays under 1 KB, so that recording a time costs one write unit.
const Slots = 100

// Resolution is what the stores keep of a time; MaxTime is the longest
// they keep (longer times are recorded as MaxTime), which bounds the
// item's size. No job may run that long (template.yaml's
// JobDeadlineSeconds allows 6,600 s).
//
// A slot holds either a time or a bound (a job found done at its first
// ask took at most the time to that ask; pollpolicy.Times): a bound b is
// kept as AtMost + b, so a slot's value is between Resolution and
// MaxValue. Both stay numbers of 6 digits at most, so the item's size
// does not grow.
const (
	Resolution = 100 * time.Millisecond
	MaxTime    = 99_999 * Resolution
	AtMost     = 100_000 * Resolution
	MaxValue   = AtMost + MaxTime
)

// Slot is the place in the sample of the job with id jobID.
func Slot(jobID string) int {
	h := fnv.New32a()
	h.Write([]byte(jobID))
	return int(h.Sum32() % Slots)
}

// Store keeps the samples: the job stores (internal/boltstore,
// internal/dynamostore) implement it beside the jobs.
type Store interface {
	// GenTimes returns the sample of model and duration by slot: Slots
	// values, zero for an empty slot; all zero when none was recorded.
	GenTimes(ctx context.Context, model string, duration int) ([]time.Duration, error)
	// RecordGenTime puts took, a whole number of Resolution between
	// Resolution and MaxValue (a time or AtMost + a bound), in slot of
	// model and duration's sample.
	RecordGenTime(ctx context.Context, model string, duration int, slot int, took time.Duration) error
}

// DefaultTTL is how long a Cache answers from one read when TTL is zero:
// a warm function reads a sample about twice a minute at most, and sees
// what other functions learned within half a minute.
const DefaultTTL = 30 * time.Second

// PriorTTL is how long a Cache answers from one read that had too few
// times to be used (pollpolicy.Times.Learned), whatever its TTL.
const PriorTTL = 5 * time.Second

// Cache reads samples through to Store at most once per TTL each. A nil
// Cache answers no times (the policy's prior) and records nothing. It is
// safe for concurrent use.
type Cache struct {
	Store Store
	Clock clock.Clock
	TTL   time.Duration
	Log   *slog.Logger // required

	mu      sync.Mutex
	entries map[key]entry
}

type key struct {
	model    string
	duration int
}

type entry struct {
	slots []time.Duration
	times pollpolicy.Times
	read  time.Time
}

func (c *Cache) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return DefaultTTL
}

// Times is the snapshot of model and duration's sample, read from the
// store unless the last read is younger than the TTL. When the read fails
// it answers the last snapshot it had (the model's prior if none): the
// policy can always decide, and the next call reads again. Each model and
// duration is its own sample: what one model learned never moves another's
// schedule.
func (c *Cache) Times(ctx context.Context, model string, duration int) pollpolicy.Times {
	return c.times(ctx, model, duration).Of(model)
}

func (c *Cache) times(ctx context.Context, model string, duration int) pollpolicy.Times {
	if c == nil {
		return pollpolicy.Times{}
	}
	k, now := key{model, duration}, c.Clock.Now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	ttl := c.ttl()
	if !e.times.Learned() {
		// Still on the prior: the first times of a fresh deployment
		// come within seconds, and every job submitted meanwhile has
		// its first wait from the prior.
		ttl = min(ttl, PriorTTL)
	}
	if ok && now.Sub(e.read) < ttl {
		return e.times
	}
	slots, err := c.Store.GenTimes(ctx, model, duration)
	if err != nil {
		c.Log.WarnContext(ctx, "read learned generation times", "model", model, "duration", duration, "err", err)
		return e.times
	}
	e = entry{slots: slots, times: snapshot(slots), read: now}

	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[key]entry{}
	}
	c.entries[k] = e
	c.mu.Unlock()
	return e.times
}

// snapshot is the policy's view of a sample's slots: its times and its
// bounds.
func snapshot(slots []time.Duration) pollpolicy.Times {
	var times, bounds []time.Duration
	for _, v := range slots {
		if v > AtMost {
			bounds = append(bounds, v-AtMost)
		} else {
			times = append(times, v)
		}
	}
	return pollpolicy.NewSample(times, bounds, len(slots))
}

// Record puts took, how long the generation of job jobID took, in model
// and duration's sample: one write. A cached snapshot learns it at once,
// as the function's next decisions should. Times that are not positive
// teach nothing and are not written.
func (c *Cache) Record(ctx context.Context, jobID, model string, duration int, took time.Duration) error {
	if took <= 0 {
		return nil
	}
	return c.record(ctx, jobID, model, duration, min(max(took.Round(Resolution), Resolution), MaxTime))
}

// RecordAtMost puts a bound, that job jobID's generation took at most
// atMost (it was found done at its first ask), in model and duration's
// sample, in the slot and with the write a time would have. Bounds that
// are not positive are not written.
func (c *Cache) RecordAtMost(ctx context.Context, jobID, model string, duration int, atMost time.Duration) error {
	if atMost <= 0 {
		return nil
	}
	return c.record(ctx, jobID, model, duration, AtMost+min(max(atMost.Round(Resolution), Resolution), MaxTime))
}

func (c *Cache) record(ctx context.Context, jobID, model string, duration int, took time.Duration) error {
	if c == nil {
		return nil
	}
	slot := Slot(jobID)
	if err := c.Store.RecordGenTime(ctx, model, duration, slot, took); err != nil {
		return err
	}
	k := key{model, duration}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok && slot < len(e.slots) {
		e.slots = append([]time.Duration(nil), e.slots...)
		e.slots[slot] = took
		e.times = snapshot(e.slots)
		c.entries[k] = e
	}
	return nil
}

// Estimator is the API's eta: the policy's ETA from the learned times of
// the job's model and duration.
type Estimator struct {
	Policy pollpolicy.Policy
	Times  *Cache // nil: the prior
}

// ETA estimates when j completes, seen at now (pollpolicy.Policy.ETA).
func (e Estimator) ETA(ctx context.Context, j job.Job, now time.Time) (pollpolicy.Estimate, bool) {
	if j.Status.Terminal() || j.Waiting {
		return pollpolicy.Estimate{}, false // no estimate: not worth a read
	}
	return e.Policy.ETA(j, now, e.Times.Times(ctx, j.Request.Model, j.Request.Duration))
}
