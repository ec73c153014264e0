// Package apifn builds the api function's handler: it links the DynamoDB,
// Step Functions, S3 and Secrets Manager clients.
package apifn

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/dynamokeys"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/intake"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/secret"
	"github.com/vidgen/vidgen/internal/sfnexec"
)

// New builds the api function's handler: the HTTP API behind API Gateway.
func New(ctx context.Context, getenv func(string) string) (lambdafn.Handler[events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse], error) {
	in, err := intake.Load(ctx, "api", getenv)
	if err != nil {
		return nil, err
	}
	sm := secretsmanager.NewFromConfig(in.Cfg)
	cursor := secret.NewCache(sm, in.Env[lambdafn.EnvCursorSecret], time.Hour, nil)
	bucket := s3.NewFromConfig(in.Cfg)
	spendCap, err := lambdafn.SpendCap(in.Env, in.Store)
	if err != nil {
		return nil, err
	}
	h := &api.Handler{
		SpendCap:  spendCap,
		Metrics:   in.Rec,
		Admission: in.Admit,
		CursorKey: func(ctx context.Context) ([]byte, error) {
			v, err := cursor.Value(ctx)
			return []byte(v), err
		},
		Store:   in.Store,
		Starter: &sfnexec.Starter{Client: in.States, StateMachineARN: in.Env[lambdafn.EnvStateMachine]},
		// Keys are resolved through the keys table, each answer kept for
		// apikey.DefaultTTL; the api function needs them only for
		// requests that bypass the authorizer.
		Keys:         &apikey.Resolver{Store: dynamokeys.New(dynamodb.NewFromConfig(in.Cfg), in.Env[lambdafn.EnvKeysTable])},
		Clock:        clock.Real{},
		Deadline:     in.Deadline,
		QueueTimeout: in.Queue,
		Log:          in.Log,
		Blobs:        s3blob.New(bucket, in.Env[lambdafn.EnvBucket]),
		// Presigning is local computation with the function's own
		// credentials, so the role needs s3:GetObject on the bucket.
		Links: s3blob.NewLinks(s3.NewPresignClient(bucket), in.Env[lambdafn.EnvBucket], nil),
		// Estimates come from the deployment's learned times, as the Poll
		// steps' decisions do (docs/api.md).
		Estimator:      estimator(in.Store, in.Log),
		CheckCallback:  func(u string) error { return notify.CheckURL(u, false) },
		WebhookSecrets: lambdafn.WebhookSecrets{Master: secret.NewCache(sm, in.Env[lambdafn.EnvWebhookSecret], time.Hour, nil)},
		Health: []api.HealthCheck{
			api.StoreAnswers(in.Store),
			{Name: api.CheckStateMachines, Check: func(context.Context) error { return lambdafn.MachineConfigured(in.Env[lambdafn.EnvStateMachine]) }},
			{Name: api.CheckUpstreamKey, Check: upstreamKeyCheck(sm, in.Env[lambdafn.EnvUpstreamSecret], time.Now).Check},
		},
	}
	return h.Handle, nil
}

// estimator is the api's ETAs: the steps' own policy (lambdafn.Policy), so
// estimates and the Polls' decisions agree, on the deployment's learned
// times.
func estimator(store gentime.Store, log *slog.Logger) gentime.Estimator {
	return gentime.Estimator{Policy: lambdafn.Policy(), Times: &gentime.Cache{Store: store, Clock: clock.Real{}, Log: log}}
}

// upstreamKeyCheck tells whether the upstream key secret has a value, from
// its metadata alone: the api function never reads the key.
func upstreamKeyCheck(api secret.DescribeAPI, id string, now func() time.Time) *secret.ValueCheck {
	return &secret.ValueCheck{API: api, ID: id, Label: "the upstream key secret", Setting: lambdafn.EnvUpstreamSecret, Now: now}
}
