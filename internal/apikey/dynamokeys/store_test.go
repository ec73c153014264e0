package dynamokeys_test

import (
	"bytes"
	"context"
	"crypto/rand"
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
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/dynamokeys"
	"github.com/vidgen/vidgen/internal/apikey/keytest"
)

// endpointVar is the SDK's own per-service endpoint variable; the client
// honours it without any option.
const endpointVar = "AWS_ENDPOINT_URL_DYNAMODB"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(endpointVar) == "" {
		stop, err := startMoto()
		if err != nil {
			fmt.Fprintf(os.Stderr, "dynamokeys tests need a DynamoDB API: %v\n", err)
			return 1
		}
		defer stop()
	}
	return m.Run()
}

// startMoto runs moto_server on a free loopback port, points the SDK at it
// and returns how to stop it. These tests never skip: no DynamoDB API is a
// failure.
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
		if resp, err := client.Get(url); err == nil { // any answer: it is up
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

// serialHTTP sends one request at a time: moto's conditional writes are
// not atomic under concurrent requests, while DynamoDB's are, and the
// contract checks that concurrent puts of one key let exactly one win.
type serialHTTP struct {
	mu   sync.Mutex
	next aws.HTTPClient
}

func (c *serialHTTP) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next.Do(r)
}

func newClient(t *testing.T) *dynamodb.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.HTTPClient = &serialHTTP{next: o.HTTPClient}
	})
}

// newStore makes a store on a table of its own, dropped when t ends.
func newStore(t *testing.T) (*dynamokeys.Store, *dynamodb.Client, string) {
	t.Helper()
	client := newClient(t)
	table := "apikeys-" + strings.ToLower(rand.Text())
	if err := dynamokeys.CreateTable(t.Context(), client, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
			t.Errorf("drop table %s: %v", table, err)
		}
	})
	return dynamokeys.New(client, table), client, table
}

func TestContract(t *testing.T) {
	keytest.Run(t, func(t *testing.T) apikey.Store {
		s, _, _ := newStore(t)
		return s
	})
}

// The table holds hashes and labels only: no attribute carries the
// plaintext, and items have the documented shape.
func TestItemShape(t *testing.T) {
	s, client, table := newStore(t)
	plaintext, hash, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 25, 12, 0, 0, 5, time.UTC)
	if err := s.Put(t.Context(), apikey.Key{Hash: hash, Tenant: "tenantA", CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(t.Context(), hash, created.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: &table,
		Key:       map[string]types.AttributeValue{"hash": &types.AttributeValueMemberS{Value: hash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"hash": hash, "tenant": "tenantA",
		"created_at": "2026-11-25T12:00:00.000000005Z", "revoked_at": "2026-11-25T13:00:00.000000005Z",
	}
	if len(out.Item) != len(want) {
		t.Errorf("item has %d attributes, want %d: %v", len(out.Item), len(want), out.Item)
	}
	for name, av := range out.Item {
		s, ok := av.(*types.AttributeValueMemberS)
		if !ok {
			t.Errorf("%s is %T, want a string", name, av)
			continue
		}
		if strings.Contains(s.Value, plaintext) || strings.Contains(s.Value, strings.TrimPrefix(plaintext, apikey.Prefix)) {
			t.Errorf("%s holds the plaintext key", name)
		}
		if s.Value != want[name] {
			t.Errorf("%s = %q, want %q", name, s.Value, want[name])
		}
	}
}
