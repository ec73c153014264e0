// Package submitfn builds the submit function's handler: it links the
// DynamoDB, Secrets Manager, S3 and Step Functions clients.
package submitfn

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/secret"
	"github.com/vidgen/vidgen/internal/sfnexec"
	"github.com/vidgen/vidgen/internal/steps"
)

// New builds the submit function's handler: it submits a job to the
// upstream at most once.
func New(ctx context.Context, getenv func(string) string) (lambdafn.Handler[steps.Input, steps.Output], error) {
	env, cfg, log, err := lambdafn.Load(ctx, "submit", getenv)
	if err != nil {
		return nil, err
	}
	h, err := Handlers(env, cfg, log, lambdafn.Recorder(getenv))
	if err != nil {
		return nil, err
	}
	return h.Submit, nil
}

// Handlers builds the submit function's step handlers from its loaded
// environment; the register function submits the job it registers with
// them (steps.Registrar.Submitter).
func Handlers(env map[string]string, cfg aws.Config, log *slog.Logger, rec *metrics.Recorder) (*steps.Handlers, error) {
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), dynamostore.Config{Table: env[lambdafn.EnvTable], Log: log,
		SpendMissed: lambdafn.SpendMissed(rec)})
	h := lambdafn.Steps(store, log, rec)
	keys := secret.NewCache(secretsmanager.NewFromConfig(cfg), env[lambdafn.EnvUpstreamSecret], 0, nil)
	if err := lambdafn.UpstreamSteps(h, env, store, keys.Value, secret.Unset); err != nil {
		return nil, err
	}
	h.Blobs = s3blob.New(s3.NewFromConfig(cfg), env[lambdafn.EnvBucket])
	h.Tasks = sfnexec.Tasks{Client: sfn.NewFromConfig(cfg)}
	spendCap, err := lambdafn.SpendCap(env, store)
	if err != nil {
		return nil, err
	}
	h.SpendCap = spendCap
	return h, nil
}
