// Package groupcommit runs concurrent bbolt write transactions together,
// in one transaction and one commit: bbolt has one writer at a time, and
// each commit syncs the file to disk, so under load writers queue behind
// each other's syncs. A group commit pays one sync for all the writes that
// arrived while the previous commit ran.
//
// It is bbolt's DB.Batch without the wait: Batch holds every call for up
// to MaxBatchDelay (10 ms by default) to collect others, even when it is
// alone, which would add that much to each write of an idle local runtime
// (10 s of simulated time per state at a time scale of 1000). Here a call
// that finds no commit running starts one at once; calls that arrive
// during a commit form the next group.
package groupcommit

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// MaxGroup bounds the calls one transaction runs: a larger group would
// hold more dirty pages in memory and make its first caller wait longer.
const MaxGroup = 1000

// Committer groups the write transactions of one database.
type Committer struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []call
	running bool // a goroutine is committing groups
}

type call struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// errSolo tells a caller that its fn failed inside a group: it runs again
// alone.
var errSolo = errors.New("groupcommit: run alone")

// New returns a Committer for db.
func New(db *bolt.DB) *Committer { return &Committer{db: db} }

// Update runs fn in a read-write transaction, possibly shared with other
// calls, and returns once that transaction has committed.
//
// The contract is bbolt's DB.Batch: fn may run more than once, so it must
// be idempotent. It must set every result it hands back afresh on each run
// (a run may see the writes of calls grouped before it, or not) and act
// outside the transaction only after Update returns. If fn returns an
// error, the shared transaction is rolled back, the other calls run again
// without it, and fn runs once more alone, in a transaction of its own, as
// with DB.Update: its error (and rollback) is then fn's alone. So a fn
// should return an error only when it must undo its writes; a refusal that
// wrote nothing is better handed back through a variable, keeping the
// group intact.
func (c *Committer) Update(fn func(*bolt.Tx) error) error {
	done := make(chan error, 1)
	c.mu.Lock()
	c.queue = append(c.queue, call{fn: fn, done: done})
	if !c.running {
		c.running = true
		go c.drain()
	}
	c.mu.Unlock()
	err := <-done
	if errors.Is(err, errSolo) {
		return c.db.Update(fn)
	}
	return err
}

// drain commits groups until no call waits.
func (c *Committer) drain() {
	for {
		c.mu.Lock()
		n := min(len(c.queue), MaxGroup)
		if n == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		group := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.mu.Unlock()
		c.commit(group)
	}
}

// commit runs group in one transaction, taking out and sending back to
// run alone any call whose fn fails, until the rest commit together.
func (c *Committer) commit(group []call) {
	for len(group) > 0 {
		failed := -1
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, cl := range group {
				if err := safely(cl.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			group[failed].done <- errSolo
			group = append(group[:failed], group[failed+1:]...)
			continue
		}
		for _, cl := range group {
			cl.done <- err // nil, or the commit's own failure
		}
		return
	}
}

// safely runs fn, turning a panic into an error: the call then runs alone
// on its caller's goroutine, where the panic happens again, as it would
// have without grouping.
func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(tx)
}
