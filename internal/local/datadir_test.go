package local

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// A second runtime on a data dir in use is refused at once, saying which
// process has the dir and where it serves, and leaves the first alone;
// once the first closes, the dir is free again.
func TestDataDirInUse(t *testing.T) {
	cfg := testConfig(t)
	first, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = Start(cfg)
	want := fmt.Sprintf("%s is used by vidgen-local pid %d serving %s; stop it, or set VIDGEN_DATA_DIR", cfg.DataDir, os.Getpid(), first.URL)
	if !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), want) {
		t.Fatalf("second Start: %v\nwant ErrDataDirInUse saying %q", err, want)
	}
	if r := call(t, "GET", first.URL+"/v2/video/generations", keyA, "", ""); r.status != 200 {
		t.Fatalf("the first runtime after the refused second: %d %s", r.status, r.raw)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again := start(t, cfg)
	if r := call(t, "GET", again.URL+"/v2/video/generations", keyA, "", ""); r.status != 200 {
		t.Fatalf("a runtime after the first closed: %d %s", r.status, r.raw)
	}
}
