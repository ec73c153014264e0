package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	bolt "go.etcd.io/bbolt"
)

// scanPosition is QueuePosition read from the index in the file, as it was
// before the copy in memory: the oracle the copy must agree with.
func scanPosition(t *testing.T, s *Store, j job.Job) int {
	t.Helper()
	mine, pos := waitingKey(j), 1
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(waitingBucket)).Cursor()
		for k, v := c.First(); k != nil && bytes.Compare(k, mine) < 0; k, v = c.Next() {
			if string(v) == j.Tenant {
				pos++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

// The queue positions from memory agree with the index in the file after
// concurrent creates, admissions and ends, committed in shared groups,
// and again after the file is reopened.
func TestQueuePositionsFollowTheIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var jobs []job.Job
	for i := range 300 {
		jobs = append(jobs, job.Job{ID: fmt.Sprintf("j%03d", i), Tenant: fmt.Sprintf("t%d", i%3), Status: job.Queued, Waiting: true,
			// Creation times out of order, some equal: ties go by id.
			CreatedAt: t0.Add(time.Duration((i*7)%50) * time.Second), Deadline: t0.Add(time.Hour)})
	}
	run := func(f func(j job.Job) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(jobs))
		for _, j := range jobs {
			wg.Go(func() { errs <- f(j) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(s *Store, when string) {
		t.Helper()
		for _, j := range jobs {
			got, err := s.QueuePosition(ctx, j)
			if want := scanPosition(t, s, j); err != nil || got != want {
				t.Fatalf("%s: QueuePosition(%s) = %d, %v; the index says %d", when, j.ID, got, err, want)
			}
		}
	}
	run(func(j job.Job) error { return s.Create(ctx, j) })
	check(s, "created")
	run(func(j job.Job) error {
		var err error
		switch n := j.ID[3] - '0'; {
		case n%3 == 0: // a third admitted
			_, err = s.Admit(ctx, j.ID, job.Limits{}, t0)
		case n%3 == 1: // a third ended while waiting
			_, err = s.Update(ctx, j.ID, job.Fail(t0, job.ErrNameCancelled, "cancelled"))
		}
		return err
	})
	check(s, "admitted and ended")
	if got := scanPosition(t, s, jobs[len(jobs)-1]); got >= len(jobs)/3 {
		t.Fatalf("the changes left %d ahead of the last job: not a third of them", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s, "reopened")
}
