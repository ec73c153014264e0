// Command vidgen-local runs all of vidgen on this machine (make run): the
// API, the web console, the state machines, the job store and, without
// AIMLAPI_KEY, the upstream simulator. Configuration comes from the
// environment; see docs/configuration.md. Ctrl-C (SIGINT) or SIGTERM
// shuts it down cleanly, with exit status 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/vidgen/vidgen/internal/local"
	"github.com/vidgen/vidgen/internal/logs"
)

func main() {
	if local.Help(os.Args[1:], os.Stdout) {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal a second one stops the process at once, as
	// it would without this handler.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Getenv, os.Stdout, os.Stderr))
}

// run serves until ctx ends and returns the exit status: 0 after a clean
// shutdown, 1 when the runtime cannot start or stop, 2 for bad settings.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	// JSON lines on stderr at VIDGEN_LOG_LEVEL, as the Lambdas log.
	log, lerr := logs.FromEnv(getenv, stderr)
	cfg, err := local.ConfigFromEnv(getenv)
	if err = errors.Join(err, lerr); err != nil {
		fmt.Fprintln(stderr, "vidgen-local:", err)
		return 2
	}
	cfg.Log = log
	defer local.SetGC(getenv)()
	rt, err := local.Start(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "vidgen-local:", err)
		return 1
	}
	fmt.Fprint(stdout, rt.Banner())

	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-rt.Done():
		// Only Close ends the server cleanly; this is not that.
		log.Error("server stopped", "err", err)
		code = 1
	}
	if err := rt.Close(); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return code
}
