package groupcommit

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openDB(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "test.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("b"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

func put(k string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(k), []byte("v")) }
}

func stored(t *testing.T, db *bolt.DB, k string) bool {
	t.Helper()
	var ok bool
	if err := db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket([]byte("b")).Get([]byte(k)) != nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ok
}

// hold starts a call whose fn blocks inside its transaction until release
// is closed, and returns once it runs: calls made meanwhile queue.
func hold(t *testing.T, c *Committer) (release chan struct{}, done chan error) {
	t.Helper()
	release, done, inside := make(chan struct{}), make(chan error, 1), make(chan struct{})
	go func() {
		done <- c.Update(func(tx *bolt.Tx) error {
			close(inside)
			<-release
			return put("first")(tx)
		})
	}()
	<-inside
	return release, done
}

// waitQueued returns once n calls wait in c's queue.
func waitQueued(c *Committer, n int) {
	for {
		c.mu.Lock()
		queued := len(c.queue)
		c.mu.Unlock()
		if queued >= n {
			return
		}
		runtime.Gosched()
	}
}

func TestCallsMadeDuringACommitShareTheNext(t *testing.T) {
	db := openDB(t)
	c := New(db)
	release, firstDone := hold(t, c)

	const n = 50
	txIDs := make([]int, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = c.Update(func(tx *bolt.Tx) error {
				txIDs[i] = tx.ID()
				return put(fmt.Sprint("k", i))(tx)
			})
		})
	}
	waitQueued(c, n)
	close(release)
	wg.Wait()
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if txIDs[i] != txIDs[0] {
			t.Fatalf("call %d ran in transaction %d, call 0 in %d: want one transaction for the calls queued together", i, txIDs[i], txIDs[0])
		}
		if !stored(t, db, fmt.Sprint("k", i)) {
			t.Fatalf("call %d's write is missing", i)
		}
	}
	if !stored(t, db, "first") {
		t.Fatal("the first call's write is missing")
	}
}

func TestAFailingCallRunsAloneAndTheOthersCommit(t *testing.T) {
	db := openDB(t)
	c := New(db)
	release, firstDone := hold(t, c)

	refused := errors.New("refused")
	var mu sync.Mutex
	runs := map[string]int{}
	count := func(k string) {
		mu.Lock()
		runs[k]++
		mu.Unlock()
	}
	var wg sync.WaitGroup
	var goodErr, badErr error
	wg.Go(func() {
		goodErr = c.Update(func(tx *bolt.Tx) error { count("good"); return put("good")(tx) })
	})
	waitQueued(c, 1)
	wg.Go(func() {
		badErr = c.Update(func(tx *bolt.Tx) error {
			count("bad")
			if err := put("bad")(tx); err != nil {
				return err
			}
			return refused
		})
	})
	waitQueued(c, 2)
	close(release)
	wg.Wait()
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if goodErr != nil || !stored(t, db, "good") {
		t.Fatalf("good call: %v, stored %v; want committed", goodErr, stored(t, db, "good"))
	}
	if !errors.Is(badErr, refused) || stored(t, db, "bad") {
		t.Fatalf("failing call: %v, stored %v; want its error and its write rolled back", badErr, stored(t, db, "bad"))
	}
	// good ran before bad in the group, was rolled back with it and ran
	// again; bad ran in the group and then alone.
	if runs["good"] != 2 || runs["bad"] != 2 {
		t.Fatalf("runs = %v, want good 2 (group, group again) and bad 2 (group, alone)", runs)
	}
}

func TestALoneCallCommits(t *testing.T) {
	db := openDB(t)
	c := New(db)
	for i := range 3 {
		if err := c.Update(put(fmt.Sprint("k", i))); err != nil {
			t.Fatal(err)
		}
		if !stored(t, db, fmt.Sprint("k", i)) {
			t.Fatalf("write %d missing after Update returned", i)
		}
	}
}

func TestAPanicReachesItsCaller(t *testing.T) {
	db := openDB(t)
	c := New(db)
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want the fn's own panic", p)
		}
		// The committer still works.
		if err := c.Update(put("after")); err != nil || !stored(t, db, "after") {
			t.Fatalf("after a panic: %v", err)
		}
	}()
	c.Update(func(*bolt.Tx) error { panic("boom") })
	t.Fatal("Update returned after its fn panicked")
}

func TestGroupsAreBounded(t *testing.T) {
	db := openDB(t)
	c := New(db)
	release, firstDone := hold(t, c)
	n := MaxGroup + 10
	txIDs := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := c.Update(func(tx *bolt.Tx) error { txIDs[i] = tx.ID(); return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(c, n)
	close(release)
	wg.Wait()
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	sizes := map[int]int{}
	for _, id := range txIDs {
		sizes[id]++
	}
	if len(sizes) != 2 {
		t.Fatalf("%d calls ran in %d transactions %v, want 2", n, len(sizes), sizes)
	}
	for id, size := range sizes {
		if size > MaxGroup {
			t.Fatalf("transaction %d ran %d calls, more than %d", id, size, MaxGroup)
		}
	}
}
