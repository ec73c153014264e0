package lambdafn

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/reconcile"
	"github.com/vidgen/vidgen/internal/steps"
)

// Handler is what one function's main.go hands to lambda.Start: the
// function's whole work on its event.
type Handler[In, Out any] = func(context.Context, In) (Out, error)

// Each constructor below builds one function's handler from getenv (the
// process environment in functions/<fn>/main.go) and returns nothing else,
// so a function's main only wires. An error names every missing or bad
// variable.

// API builds the api function's handler: the HTTP API behind API Gateway.
func API(ctx context.Context, getenv func(string) string) (Handler[events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse], error) {
	h, err := newAPI(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return h.Handle, nil
}

// Authorizer builds the authorizer function's handler: it resolves each
// request's bearer key through the keys table.
func Authorizer(ctx context.Context, getenv func(string) string) (Handler[events.APIGatewayV2CustomAuthorizerV2Request, events.APIGatewayV2CustomAuthorizerSimpleResponse], error) {
	a, err := newAuthorizer(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return a.Handle, nil
}

// Submit builds the submit function's handler: it submits a job to the
// upstream at most once.
func Submit(ctx context.Context, getenv func(string) string) (Handler[steps.Input, steps.Output], error) {
	h, err := newSteps(ctx, "submit", getenv)
	if err != nil {
		return nil, err
	}
	return h.Submit, nil
}

// Poll builds the poll function's handler: it asks the upstream about a
// job and decides the next wait.
func Poll(ctx context.Context, getenv func(string) string) (Handler[steps.Input, steps.Output], error) {
	h, err := newSteps(ctx, "poll", getenv)
	if err != nil {
		return nil, err
	}
	return h.Poll, nil
}

// Fail builds the fail function's handler: it records why a job failed.
func Fail(ctx context.Context, getenv func(string) string) (Handler[steps.FailInput, steps.Output], error) {
	h, err := newSteps(ctx, "fail", getenv)
	if err != nil {
		return nil, err
	}
	return h.Fail, nil
}

// Register builds the register function's handler: it records the job of
// an execution started directly.
func Register(ctx context.Context, getenv func(string) string) (Handler[steps.RegisterInput, steps.Registration], error) {
	r, err := newRegistrar(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return r.Register, nil
}

// Finish builds the finish function's handler: it announces an ended job
// on EventBridge and shapes the execution's result.
func Finish(ctx context.Context, getenv func(string) string) (Handler[notify.FinishInput, notify.Result], error) {
	n, err := newNotifier(ctx, "finish", getenv)
	if err != nil {
		return nil, err
	}
	return n.Finish, nil
}

// Webhook builds the webhook function's handler: one signed delivery
// attempt of an ended job to its callback_url.
func Webhook(ctx context.Context, getenv func(string) string) (Handler[notify.DeliverInput, notify.Delivery], error) {
	n, err := newNotifier(ctx, "webhook", getenv)
	if err != nil {
		return nil, err
	}
	return n.Deliver, nil
}

// Reconcile builds the reconcile function's handler: one pass that ends or
// resumes jobs no execution drives any more. Its schedule's event carries
// nothing it reads.
func Reconcile(ctx context.Context, getenv func(string) string) (func(context.Context) (reconcile.Report, error), error) {
	r, err := newReconciler(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return r.Run, nil
}

// Summarize builds the summarize function's handler: a batch's counts and
// failed items, read from the files its Map wrote.
func Summarize(ctx context.Context, getenv func(string) string) (Handler[batch.Input, batch.Summary], error) {
	s, err := newSummarizer(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return s.Summarize, nil
}
