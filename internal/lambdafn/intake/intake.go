// Package intake builds what the two functions that take jobs in (api,
// register) both build: their settings, the job store, and the admission
// in front of it with the jobs' deadline and queue timeout. It links the
// DynamoDB and Step Functions clients.
package intake

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/sfnexec"
)

// Intake is what Load built for function fn.
type Intake struct {
	Env             map[string]string
	Cfg             aws.Config
	Log             *slog.Logger
	Store           *dynamostore.Store
	States          *sfn.Client
	Rec             *metrics.Recorder
	Admit           *admission.Dispatcher
	Deadline, Queue time.Duration
}

// Load reads function fn's environment and builds its intake.
func Load(ctx context.Context, fn string, getenv func(string) string) (*Intake, error) {
	env, cfg, log, err := lambdafn.Load(ctx, fn, getenv)
	if err != nil {
		return nil, err
	}
	rec := lambdafn.Recorder(getenv)
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), dynamostore.Config{Table: env[lambdafn.EnvTable], Log: log,
		SpendMissed: lambdafn.SpendMissed(rec)})
	in := &Intake{Env: env, Cfg: cfg, Log: log, Store: store, States: sfn.NewFromConfig(cfg), Rec: rec}
	if in.Deadline, in.Queue, err = lambdafn.JobTimeouts(env); err != nil {
		return nil, err
	}
	if in.Admit, err = lambdafn.Dispatcher(env, in.Store, &sfnexec.Starter{Client: in.States, StateMachineARN: env[lambdafn.EnvStateMachine]},
		sfnexec.Tasks{Client: in.States}, log, in.Rec); err != nil {
		return nil, err
	}
	return in, nil
}
