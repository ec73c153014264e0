// Package s3blob is the AWS blob store: one S3 object per blob, encrypted
// at rest with S3-managed keys.
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/vidgen/vidgen/internal/blob"
)

// API is the part of the S3 client the store uses.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Store keeps blobs in one bucket, under their keys.
type Store struct {
	client API
	bucket string
}

// New returns a store on bucket.
func New(client API, bucket string) *Store {
	return &Store{client: client, bucket: bucket}
}

// Put writes the object with its content type. S3 replaces an object
// atomically, so a reader sees the old blob or the new one.
func (s *Store) Put(ctx context.Context, key string, data []byte, contentType string) error {
	if err := blob.CheckPut(key, data, contentType); err != nil {
		return fmt.Errorf("s3blob: put %s: %w", key, err)
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(contentType),
		// Asked for explicitly, whatever the bucket's default: a bucket
		// policy may then require it.
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return fmt.Errorf("s3blob: put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Get reads an object; a missing one is an error wrapping blob.ErrNotFound.
// S3 answers NoSuchKey only to a caller allowed s3:ListBucket; without it a
// missing object is AccessDenied, an ordinary error.
func (s *Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, "", fmt.Errorf("s3blob: get %s: %w", key, err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		var missing *types.NoSuchKey
		if errors.As(err, &missing) {
			return nil, "", fmt.Errorf("s3blob: get s3://%s/%s: %w", s.bucket, key, blob.ErrNotFound)
		}
		return nil, "", fmt.Errorf("s3blob: get s3://%s/%s: %w", s.bucket, key, err)
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); n > blob.MaxSize {
		return nil, "", fmt.Errorf("s3blob: get s3://%s/%s: %d bytes is more than %d", s.bucket, key, n, blob.MaxSize)
	}
	// Read one byte past the bound so an object larger than its declared
	// length is still caught.
	data, err := io.ReadAll(io.LimitReader(out.Body, blob.MaxSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("s3blob: get s3://%s/%s: %w", s.bucket, key, err)
	}
	if len(data) > blob.MaxSize {
		return nil, "", fmt.Errorf("s3blob: get s3://%s/%s: more than %d bytes", s.bucket, key, blob.MaxSize)
	}
	return data, aws.ToString(out.ContentType), nil
}
