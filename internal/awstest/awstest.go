// Package awstest gives tests a real local AWS API: moto_server, which the
// development image ships. make test starts one moto for the whole run and
// exports its endpoint; a test binary run on its own starts its own. Tests
// never skip for want of one: they fail and say why.
package awstest

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
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/vidgen/vidgen/internal/blob/blobtest"
)

// EndpointVars are the SDK's own endpoint variables for the services the
// tests use; the SDK honours them without any option.
var endpointVars = []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3",
	"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SFN"}

// Main runs a package's tests against moto: the one named by
// AWS_ENDPOINT_URL_DYNAMODB when set (scripts/with-moto.sh sets it), else a
// moto_server it starts on a free loopback port and stops afterwards. Use
// it as TestMain's body: os.Exit(awstest.Main(m)).
func Main(m *testing.M) int {
	endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	if endpoint == "" {
		url, stop, err := Start()
		if err != nil {
			fmt.Fprintf(os.Stderr, "these tests need a local AWS API: %v\n", err)
			return 1
		}
		defer stop()
		endpoint = url
	}
	for _, v := range endpointVars {
		if os.Getenv(v) == "" {
			os.Setenv(v, endpoint)
		}
	}
	return m.Run()
}

// Endpoint is the moto URL the package's tests use (after Main).
func Endpoint() string { return os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") }

// Start runs moto_server on a free loopback port and returns its URL and how
// to stop it. It tries again if another process took the port meanwhile.
func Start() (url string, stop func(), err error) {
	for attempt := 1; ; attempt++ {
		url, stop, err = start()
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return url, stop, err
		}
	}
}

func start() (url string, stop func(), err error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return "", nil, fmt.Errorf("no AWS endpoint is set and moto_server is not on PATH (pip install 'moto[server]'): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()

	var out bytes.Buffer // read only after the process has exited
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", port)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start moto_server: %w", err)
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
	url = "http://127.0.0.1:" + port
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case <-exited:
			return "", nil, fmt.Errorf("moto_server exited: %v\n%s", waitErr, out.Bytes())
		default:
		}
		// Any HTTP answer means the server is up.
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			return url, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("moto_server did not answer on %s within 30s\n%s", url, out.Bytes())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Config is an SDK config for moto: a fixed region and fake credentials.
func Config(ctx context.Context) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
}

// SerialHTTP sends one request at a time. moto serves requests on parallel
// threads and its conditional writes are not atomic (a check and a write
// can interleave), while DynamoDB's are; contract tests that race
// conditional writes wrap the client's HTTP client in it. The code under
// test still runs concurrently; only moto sees the requests in turn.
type SerialHTTP struct {
	mu   sync.Mutex
	Next aws.HTTPClient
}

// Do sends r once the previous request has been answered.
func (c *SerialHTTP) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Next.Do(r)
}

// DropTable deletes a test's table when t ends. A table already gone counts
// as dropped: under load the SDK may retry a DeleteTable whose answer it
// lost, and the retry then finds no table.
func DropTable(t testing.TB, client *dynamodb.Client, table string) {
	t.Cleanup(func() {
		_, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table})
		var gone *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			t.Errorf("drop table %s: %v", table, err)
		}
	})
}

// DynamoDB returns a DynamoDB client for moto whose requests reach moto one
// at a time (see SerialHTTP) and which does not check response CRC32s:
// under load moto's server at times ends a small answer early, the SDK's
// checksum then fails and it retries a write that had already succeeded,
// so a create-if-absent reports a conflict with itself.
func DynamoDB(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.HTTPClient = &SerialHTTP{Next: o.HTTPClient}
		o.DisableValidateResponseChecksum = true
	})
}

// NewDynamoDB is DynamoDB on Config, failing t if the config does not load.
func NewDynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	cfg, err := Config(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return DynamoDB(cfg)
}

// NewTable creates a table of t's own on moto, named prefix and a random
// suffix (make test shares one moto among all packages), with create, the
// schema's owner, and drops it when t ends. It returns the client too.
func NewTable(t testing.TB, prefix string,
	create func(context.Context, *dynamodb.Client, string) error) (*dynamodb.Client, string) {
	t.Helper()
	client := NewDynamoDB(t)
	table := prefix + strings.ToLower(rand.Text())
	if err := create(t.Context(), client, table); err != nil {
		t.Fatal(err)
	}
	DropTable(t, client, table)
	return client, table
}

// NewS3 returns an S3 client for moto, failing t if the config does not
// load. moto serves every bucket on one host, so buckets go in the path.
func NewS3(t testing.TB) *s3.Client {
	t.Helper()
	cfg, err := Config(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// NewSecretsManager returns a Secrets Manager client for moto: the one
// Endpoint names (make test's), else one started for t and stopped when t
// ends, for packages without Main.
func NewSecretsManager(t testing.TB) *secretsmanager.Client {
	t.Helper()
	endpoint := Endpoint()
	if endpoint == "" {
		url, stop, err := Start()
		if err != nil {
			t.Fatalf("this test needs a local AWS API: %v", err)
		}
		t.Cleanup(stop)
		endpoint = url
	}
	cfg, err := Config(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// CreateSecret creates the secret name on sm, with value unless it is nil
// (a secret never given a value), failing t if it cannot.
func CreateSecret(t testing.TB, sm *secretsmanager.Client, name string, value *string) *secretsmanager.CreateSecretOutput {
	t.Helper()
	out, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: &name, SecretString: value})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// NewBucket creates a bucket of t's own on moto, named prefix and a random
// suffix, and empties and drops it when t ends. It returns the client too.
func NewBucket(t testing.TB, prefix string) (*s3.Client, string) {
	t.Helper()
	client := NewS3(t)
	bucket := prefix + strings.ToLower(rand.Text())
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

// GetObject reads the object at key whole and returns it with the answer
// whose metadata (content type, encryption) tests check; the answer's body
// is read and closed. It fails t if it cannot.
func GetObject(t testing.TB, client *s3.Client, bucket, key string) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	out, err := client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	return blobtest.ReadAll(t, out.Body), out
}

// Fetch sends method to link over plain HTTP, as a browser or player does
// with a presigned or local link, and returns the answer with its body read
// and closed. It fails t if it cannot.
func Fetch(t testing.TB, method, link string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, blobtest.ReadAll(t, resp.Body)
}
