package s3blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
)

// endpointVar is the SDK's own per-service endpoint variable; the client
// honours it without any option.
const endpointVar = "AWS_ENDPOINT_URL_S3"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(endpointVar) == "" {
		stop, err := startMoto()
		if err != nil {
			fmt.Fprintf(os.Stderr, "s3blob tests need an S3 API: %v\n", err)
			return 1
		}
		defer stop()
	}
	return m.Run()
}

// startMoto runs moto_server on a free loopback port, points the SDK at it
// and returns how to stop it.
func startMoto() (stop func(), err error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("%s is not set and moto_server is not on PATH (pip install 'moto[server]'): %w", endpointVar, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	var out bytes.Buffer // read only after the process has exited
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", port)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop = func() {
		cmd.Process.Kill()
		<-exited
	}

	url := "http://127.0.0.1:" + port
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case <-exited:
			return nil, fmt.Errorf("moto_server exited: %v\n%s", waitErr, out.Bytes())
		default:
		}
		// Any HTTP answer means the server is up.
		if resp, err := client.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("moto_server did not answer on %s within 30s\n%s", url, out.Bytes())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.Setenv(endpointVar, url); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

func newClient(t *testing.T) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// moto serves every bucket on one host, so buckets go in the path.
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// newBucket creates a bucket of its own for t and empties and drops it when
// t ends.
func newBucket(t *testing.T) (*s3.Client, string) {
	t.Helper()
	client := newClient(t)
	bucket := "vidgen-test-" + strings.ToLower(rand.Text())
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &bucket})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Errorf("list %s: %v", bucket, err)
				return
			}
			for _, o := range page.Contents {
				if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key}); err != nil {
					t.Errorf("delete s3://%s/%s: %v", bucket, aws.ToString(o.Key), err)
				}
			}
		}
		if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
			t.Errorf("drop bucket %s: %v", bucket, err)
		}
	})
	return client, bucket
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
	s := s3blob.New(newClient(t), "vidgen-test-no-such-bucket-"+strings.ToLower(rand.Text()))
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
