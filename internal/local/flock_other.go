//go:build !unix

package local

import "os"

// tryLock locks nothing where flock is missing: bbolt's own lock on
// jobs.db still keeps a second runtime out, after its timeout.
func tryLock(*os.File) (busy bool, err error) { return false, nil }
