// Package boltkeystest gives a test an API key store of its own: an
// embedded (bbolt) store in the test's temporary directory, closed when the
// test ends. Only tests import it.
package boltkeystest

import (
	"path/filepath"
	"testing"

	"github.com/vidgen/vidgen/internal/apikey/boltkeys"
)

// New opens a fresh, empty key store under t.TempDir.
func New(t testing.TB) *boltkeys.Store {
	t.Helper()
	s, err := boltkeys.Open(filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
