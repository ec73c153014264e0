// Package bolttest gives a test a job store of its own: an embedded
// (bbolt) store in the test's temporary directory, holding the jobs the test
// starts from and closed when the test ends. Only tests import it.
package bolttest

import (
	"path/filepath"
	"testing"

	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/job"
)

// New opens a fresh store under t.TempDir and creates jobs in it, in order.
func New(t testing.TB, jobs ...job.Job) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, j := range jobs {
		if err := s.Create(t.Context(), j); err != nil {
			t.Fatalf("create job %s: %v", j.ID, err)
		}
	}
	return s
}
