package costsim

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"
)

// DynamoDB serves one partition at most 1,000 write units and 3,000 read
// units a second, however much the table may take
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html,
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html),
// and an on-demand table takes 40,000 of each a second unless the quota is
// raised (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
// A write to a global secondary index lands on the index partition of the
// entry's key, and a throttled index write throttles the table write that
// caused it. So every item or index key that all jobs share caps the
// service, whatever the table's capacity: Ceiling finds that cap.
const (
	partitionWriteUnits = 1000
	partitionReadUnits  = 3000
	tableUnits          = 40000
)

// Layout is how vidgen keeps jobs in DynamoDB, as far as throughput goes.
type Layout struct {
	Name string
	// ByTenantAll is the by-tenant index projecting every attribute, so
	// every write of a record rewrites its entry in the tenant's partition.
	ByTenantAll bool
	// IndexShards is how many mark values spread the sparse indexes
	// (open-by-deadline, waiting-by-created) over partitions.
	IndexShards int
	// CounterShards is how many items count the slots in flight;
	// TenantCounters adds one item per tenant, written with them.
	CounterShards  int
	TenantCounters bool
	// ProgressEvery, when set, is how often a Poll that learned nothing
	// new writes the record anyway; zero writes at every Poll.
	ProgressEvery time.Duration
	// ItemKB is a job record's size, in started KB: what each record write
	// costs (and an ALL index entry too).
	ItemKB int
	// SpendShards, when set, is how many items count a tenant's credits of
	// a day (dynamostore's spend counters, issue 18): the write that
	// records a job's credits (Submit's, with the upstream id) is then a
	// transaction of the record and one of them.
	SpendShards int
}

// Before is the layout vidgen had before issue 17: one slot#counts item,
// one mark value per sparse index, by-tenant projecting ALL, a write per
// Poll, and data-URI images up to 64 KiB inline (a 2-KB record here, which
// is a record with an image URL; inline images made it up to 65).
func Before() Layout {
	return Layout{Name: "before", ByTenantAll: true, IndexShards: 1, CounterShards: 1, ItemKB: 2}
}

// After is the layout issue 17 built: keys-only by-tenant, sparse indexes
// over 8 shards, a Poll that learned nothing new writing once a minute,
// images over 2 KiB kept in S3, and the slots counted in 8 shards and one
// item per tenant; with issue 18's spend counters, 4 items per tenant and
// day.
func After() Layout {
	return Layout{Name: "after", IndexShards: 8, CounterShards: 8, TenantCounters: true, ProgressEvery: time.Minute, ItemKB: 2, SpendShards: 4}
}

// ScaleLoad is the traffic a ceiling is found for.
type ScaleLoad struct {
	Tenants int
	// Generation is how long each job takes upstream; PollEvery is the
	// Poll steps' spacing.
	Generation, PollEvery time.Duration
	// Caps says admission counts slots (job.Limits enabled): each job is
	// admitted and gives its slot back through the counters.
	Caps bool
	// QueueRead is how many waiting jobs each dispatch reads (up to 1,000
	// when a queue is deep), one dispatch per job's end.
	QueueRead int
}

// ScaleReference is the load the figures of docs/performance.md use: one
// tenant (the worst case: every per-tenant key is one), 60-s generations
// polled every 10 s (the fixed baseline), caps on, a deep queue.
func ScaleReference() ScaleLoad {
	return ScaleLoad{Tenants: 1, Generation: time.Minute, PollEvery: 10 * time.Second, Caps: true, QueueRead: 1000}
}

// ScaleCeiling is the most a layout sustains without a partition, or the
// table, throttling.
type ScaleCeiling struct {
	JobsPerSecond  float64 // jobs submitted a second, at steady state
	PollsPerSecond float64 // the Poll steps of those jobs, a second
	// PollOnly is the Poll steps a second that polling alone sustains (jobs
	// in flight, none arriving or ending), and PollLimit what limits it.
	PollOnly  float64
	Limit     string // the key that throttles first beyond JobsPerSecond
	PollLimit string
}

// keyKind names what a partition key is.
type keyKind uint8

const (
	jobItem     keyKind = iota // a job's own item: spread by id, bounded by the table's quota alone
	byTenant                   // the tenant's partition of by-tenant
	openMark                   // a shard of open-by-deadline
	waitingMark                // a shard of waiting-by-created
	counters                   // a slot counters item
	tenantCount                // a tenant's counter item
	tenantSpend                // a shard of a tenant's spend items of the day
)

var kindNames = [...]string{"job item", "by-tenant", "open-by-deadline", "waiting-by-created", "slot counters", "tenant counter", "tenant spend"}

// pkey is a partition key: its kind and which one (tenant, shard).
type pkey struct {
	kind keyKind
	n    int
}

func (k pkey) String() string { return fmt.Sprintf("%s #%d", kindNames[k.kind], k.n) }

// op is a charge of units on one key at an offset from a job's arrival;
// poll marks the Poll steps' own. role says which of the job's own keys
// the key's number is (its tenant, its index shard, its counter), so that
// one job's ops serve for every job.
type op struct {
	at     time.Duration
	key    pkey
	role   role
	wu, ru float64
	poll   bool
}

type role uint8

const (
	fixed role = iota
	ofTenant
	ofShard
	ofCounter
	ofSpend
)

// jobKeys are the numbers of job i's own keys: its tenant, index shard,
// counter item and spend shard, by a hash of its number as dynamostore
// hashes a job id.
func (l Layout) jobKeys(load ScaleLoad, i int) [5]int {
	h := fnv.New32a()
	h.Write([]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)})
	hash := int(h.Sum32())
	tenants := min(max(load.Tenants, 1), maxKeys)
	tenant := (i%tenants + tenants) % tenants // i < 0 before the window
	return [5]int{fixed: 0, ofTenant: tenant,
		ofShard: hash % min(max(l.IndexShards, 1), maxKeys), ofCounter: hash % min(max(l.CounterShards, 1), maxKeys),
		ofSpend: (tenant*max(l.SpendShards, 1) + hash%max(l.SpendShards, 1)) % maxKeys}
}

// jobOps lists what one job costs where, from its arrival to its end,
// following what dynamostore does for each step (the comments name it);
// the numbers of the job's own keys are set per job (jobKeys).
func (l Layout) jobOps(load ScaleLoad) []op {
	mark := pkey{openMark, 0}
	waiting := pkey{waitingMark, 0}
	counter := pkey{counters, 0}
	tenantKey := pkey{byTenant, 0}
	item := float64(l.ItemKB)
	var ops []op
	// write is a write of the job's record at t: its own item, and the
	// by-tenant entry again when the index projects everything.
	write := func(t time.Duration, poll bool) {
		ops = append(ops, op{at: t, wu: item, poll: poll})
		if l.ByTenantAll {
			ops = append(ops, op{at: t, key: tenantKey, role: ofTenant, wu: item, poll: poll})
		}
	}
	// Create (api): the record, its index entries.
	write(0, false)
	if !l.ByTenantAll {
		ops = append(ops, op{key: tenantKey, role: ofTenant, wu: 1})
	}
	ops = append(ops, op{key: mark, role: ofShard, wu: 1})
	dispatch := func(t time.Duration) {
		// InFlight: a consistent read of every counter item.
		for k := range max(l.CounterShards, 1) {
			ops = append(ops, op{at: t, key: pkey{counters, k}, ru: 1})
		}
		// Waiting: index entries of ~100 bytes, half a unit per 4 KB,
		// spread over the shards.
		per := math.Ceil(float64(load.QueueRead)/float64(l.IndexShards)*100/4096) * 0.5
		for k := range max(l.IndexShards, 1) {
			ops = append(ops, op{at: t, key: pkey{waitingMark, k}, ru: max(per, 0.5)})
		}
	}
	if load.Caps {
		ops = append(ops, op{key: waiting, role: ofShard, wu: 1})
		dispatch(0)
		if l.CounterShards > 1 {
			// Admit reads every shard for the one with most room.
			for k := range l.CounterShards {
				ops = append(ops, op{key: pkey{counters, k}, ru: 1})
			}
		}
		// Admit: a transaction (each item's write twice) of the record and
		// the counters; the deadline moves in open-by-deadline (a delete
		// and a put) and the job leaves waiting-by-created.
		write(0, false)
		ops = append(ops, op{wu: item}, op{key: counter, role: ofCounter, wu: 2}, op{key: mark, role: ofShard, wu: 2}, op{key: waiting, role: ofShard, wu: 1})
		if l.TenantCounters {
			ops = append(ops, op{key: pkey{tenantCount, 0}, role: ofTenant, wu: 2})
		}
	}
	// Submit: the claim, then the upstream id, with the create's credits
	// a transaction (the record's write twice) with a spend item.
	write(0, false)
	write(0, false)
	if l.SpendShards > 0 {
		ops = append(ops, op{wu: item}, op{key: pkey{tenantSpend, 0}, role: ofSpend, wu: 2})
	}
	// Poll steps: a consistent read each; a write each, or only at a
	// change (generating, at the first) and once per ProgressEvery.
	lastWrite := time.Duration(0)
	for t := load.PollEvery; t < load.Generation; t += load.PollEvery {
		ops = append(ops, op{at: t, ru: 1, poll: true})
		if l.ProgressEvery == 0 || t == load.PollEvery || t-lastWrite >= l.ProgressEvery {
			write(t, true)
			lastWrite = t
		}
	}
	// The end: the Poll's write (a transaction with the counters when the
	// job held a slot), out of open-by-deadline, announced (two writes),
	// and a dispatch for the freed slot.
	end := load.Generation
	ops = append(ops, op{at: end, ru: 1})
	write(end, false)
	ops = append(ops, op{at: end, key: mark, role: ofShard, wu: 1})
	if load.Caps {
		ops = append(ops, op{at: end, wu: item}, op{at: end, key: counter, role: ofCounter, wu: 2})
		if l.TenantCounters {
			ops = append(ops, op{at: end, key: pkey{tenantCount, 0}, role: ofTenant, wu: 2})
		}
		dispatch(end)
	}
	write(end, false)
	write(end, false)
	return ops
}

// throttled simulates rate jobs a second arriving evenly, one second
// bucket after another over a window long after the first arrivals (so
// every stage of a job is under way), and returns the first key whose
// units in some second exceed its partition's limit, or "" if none does.
// Job items are spread over partitions by their ids: only the table's
// quota bounds them together.
func (l Layout) throttled(load ScaleLoad, rate float64, pollsOnly bool) string {
	const window = 2 // seconds measured
	span := load.Generation + 2*time.Second
	first := -int(math.Ceil(span.Seconds() * rate))
	last := int(math.Ceil(window * rate))
	type units struct{ wu, ru float64 }
	// Dense per-second tallies: a kind's keys are numbered below maxKeys.
	var buckets [window][len(kindNames)][maxKeys]units
	ops := l.jobOps(load)
	for i := first; i < last; i++ {
		arrived := time.Duration(float64(i) / rate * float64(time.Second))
		keys := l.jobKeys(load, i)
		for _, o := range ops {
			if pollsOnly && !o.poll {
				continue
			}
			t := arrived + o.at
			s := int(math.Floor(t.Seconds()))
			if t < 0 || s >= window {
				continue
			}
			n := o.key.n
			if o.role != fixed {
				n = keys[o.role]
			}
			u := &buckets[s][o.key.kind][n]
			u.wu += o.wu
			u.ru += o.ru
		}
	}
	for s := range buckets {
		var table units
		for kind := range buckets[s] {
			for n, u := range buckets[s][kind] {
				table.wu += u.wu
				table.ru += u.ru
				if keyKind(kind) != jobItem && (u.wu > partitionWriteUnits || u.ru > partitionReadUnits) {
					return fmt.Sprintf("the partition of %s (%.0f WU/s, %.0f RU/s)", pkey{keyKind(kind), n}, u.wu, u.ru)
				}
			}
		}
		if table.wu > tableUnits || table.ru > tableUnits {
			return fmt.Sprintf("the table's quota (%.0f WU/s, %.0f RU/s)", table.wu, table.ru)
		}
	}
	return ""
}

// maxKeys bounds the tenants and shards a simulation tells apart.
const maxKeys = 64

// Ceiling finds, to 2 %, the most jobs a second layout l sustains under
// load, and the Poll steps a second its jobs in flight sustain.
func (l Layout) Ceiling(load ScaleLoad) ScaleCeiling {
	search := func(pollsOnly bool) (float64, string) {
		lo, hi := 0.0, 1.0
		for l.throttled(load, hi, pollsOnly) == "" && hi < 1e6 {
			lo, hi = hi, hi*2
		}
		for hi-lo > lo/50 && hi-lo > 0.01 {
			mid := (lo + hi) / 2
			if l.throttled(load, mid, pollsOnly) == "" {
				lo = mid
			} else {
				hi = mid
			}
		}
		return lo, l.throttled(load, hi, pollsOnly)
	}
	polls := float64(int((load.Generation - 1) / load.PollEvery)) // Poll steps per job
	var c ScaleCeiling
	c.JobsPerSecond, c.Limit = search(false)
	c.PollsPerSecond = c.JobsPerSecond * polls
	rate, limit := search(true)
	c.PollOnly, c.PollLimit = rate*polls, limit
	return c
}
