package lambdafn

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
)

// newSummarizer builds the summarize function's handler, which reads a batch's
// results where the Map's ResultWriter wrote them.
func newSummarizer(ctx context.Context, getenv func(string) string) (*batch.Summarizer, error) {
	env, cfg, _, err := load(ctx, "summarize", getenv) // it logs nothing; load still checks the log level
	if err != nil {
		return nil, err
	}
	return &batch.Summarizer{Objects: s3blob.Objects{Client: s3.NewFromConfig(cfg), Bucket: env[EnvBucket]}}, nil
}
