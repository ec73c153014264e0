// Package failfn builds the fail function's handler: it links the
// DynamoDB client alone.
package failfn

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/steps"
)

// New builds the fail function's handler: it records why a job failed.
func New(ctx context.Context, getenv func(string) string) (lambdafn.Handler[steps.FailInput, steps.Output], error) {
	env, cfg, log, err := lambdafn.Load(ctx, "fail", getenv)
	if err != nil {
		return nil, err
	}
	rec := lambdafn.Recorder(getenv)
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), dynamostore.Config{Table: env[lambdafn.EnvTable], Log: log,
		SpendMissed: lambdafn.SpendMissed(rec)})
	return lambdafn.Steps(store, log, rec).Fail, nil
}
