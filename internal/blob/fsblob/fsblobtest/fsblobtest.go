// Package fsblobtest gives a test a blob store of its own: a file store in
// the test's temporary directory. Only tests import it.
package fsblobtest

import (
	"testing"

	"github.com/vidgen/vidgen/internal/blob/fsblob"
)

// New opens a fresh, empty file store under t.TempDir.
func New(t testing.TB) *fsblob.Store {
	t.Helper()
	s, err := fsblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
