// Package reconcilefn builds the reconcile function's handler: it links
// the DynamoDB and Step Functions clients.
package reconcilefn

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/reconcile"
	"github.com/vidgen/vidgen/internal/sfnexec"
)

// New builds the reconcile function's handler: one pass that ends or
// resumes jobs no execution drives any more. Its schedule's event carries
// nothing it reads.
func New(ctx context.Context, getenv func(string) string) (func(context.Context) (reconcile.Report, error), error) {
	r, err := newReconciler(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return r.Run, nil
}

// newReconciler builds the reconcile function's reconciler.
func newReconciler(ctx context.Context, getenv func(string) string) (*reconcile.Reconciler, error) {
	env, cfg, log, err := lambdafn.Load(ctx, "reconcile", getenv)
	if err != nil {
		return nil, err
	}
	minAge, err := lambdafn.Seconds(lambdafn.EnvReconcileMinAge, env[lambdafn.EnvReconcileMinAge])
	if err != nil {
		return nil, err
	}
	grace, err := lambdafn.Seconds(lambdafn.EnvReconcileGrace, env[lambdafn.EnvReconcileGrace])
	if err != nil {
		return nil, err
	}
	rec := lambdafn.Recorder(getenv)
	store := dynamostore.New(dynamodb.NewFromConfig(cfg), dynamostore.Config{Table: env[lambdafn.EnvTable], Log: log,
		SpendMissed: lambdafn.SpendMissed(rec)})
	states := sfn.NewFromConfig(cfg)
	// This function's role may describe executions: a job admitted whose
	// execution has closed is then reported, not taken for started.
	admit, err := lambdafn.Dispatcher(env, store, &sfnexec.Starter{Client: states, StateMachineARN: env[lambdafn.EnvStateMachine], Describe: states},
		sfnexec.Tasks{Client: states}, log, rec)
	if err != nil {
		return nil, err
	}
	return &reconcile.Reconciler{
		Admission:  admit,
		Store:      store,
		Executions: &sfnexec.Executions{Client: states, StateMachineARN: env[lambdafn.EnvStateMachine]},
		Clock:      clock.Real{},
		Grace:      grace,
		MinAge:     minAge,
		Log:        log,
		Metrics:    rec,
	}, nil
}
