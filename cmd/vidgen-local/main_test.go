package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// env is a configuration for run: any free port, a fresh data dir.
func env(dir string) func(string) string {
	vars := map[string]string{
		"VIDGEN_ADDR": "127.0.0.1:0", "VIDGEN_DATA_DIR": dir, "VIDGEN_TEMPLATE": "../../template.yaml",
		"VIDGEN_LOG_LEVEL": "error",
	}
	return func(k string) string { return vars[k] }
}

// started runs run in the background and returns its URL, once the banner
// says it serves, and its exit status, once it returns.
func started(t *testing.T, ctx context.Context, getenv func(string) string) (string, <-chan int) {
	t.Helper()
	r, w := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, getenv, w, io.Discard)
		w.Close()
	}()
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		if url, ok := strings.CutPrefix(lines.Text(), "vidgen local runtime on "); ok {
			go io.Copy(io.Discard, r)
			return url, code
		}
	}
	t.Fatalf("run ended with status %d before it served", <-code)
	return "", nil
}

// Ctrl-C (the context ending) shuts the runtime down cleanly: exit status
// 0, so make run ends without an error.
func TestInterruptExitsZero(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	url, code := started(t, ctx, env(t.TempDir()))
	resp, err := http.Get(url + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit status %d after an interrupt, want 0", c)
	}
}

// A second runtime on a data dir in use exits 1 at once and says which
// process has the dir; bad settings exit 2.
func TestExitStatuses(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	url, first := started(t, ctx, env(dir))
	var stderr strings.Builder
	if c := run(t.Context(), env(dir), io.Discard, &stderr); c != 1 ||
		!strings.Contains(stderr.String(), "is used by vidgen-local pid") || !strings.Contains(stderr.String(), url) {
		t.Errorf("second runtime on %s: status %d, stderr %q", dir, c, stderr.String())
	}
	cancel()
	if c := <-first; c != 0 {
		t.Errorf("first runtime: exit status %d, want 0", c)
	}

	bad := func(k string) string {
		if k == "VIDGEN_TIME_SCALE" {
			return "fast"
		}
		return env(dir)(k)
	}
	stderr.Reset()
	if c := run(t.Context(), bad, io.Discard, &stderr); c != 2 || !strings.Contains(stderr.String(), "VIDGEN_TIME_SCALE") {
		t.Errorf("bad VIDGEN_TIME_SCALE: status %d, stderr %q", c, stderr.String())
	}
}
