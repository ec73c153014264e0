package s3blob

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/vidgen/vidgen/internal/blob"
)

// MaxStreamSize is the largest object one PutObject may write; larger ones
// would need a multipart upload, which no blob vidgen keeps comes near.
const MaxStreamSize = 5 << 30

// PutStream stores size bytes read from body under key, like Put but for
// blobs larger than blob.MaxSize (archived videos). body must seek: over
// plain HTTP the SDK reads it once to sign and checksum the payload and
// rewinds it to send, and any retry rewinds it again; a reader that cannot
// seek would have to be buffered in memory instead.
func (s *Store) PutStream(ctx context.Context, key string, body io.ReadSeeker, size int64, contentType string) error {
	if err := blob.CheckKey(key); err != nil {
		return fmt.Errorf("s3blob: put %s: %w", key, err)
	}
	if err := blob.CheckContentType(contentType); err != nil {
		return fmt.Errorf("s3blob: put %s: %w", key, err)
	}
	if size < 0 || size > MaxStreamSize {
		return fmt.Errorf("s3blob: put %s: %w: size %d is outside 0 to %d", key, blob.ErrInvalid, size, int64(MaxStreamSize))
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(s.bucket),
		Key:                  aws.String(key),
		Body:                 body,
		ContentLength:        aws.Int64(size),
		ContentType:          aws.String(contentType),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return fmt.Errorf("s3blob: put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}
