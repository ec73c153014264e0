package lambdafn

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/vidgen/vidgen/internal/batch"
)

// newSummarizer builds the summarize function's handler, which reads a batch's
// results where the Map's ResultWriter wrote them.
func newSummarizer(ctx context.Context, getenv func(string) string) (*batch.Summarizer, error) {
	env, cfg, _, err := load(ctx, "summarize", getenv) // it logs nothing; load still checks the log level
	if err != nil {
		return nil, err
	}
	return &batch.Summarizer{Objects: s3Objects{client: s3.NewFromConfig(cfg), bucket: env[EnvBucket]}}, nil
}

// GetObjectAPI is the S3 call s3Objects makes.
type GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// maxResultsFile bounds what one results file may hold: a batch's Map
// writes each child's input and output, at most 256 KiB each, and AWS
// splits its files well before this.
const maxResultsFile = 512 << 20

// s3Objects reads whole S3 objects of vidgen's bucket (batch.Objects),
// where the batch's Map writes its results: the function reads no other
// bucket, whichever a batch's input names.
type s3Objects struct {
	client GetObjectAPI
	bucket string
}

func (o s3Objects) Get(ctx context.Context, _, key string) ([]byte, error) {
	bucket := o.bucket
	out, err := o.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxResultsFile+1))
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	if len(data) > maxResultsFile {
		return nil, fmt.Errorf("get s3://%s/%s: more than %d bytes", bucket, key, maxResultsFile)
	}
	return data, nil
}
