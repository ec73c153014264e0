package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// lockName is the file in the data dir that says which process uses it.
const lockName = "vidgen-local.lock"

// ErrDataDirInUse is Start's error when another runtime holds the data dir.
var ErrDataDirInUse = errors.New("data directory in use")

// dataDirLock holds a data dir for one runtime. The lock is the operating
// system's (flock), so it ends with the process however that ends, even
// kill -9; the file's text only says who holds it, for the next one to
// report.
type dataDirLock struct{ f *os.File }

// lockDataDir takes dir for this process or says at once which process
// has it; without it the second runtime waited on bbolt's own lock and
// failed with a bare "timeout".
func lockDataDir(dir string) (*dataDirLock, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	busy, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the data dir: %w", err)
	}
	if busy {
		f.Close()
		holder, _ := os.ReadFile(path)
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another process"
		}
		return nil, fmt.Errorf("%w: %s is used by %s; stop it, or set VIDGEN_DATA_DIR to another directory", ErrDataDirInUse, dir, who)
	}
	l := &dataDirLock{f: f}
	l.note("")
	return l, nil
}

// note records who holds the lock: this process and, once it listens,
// where it serves.
func (l *dataDirLock) note(url string) {
	who := fmt.Sprintf("vidgen-local pid %d", os.Getpid())
	if url != "" {
		who += " serving " + url
	}
	l.f.Truncate(0)
	l.f.WriteAt([]byte(who+"\n"), 0)
}

// release lets another runtime have the dir. The file stays: removing it
// would race a runtime that has just opened it.
func (l *dataDirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the only descriptor releases the flock
	l.f = nil
	return err
}
