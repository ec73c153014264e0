// Package finishfn builds the finish function's handler: it links the
// DynamoDB, EventBridge and Step Functions clients.
package finishfn

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/eventbus"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/sfnexec"
)

// New builds the finish function's handler: it announces an ended job on
// EventBridge, frees its slot and shapes the execution's result.
func New(ctx context.Context, getenv func(string) string) (lambdafn.Handler[notify.FinishInput, notify.Result], error) {
	env, cfg, log, err := lambdafn.Load(ctx, "finish", getenv)
	if err != nil {
		return nil, err
	}
	n, err := Notifier(env, cfg, log, lambdafn.Recorder(getenv))
	if err != nil {
		return nil, err
	}
	return n.Finish, nil
}

// Notifier is the notifier that announces ended jobs on EventBridge and
// admits waiting jobs into their slots: the finish function's, and the
// poll function's for the jobs it sees end (steps.Handlers.Finisher).
func Notifier(env map[string]string, cfg aws.Config, log *slog.Logger, rec *metrics.Recorder) (*notify.Notifier, error) {
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), dynamostore.Config{Table: env[lambdafn.EnvTable], Log: log,
		SpendMissed: lambdafn.SpendMissed(rec)})
	n := &notify.Notifier{Store: store, Log: log, Metrics: rec,
		Publisher: &eventbus.Publisher{API: eventbridge.NewFromConfig(cfg), Bus: env[lambdafn.EnvEventBus]}}
	states := sfn.NewFromConfig(cfg)
	var err error
	if n.Admission, err = lambdafn.Dispatcher(env, store, &sfnexec.Starter{Client: states, StateMachineARN: env[lambdafn.EnvStateMachine]},
		sfnexec.Tasks{Client: states}, log, n.Metrics); err != nil {
		return nil, err
	}
	return n, nil
}
