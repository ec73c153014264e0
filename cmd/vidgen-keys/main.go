// Command vidgen-keys creates, lists and revokes vidgen's client API keys.
// With VIDGEN_KEYS_TABLE set it manages the deployed keys table (AWS
// credentials and region as for the AWS CLI); otherwise local mode's
// VIDGEN_DATA_DIR/jobs.db. See apikey.Usage; vidgen keys runs the same
// commands (cli.Keys).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := cli.Keys(ctx, os.Args[1:], os.Stdout, os.Getenv)
	stop()
	var usage *apikey.UsageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "vidgen-keys:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "vidgen-keys:", err)
		os.Exit(1)
	}
}
