// Package webhookfn builds the webhook function's handler: it links the
// DynamoDB and Secrets Manager clients.
package webhookfn

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/secret"
)

// New builds the webhook function's handler: one signed delivery attempt
// of an ended job to its callback_url.
func New(ctx context.Context, getenv func(string) string) (lambdafn.Handler[notify.DeliverInput, notify.Delivery], error) {
	env, cfg, log, err := lambdafn.Load(ctx, "webhook", getenv)
	if err != nil {
		return nil, err
	}
	rec := lambdafn.Recorder(getenv)
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), dynamostore.Config{Table: env[lambdafn.EnvTable], Log: log,
		SpendMissed: lambdafn.SpendMissed(rec)})
	n := &notify.Notifier{Store: store, Log: log, Metrics: rec}
	// The guard refuses private, loopback and link-local receivers, at
	// the URL and again at every connection.
	n.Webhooks = &notify.Sender{Guard: notify.DestinationGuard{}}
	n.Secrets = lambdafn.WebhookSecrets{Master: secret.NewCache(secretsmanager.NewFromConfig(cfg), env[lambdafn.EnvWebhookSecret], time.Hour, nil)}
	return n.Deliver, nil
}
