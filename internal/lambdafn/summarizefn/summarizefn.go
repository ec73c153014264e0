// Package summarizefn builds the summarize function's handler: it links
// the S3 client alone.
package summarizefn

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
	"github.com/vidgen/vidgen/internal/lambdafn"
)

// New builds the summarize function's handler, the batch's function: a
// batch's chunk size (its Plan steps), and its counts and failed items,
// read from the files its Map's ResultWriter wrote (Summarize).
func New(ctx context.Context, getenv func(string) string) (lambdafn.Handler[batch.Request, any], error) {
	env, cfg, _, err := lambdafn.Load(ctx, "summarize", getenv) // it logs nothing; Load still checks the log level
	if err != nil {
		return nil, err
	}
	s := &batch.Summarizer{Objects: s3blob.Objects{Client: s3.NewFromConfig(cfg), Bucket: env[lambdafn.EnvBucket]}}
	return s.Handle, nil
}
