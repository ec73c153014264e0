// Package boltstore keeps job records in an embedded bbolt database, the
// persistent store of local mode. Each change runs in one read-write
// transaction, so the conditions of job.Change hold atomically.
package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/groupcommit"
	"github.com/vidgen/vidgen/internal/job"
	bolt "go.etcd.io/bbolt"
)

// Bucket names.
const (
	jobsBucket   = "jobs"
	claimsBucket = "claims"
	// slotsBucket counts the jobs holding a slot: in all under "total", and
	// per tenant under "t:" + tenant.
	slotsBucket = "slots"
	// waitingBucket indexes the jobs waiting for a slot by creation time
	// and id, so that Waiting reads only those.
	waitingBucket = "waiting"
)

// mmapSize is how much of the file bbolt maps from the start: 1 GiB, the
// size from which it grows the map by 1 GiB at a time anyway.
const mmapSize = 1 << 30

// Store is a job store backed by one bbolt file.
type Store struct {
	db *bolt.DB
	// writes groups the concurrent changes into shared commits (one disk
	// sync for all): its functions run more than once, so each sets its
	// results afresh and hands a refusal back through a variable, which
	// keeps the other changes of its group (see groupcommit.Update).
	writes *groupcommit.Committer
	// queues answers QueuePosition from memory.
	queues *queues
}

// Open opens (creating if needed) the database at path. Only one process
// may hold it; a second Open waits up to a few seconds, then fails.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second,
		// Mapped once, large: as the file grows bbolt remaps it, which
		// waits for every read transaction to end and holds back new
		// ones, some ten times while a busy runtime's file grows to tens
		// of MB. The map is address space, not memory.
		InitialMmapSize: mmapSize,
		// Nothing reads DB.Stats; counting takes a lock per transaction.
		NoStatistics: true})
	if err != nil {
		return nil, fmt.Errorf("open job store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists([]byte(jobsBucket)); err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists([]byte(claimsBucket)); err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists([]byte(slotsBucket)); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists([]byte(waitingBucket))
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init job store: %w", err)
	}
	s := &Store{db: db, writes: groupcommit.New(db)}
	db.View(func(tx *bolt.Tx) error { s.queues = loadQueues(tx); return nil })
	return s, nil
}

// Close releases the database.
func (s *Store) Close() error { return s.db.Close() }

// DB returns the open database, so that other stores (local mode's API
// keys) can keep their buckets in the same file: bbolt lets only one
// handle hold it. Closing the Store closes it.
func (s *Store) DB() *bolt.DB { return s.db }

// Create stores a new job, failing with job.ErrExists if its id is taken by
// another record. Writing the very same record again succeeds, as a retried
// write must (see storetest).
func (s *Store) Create(ctx context.Context, j job.Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	var refused error
	err = s.writes.Update(func(tx *bolt.Tx) error {
		refused = nil
		b := tx.Bucket([]byte(jobsBucket))
		if old := b.Get([]byte(j.ID)); old != nil {
			if !bytes.Equal(old, data) {
				refused = fmt.Errorf("create job %s: %w", j.ID, job.ErrExists)
			}
			return nil
		}
		if err := b.Put([]byte(j.ID), data); err != nil {
			return err
		}
		return s.indexWaiting(tx, job.Job{}, j)
	})
	return cmp.Or(err, refused)
}

// CreateClaimed creates j under the idempotency claim c, in one
// transaction: if a live claim for the same tenant and key exists, nothing
// is written and that claim is returned; otherwise j and c are stored and c
// is returned. The caller compares the returned claim's JobID with j.ID.
func (s *Store) CreateClaimed(ctx context.Context, j job.Job, c job.Claim, now time.Time) (job.Claim, error) {
	if err := ctx.Err(); err != nil {
		return job.Claim{}, err
	}
	jobData, err := json.Marshal(j)
	if err != nil {
		return job.Claim{}, fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	claimData, err := json.Marshal(c)
	if err != nil {
		return job.Claim{}, fmt.Errorf("encode claim: %w", err)
	}
	key := []byte(c.Tenant + "\x00" + c.Key)
	var (
		won     job.Claim
		refused error
	)
	err = s.writes.Update(func(tx *bolt.Tx) error {
		won, refused = c, nil
		claims := tx.Bucket([]byte(claimsBucket))
		if old := claims.Get(key); old != nil {
			var prev job.Claim
			if err := json.Unmarshal(old, &prev); err != nil {
				refused = fmt.Errorf("decode claim: %w", err)
				return nil
			}
			if prev.Live(now) {
				won = prev
				return nil
			}
		}
		jobs := tx.Bucket([]byte(jobsBucket))
		if jobs.Get([]byte(j.ID)) != nil {
			refused = fmt.Errorf("create job %s: %w", j.ID, job.ErrExists)
			return nil
		}
		if err := jobs.Put([]byte(j.ID), jobData); err != nil {
			return err
		}
		if err := s.indexWaiting(tx, job.Job{}, j); err != nil {
			return err
		}
		return claims.Put(key, claimData)
	})
	if err = cmp.Or(err, refused); err != nil {
		return job.Claim{}, err
	}
	return won, nil
}

// LiveClaim returns the live idempotency claim of tenant's key at now, if
// there is one.
func (s *Store) LiveClaim(ctx context.Context, tenant, key string, now time.Time) (job.Claim, bool, error) {
	if err := ctx.Err(); err != nil {
		return job.Claim{}, false, err
	}
	var c job.Claim
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket([]byte(claimsBucket)).Get([]byte(tenant + "\x00" + key))
		if data == nil {
			return nil
		}
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("decode claim: %w", err)
		}
		found = c.Live(now)
		return nil
	})
	if err != nil || !found {
		return job.Claim{}, false, err
	}
	return c, true, nil
}

// Get returns the job with the given id or job.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (job.Job, error) {
	if err := ctx.Err(); err != nil {
		return job.Job{}, err
	}
	var j job.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		j, err = get(tx, id)
		return err
	})
	return j, err
}

// Update applies c to the job atomically and returns the new record, or
// job.ErrConflict (wrapped) when c's conditions do not hold.
func (s *Store) Update(ctx context.Context, id string, c job.Change) (job.Job, error) {
	return s.modify(ctx, id, "update", plain(c.Apply))
}

// plain is a change for modify that needs only the record.
func plain(change func(job.Job) (job.Job, error)) func(*bolt.Tx, job.Job) (job.Job, error) {
	return func(_ *bolt.Tx, j job.Job) (job.Job, error) { return change(j) }
}

// modify applies change to the record in one transaction, counting the
// slot the change takes or gives back and keeping the waiting index as the
// change moves the job; verb names the change in errors. change may read
// the transaction (an admission reads the slot counts).
func (s *Store) modify(ctx context.Context, id, verb string, change func(*bolt.Tx, job.Job) (job.Job, error)) (job.Job, error) {
	if err := ctx.Err(); err != nil {
		return job.Job{}, err
	}
	var (
		out     job.Job
		refused error
	)
	err := s.writes.Update(func(tx *bolt.Tx) error {
		out, refused = job.Job{}, nil
		j, err := get(tx, id)
		if err != nil {
			refused = err
			return nil
		}
		if out, err = change(tx, j); err != nil {
			refused = fmt.Errorf("%s job %s: %w", verb, id, err)
			return nil
		}
		if j.Slot != out.Slot {
			delta := 1 // admitted
			if j.Slot {
				delta = -1 // ended, giving the slot back
			}
			if err := countSlot(tx, j.Tenant, delta); err != nil {
				return err
			}
		}
		if delta, ok := job.CreditsDelta(j, job.Change{CreditsUsed: out.CreditsUsed}); ok {
			if err := countCredits(tx, out.Tenant, out.Request.Model, job.Day(out.UpdatedAt), delta); err != nil {
				return err
			}
		}
		if err := s.indexWaiting(tx, j, out); err != nil {
			return err
		}
		return put(tx, out)
	})
	return out, cmp.Or(err, refused)
}

// eachJob decodes every record in the jobs bucket and hands it to f.
func eachJob(tx *bolt.Tx, f func(job.Job)) error {
	return tx.Bucket([]byte(jobsBucket)).ForEach(func(_, v []byte) error {
		var j job.Job
		if err := json.Unmarshal(v, &j); err != nil {
			return err
		}
		f(j)
		return nil
	})
}

func put(tx *bolt.Tx, j job.Job) error {
	data, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	return tx.Bucket([]byte(jobsBucket)).Put([]byte(j.ID), data)
}

// Admit gives the waiting job id a slot if one is free under limits,
// failing with job.ErrFull if not and job.ErrConflict if the job is not
// waiting.
func (s *Store) Admit(ctx context.Context, id string, limits job.Limits, at time.Time) (job.Job, error) {
	admit := func(tx *bolt.Tx, j job.Job) (job.Job, error) {
		out, err := job.Admit(j, at)
		if err != nil {
			return out, err
		}
		if !inFlight(tx).Admits(limits, j.Tenant) {
			return out, job.ErrFull
		}
		return out, nil
	}
	// A read first: under a burst every dispatcher races for the same
	// slots down its own, soon stale, list of waiting jobs, so most
	// attempts find the job admitted already or no slot free. A read
	// tells them so beside the writer; a write would wait for a commit.
	// The write checks again.
	if err := s.db.View(func(tx *bolt.Tx) error {
		j, err := get(tx, id)
		if err != nil {
			return err
		}
		if _, err := admit(tx, j); err != nil {
			return fmt.Errorf("admit job %s: %w", id, err)
		}
		return nil
	}); err != nil {
		return job.Job{}, err
	}
	return s.modify(ctx, id, "admit", admit)
}

// Waiting returns up to n jobs waiting for a slot, oldest first: their id,
// tenant and creation time, from the index alone (as the DynamoDB store
// answers from its index), so that a dispatch over a long queue decodes no
// records.
func (s *Store) Waiting(ctx context.Context, n int) ([]job.Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var waiting []job.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(waitingBucket)).Cursor()
		for k, v := c.First(); k != nil && len(waiting) < n; k, v = c.Next() {
			at, id, ok := strings.Cut(string(k), "\x00")
			created, err := time.Parse(waitingTime, at)
			if !ok || err != nil {
				return fmt.Errorf("bad waiting index key %q", k)
			}
			waiting = append(waiting, job.Job{ID: id, Tenant: string(v), Status: job.Queued, Waiting: true, CreatedAt: created})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list waiting jobs: %w", err)
	}
	return waiting, nil
}

// QueuePosition is j's 1-based place among its tenant's jobs waiting for a
// slot, oldest first (the order admission takes a tenant's jobs in): one
// more than the tenant's waiting jobs created before it (ties by id). It
// reads the waiting index's copy in memory, no records. A job that no
// longer waits still gets the place it would have.
func (s *Store) QueuePosition(ctx context.Context, j job.Job) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return s.queues.before(j.Tenant, string(waitingKey(j))) + 1, nil
}

// indexWaiting keeps the waiting index, and its copy in memory once tx
// commits, in step with a job going from old (the zero Job for a new one)
// to j.
func (s *Store) indexWaiting(tx *bolt.Tx, old, j job.Job) error {
	b := tx.Bucket([]byte(waitingBucket))
	if old.Waiting && !j.Waiting {
		key := waitingKey(old)
		if err := b.Delete(key); err != nil {
			return err
		}
		tx.OnCommit(func() { s.queues.remove(old.Tenant, string(key)) })
	}
	if j.Waiting && !old.Waiting {
		key := waitingKey(j)
		if err := b.Put(key, []byte(j.Tenant)); err != nil {
			return err
		}
		tx.OnCommit(func() { s.queues.add(j.Tenant, string(key)) })
	}
	return nil
}

// waitingTime is the fixed-width form of creation times in the index, so
// that keys sort by time.
const waitingTime = "2006-01-02T15:04:05.000000000Z"

// waitingKey orders the index by creation time, then id; the value is the
// tenant.
func waitingKey(j job.Job) []byte {
	return []byte(j.CreatedAt.UTC().Format(waitingTime) + "\x00" + j.ID)
}

// InFlight counts the jobs holding a slot.
func (s *Store) InFlight(ctx context.Context) (job.InFlight, error) {
	if err := ctx.Err(); err != nil {
		return job.InFlight{}, err
	}
	var f job.InFlight
	err := s.db.View(func(tx *bolt.Tx) error { f = inFlight(tx); return nil })
	return f, err
}

func inFlight(tx *bolt.Tx) job.InFlight {
	f := job.InFlight{ByTenant: map[string]int{}}
	tx.Bucket([]byte(slotsBucket)).ForEach(func(k, v []byte) error {
		n, _ := strconv.Atoi(string(v))
		if tenant, ok := strings.CutPrefix(string(k), "t:"); ok && n > 0 {
			f.ByTenant[tenant] = n
		} else if string(k) == "total" {
			f.Total = n
		}
		return nil
	})
	return f
}

// RepairSlots recounts the jobs holding a slot (admitted and not ended)
// and, if the counts disagree, writes the recount over them. It returns the
// counts as they were and as they are now; they are equal when nothing was
// wrong. The recount is a read-only transaction, so a pass with nothing to
// repair writes nothing; a repair reads, recounts and writes again in one
// read-write transaction, which no admission or end can interleave (bbolt
// runs one writer at a time), so it is exact and never backs off.
func (s *Store) RepairSlots(ctx context.Context) (before, after job.InFlight, err error) {
	if err := ctx.Err(); err != nil {
		return job.InFlight{}, job.InFlight{}, err
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		before, after, err = recountSlots(tx)
		return err
	})
	if err == nil && !sameCounts(before, after) {
		err = s.db.Update(func(tx *bolt.Tx) error {
			if before, after, err = recountSlots(tx); err != nil || sameCounts(before, after) {
				return err
			}
			return writeSlots(tx, after)
		})
	}
	if err != nil {
		return job.InFlight{}, job.InFlight{}, fmt.Errorf("repair slot counters: %w", err)
	}
	return before, after, nil
}

// writeSlots replaces the slot counters with f. The bucket is recreated, so
// that the counts of tenants with no slot go too.
func writeSlots(tx *bolt.Tx, f job.InFlight) error {
	if err := tx.DeleteBucket([]byte(slotsBucket)); err != nil {
		return err
	}
	slots, err := tx.CreateBucket([]byte(slotsBucket))
	if err != nil {
		return err
	}
	if err := slots.Put([]byte("total"), []byte(strconv.Itoa(f.Total))); err != nil {
		return err
	}
	for tenant, n := range f.ByTenant {
		if err := slots.Put([]byte("t:"+tenant), []byte(strconv.Itoa(n))); err != nil {
			return err
		}
	}
	return nil
}

// recountSlots returns the slot counts as stored (tenants at zero left
// out) and as the jobs holding a slot make them.
func recountSlots(tx *bolt.Tx) (stored, counted job.InFlight, err error) {
	stored = job.InFlight{ByTenant: map[string]int{}}
	err = tx.Bucket([]byte(slotsBucket)).ForEach(func(k, v []byte) error {
		n, err := strconv.Atoi(string(v))
		if err != nil {
			n = 0 // unreadable: counted as nothing, and rewritten by a repair
		}
		if tenant, ok := strings.CutPrefix(string(k), "t:"); ok && n != 0 {
			stored.ByTenant[tenant] = n
		} else if string(k) == "total" {
			stored.Total = n
		}
		return nil
	})
	if err != nil {
		return job.InFlight{}, job.InFlight{}, err
	}
	counted = job.InFlight{ByTenant: map[string]int{}}
	err = eachJob(tx, func(j job.Job) {
		if j.Slot && !j.Status.Terminal() {
			counted.Total++
			counted.ByTenant[j.Tenant]++
		}
	})
	if err != nil {
		return job.InFlight{}, job.InFlight{}, err
	}
	return stored, counted, nil
}

// sameCounts reports whether two counts of recountSlots agree: both leave
// tenants at zero out.
func sameCounts(a, b job.InFlight) bool {
	return a.Total == b.Total && maps.Equal(a.ByTenant, b.ByTenant)
}

// countSlot adds delta to the global and the tenant's count.
func countSlot(tx *bolt.Tx, tenant string, delta int) error {
	b := tx.Bucket([]byte(slotsBucket))
	for _, k := range []string{"total", "t:" + tenant} {
		n, _ := strconv.Atoi(string(b.Get([]byte(k))))
		if err := b.Put([]byte(k), []byte(strconv.Itoa(max(n+delta, 0)))); err != nil {
			return fmt.Errorf("count slots: %w", err)
		}
	}
	return nil
}

// List returns a tenant's jobs newest first (ties by id), at most limit of
// them, only those f matches. The cursor is the
// position after which the next page starts; "" comes back at the end.
func (s *Store) List(ctx context.Context, tenant string, f job.Filter, limit int, cursor string) ([]job.Job, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var after *listPosition
	if cursor != "" {
		p, err := parseListCursor(cursor, tenant)
		if err != nil {
			return nil, "", err
		}
		after = &p
	}
	var all []job.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		return eachJob(tx, func(j job.Job) {
			if j.Tenant == tenant && f.Matches(j) {
				all = append(all, j)
			}
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", tenant, err)
	}
	slices.SortFunc(all, func(a, b job.Job) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if after != nil {
		i, _ := slices.BinarySearchFunc(all, *after, func(j job.Job, p listPosition) int {
			if c := p.CreatedAt.Compare(j.CreatedAt); c != 0 {
				return c
			}
			return strings.Compare(p.ID, j.ID)
		})
		for i < len(all) && all[i].ID == after.ID && all[i].CreatedAt.Equal(after.CreatedAt) {
			i++
		}
		all = all[i:]
	}
	if limit <= 0 || limit >= len(all) {
		return all, "", nil
	}
	page, last := all[:limit], all[limit-1]
	next, err := json.Marshal(listPosition{Tenant: tenant, CreatedAt: last.CreatedAt, ID: last.ID})
	if err != nil {
		return nil, "", err
	}
	return page, base64.RawURLEncoding.EncodeToString(next), nil
}

type listPosition struct {
	Tenant    string    `json:"tenant"`
	CreatedAt time.Time `json:"created_at"`
	ID        string    `json:"id"`
}

func parseListCursor(cursor, tenant string) (listPosition, error) {
	data, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return listPosition{}, fmt.Errorf("%w: %v", job.ErrBadCursor, err)
	}
	var p listPosition
	if err := json.Unmarshal(data, &p); err != nil || p.ID == "" {
		return listPosition{}, fmt.Errorf("%w: not a position", job.ErrBadCursor)
	}
	if p.Tenant != tenant {
		return listPosition{}, fmt.Errorf("%w: cursor is for another tenant", job.ErrBadCursor)
	}
	return p, nil
}

// OpenJobs returns the ids of every job not yet terminal or whose end was
// not yet announced, soonest deadline first. It reads the whole bucket,
// which suits local mode's sizes.
func (s *Store) OpenJobs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var open []job.Job
	err := s.db.View(func(tx *bolt.Tx) error {
		return eachJob(tx, func(j job.Job) {
			if !j.Status.Terminal() || j.AnnouncedAt == nil {
				open = append(open, j)
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list open jobs: %w", err)
	}
	slices.SortFunc(open, func(a, b job.Job) int { return a.Deadline.Compare(b.Deadline) })
	ids := make([]string, len(open))
	for i, j := range open {
		ids[i] = j.ID
	}
	return ids, nil
}

func get(tx *bolt.Tx, id string) (job.Job, error) {
	data := tx.Bucket([]byte(jobsBucket)).Get([]byte(id))
	if data == nil {
		return job.Job{}, fmt.Errorf("job %s: %w", id, job.ErrNotFound)
	}
	var j job.Job
	if err := json.Unmarshal(data, &j); err != nil {
		return job.Job{}, fmt.Errorf("decode job %s: %w", id, err)
	}
	return j, nil
}
