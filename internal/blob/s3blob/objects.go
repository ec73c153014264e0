package s3blob

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// GetObjectAPI is the S3 call Objects makes.
type GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// maxResultsFile bounds what one results file may hold: a batch's Map
// writes each child's input and output, at most 256 KiB each, and AWS
// splits its files well before this.
const maxResultsFile = 512 << 20

// Objects reads whole S3 objects of vidgen's bucket (batch.Objects),
// where the batch's Map writes its results: the function reads no other
// bucket, whichever a batch's input names.
type Objects struct {
	Client GetObjectAPI
	Bucket string
}

// Get reads key of o.Bucket whole; the bucket argument is ignored.
func (o Objects) Get(ctx context.Context, _, key string) ([]byte, error) {
	bucket := o.Bucket
	out, err := o.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
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
