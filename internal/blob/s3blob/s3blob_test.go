package s3blob_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
)

func TestMain(m *testing.M) {
	os.Exit(awstest.Main(m))
}

// newBucket creates a bucket of its own for t and empties and drops it when
// t ends.
func newBucket(t *testing.T) (*s3.Client, string) {
	t.Helper()
	return awstest.NewBucket(t, "vidgen-test-")
}

func TestContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		client, bucket := newBucket(t)
		return s3blob.New(client, bucket)
	})
}

// Objects are written with SSE-S3 and the content type, under the key as
// given.
func TestPutObjectAttributes(t *testing.T) {
	client, bucket := newBucket(t)
	s := s3blob.New(client, bucket)
	data := blobtest.PNG(70 << 10)
	if err := s.Put(t.Context(), "images/job-1/image_url", data, "image/png"); err != nil {
		t.Fatal(err)
	}
	head, err := client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("images/job-1/image_url")})
	if err != nil {
		t.Fatal(err)
	}
	if head.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Errorf("ServerSideEncryption = %q, want AES256", head.ServerSideEncryption)
	}
	if got := aws.ToString(head.ContentType); got != "image/png" {
		t.Errorf("ContentType = %q, want image/png", got)
	}
	if got := aws.ToInt64(head.ContentLength); got != int64(len(data)) {
		t.Errorf("ContentLength = %d, want %d", got, len(data))
	}
}

// A bucket that does not exist is a configuration error, not a missing blob.
func TestMissingBucketIsNotNotFound(t *testing.T) {
	s := s3blob.New(awstest.NewS3(t), "vidgen-test-no-such-bucket-"+strings.ToLower(rand.Text()))
	if _, _, err := s.Get(t.Context(), "images/job-1/image_url"); err == nil || errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get from a missing bucket = %v, want an error other than ErrNotFound", err)
	}
}

// A larger object than any blob vidgen writes is refused on Get rather than
// read into memory.
func TestGetRefusesOversizedObject(t *testing.T) {
	client, bucket := newBucket(t)
	big := make([]byte, blob.MaxSize+1)
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{
		Bucket: &bucket, Key: aws.String("big"), Body: bytes.NewReader(big), ContentType: aws.String("image/png"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s3blob.New(client, bucket).Get(t.Context(), "big"); err == nil {
		t.Error("Get of an object over blob.MaxSize succeeded")
	}
}
