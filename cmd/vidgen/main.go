// Command vidgen is vidgen's command line: submit a video generation and
// follow it with a progress bar, get, list, cancel and download jobs, run
// a batch from a JSON Lines file, manage API keys and verify webhooks.
// Install it with go install github.com/vidgen/vidgen/cmd/vidgen@latest;
// docs/cli.md is its manual.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vidgen/vidgen/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
