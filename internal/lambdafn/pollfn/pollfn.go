// Package pollfn builds the poll function's handler: it links the
// DynamoDB, Secrets Manager, S3, EventBridge and Step Functions clients
// (the last two for the finish function's work on the jobs it sees end).
package pollfn

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/finishfn"
	"github.com/vidgen/vidgen/internal/secret"
	"github.com/vidgen/vidgen/internal/steps"
)

// New builds the poll function's handler: it asks the upstream about a
// job and decides the next wait.
func New(ctx context.Context, getenv func(string) string) (lambdafn.Handler[steps.Input, steps.Output], error) {
	env, cfg, log, err := lambdafn.Load(ctx, "poll", getenv)
	if err != nil {
		return nil, err
	}
	rec := lambdafn.Recorder(getenv)
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), dynamostore.Config{Table: env[lambdafn.EnvTable], Log: log,
		SpendMissed: lambdafn.SpendMissed(rec)})
	h := lambdafn.Steps(store, log, rec)
	keys := secret.NewCache(secretsmanager.NewFromConfig(cfg), env[lambdafn.EnvUpstreamSecret], 0, nil)
	if err := lambdafn.UpstreamSteps(h, env, store, keys.Value, secret.Unset); err != nil {
		return nil, err
	}
	h.Archiver = &archive.Archiver{
		Store:        s3blob.New(s3.NewFromConfig(cfg), env[lambdafn.EnvBucket]),
		AllowedHosts: lambdafn.Hosts(env[lambdafn.EnvVideoHosts]),
	}
	// Poll announces the jobs it sees end, as Finish does.
	if h.Finisher, err = finishfn.Notifier(env, cfg, log, rec); err != nil {
		return nil, err
	}
	return h.Poll, nil
}
