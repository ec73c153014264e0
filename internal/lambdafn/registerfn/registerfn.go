// Package registerfn builds the register function's handler: it links the
// DynamoDB, Step Functions, S3 and Secrets Manager clients (the last for
// the submit function's work on the job it registers).
package registerfn

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/intake"
	"github.com/vidgen/vidgen/internal/lambdafn/submitfn"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/steps"
)

// New builds the register function's handler: it records the job of an
// execution started directly.
func New(ctx context.Context, getenv func(string) string) (lambdafn.Handler[steps.RegisterInput, steps.Registration], error) {
	in, err := intake.Load(ctx, "register", getenv)
	if err != nil {
		return nil, err
	}
	// It submits the job it registers in the same invocation, as the
	// submit function would.
	submitter, err := submitfn.Handlers(in.Env, in.Cfg, in.Log, in.Rec)
	if err != nil {
		return nil, err
	}
	r := &steps.Registrar{
		Admission:     in.Admit,
		Store:         in.Store,
		Blobs:         s3blob.New(s3.NewFromConfig(in.Cfg), in.Env[lambdafn.EnvBucket]),
		Clock:         clock.Real{},
		Deadline:      in.Deadline,
		QueueTimeout:  in.Queue,
		CheckCallback: func(u string) error { return notify.CheckURL(u, false) },
		Log:           in.Log,
		Submitter:     submitter,
	}
	return r.Register, nil
}
