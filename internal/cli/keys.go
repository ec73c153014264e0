package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/boltkeys"
	"github.com/vidgen/vidgen/internal/apikey/dynamokeys"
	"github.com/vidgen/vidgen/internal/clock"
)

// DefaultDataDir is local mode's default VIDGEN_DATA_DIR.
const DefaultDataDir = ".vidgen"

func (r *runner) keys(ctx context.Context, args []string) error {
	err := Keys(ctx, args, r.env.Stdout, r.env.Getenv)
	var ue *apikey.UsageError
	if errors.As(err, &ue) {
		return &usageError{msg: ue.Msg}
	}
	return err
}

// Keys runs a vidgen-keys command line (create, list, revoke) on the key
// store the environment names: the DynamoDB table VIDGEN_KEYS_TABLE (AWS
// credentials and region as for the AWS CLI), else local mode's
// VIDGEN_DATA_DIR/jobs.db. Both vidgen keys and vidgen-keys run it; a bad
// command line is an *apikey.UsageError.
func Keys(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	// Help and a missing command need no store; do not create one for them.
	if len(args) == 0 || args[0] == "help" || strings.HasPrefix(args[0], "-") {
		return apikey.Run(ctx, args, stdout, nil, clock.Real{})
	}
	store, closeStore, err := openKeys(ctx, getenv)
	if err != nil {
		return err
	}
	return errors.Join(apikey.Run(ctx, args, stdout, store, clock.Real{}), closeStore())
}

// openKeys returns the store the environment names and how to release it.
func openKeys(ctx context.Context, getenv func(string) string) (apikey.Store, func() error, error) {
	if table := getenv("VIDGEN_KEYS_TABLE"); table != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("load AWS config: %w", err)
		}
		return dynamokeys.New(dynamodb.NewFromConfig(cfg), table), func() error { return nil }, nil
	}
	dir := getenv("VIDGEN_DATA_DIR")
	if dir == "" {
		dir = DefaultDataDir
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
