// Command vidgen-local runs all of vidgen on this machine (make run): the
// API, the state machines, the job store and, without AIMLAPI_KEY, the
// upstream simulator. Configuration comes from the environment; see
// docs/configuration.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// JSON lines on stderr at VIDGEN_LOG_LEVEL, as the Lambdas log.
	log, lerr := logs.FromEnv(os.Getenv, os.Stderr)
	cfg, err := local.ConfigFromEnv(os.Getenv)
	if err = errors.Join(err, lerr); err != nil {
		fmt.Fprintln(os.Stderr, "vidgen-local:", err)
		os.Exit(2)
	}
	cfg.Log = log
	rt, err := local.Start(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vidgen-local:", err)
		os.Exit(1)
	}
	fmt.Print(rt.Banner())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-rt.Done():
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("server stopped", "err", err)
		}
	}
	if err := rt.Close(); err != nil {
		log.Error("shutdown", "err", err)
		os.Exit(1)
	}
}
