// Command vidgen-keys creates, lists and revokes vidgen's client API keys.
// With VIDGEN_KEYS_TABLE set it manages the deployed keys table (AWS
// credentials and region as for the AWS CLI); otherwise local mode's
// VIDGEN_DATA_DIR/jobs.db. See apikey.Usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/boltkeys"
	"github.com/vidgen/vidgen/internal/apikey/dynamokeys"
	"github.com/vidgen/vidgen/internal/clock"
)

// defaultDataDir is local mode's default VIDGEN_DATA_DIR.
const defaultDataDir = ".vidgen"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
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

func run(ctx context.Context, args []string) error {
	// Help and a missing command need no store; do not create one for them.
	if len(args) == 0 || args[0] == "help" || strings.HasPrefix(args[0], "-") {
		return apikey.Run(ctx, args, os.Stdout, nil, clock.Real{})
	}
	store, closeStore, err := open(ctx)
	if err != nil {
		return err
	}
	return errors.Join(apikey.Run(ctx, args, os.Stdout, store, clock.Real{}), closeStore())
}

// open returns the store the environment names and how to release it.
func open(ctx context.Context) (apikey.Store, func() error, error) {
	if table := os.Getenv("VIDGEN_KEYS_TABLE"); table != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("load AWS config: %w", err)
		}
		return dynamokeys.New(dynamodb.NewFromConfig(cfg), table), func() error { return nil }, nil
	}
	dir := os.Getenv("VIDGEN_DATA_DIR")
	if dir == "" {
		dir = defaultDataDir
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data dir: %w", err)
	}
	s, err := boltkeys.Open(filepath.Join(dir, "jobs.db"))
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}
