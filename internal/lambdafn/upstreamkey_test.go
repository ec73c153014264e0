package lambdafn

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/secret"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
	"github.com/vidgen/vidgen/internal/syncbuf"
	"github.com/vidgen/vidgen/internal/upstream"
)

// An upstream key secret that is empty, was never given a value, or is not
// there ends the submit at once with ConfigurationError: the job's message
// names the setting (never the secret's name or ARN), the log line the
// underlying error, and nothing reaches the upstream. A key that cannot be
// read for another reason (Secrets Manager unreachable) stays a passing
// fault the submit retries.
func TestUpstreamKeySecretNotConfigured(t *testing.T) {
	sm := awstest.NewSecretsManager(t)
	prefix := "vidgen/failfast-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000")
	noValue := awstest.CreateSecret(t, sm, prefix+"/no-value", nil)
	empty := awstest.CreateSecret(t, sm, prefix+"/empty", aws.String(""))

	for _, tc := range []struct {
		name, secretID string
		api            secret.API
		configuration  bool // ends ConfigurationError; else retried
	}{
		{name: "never given a value", secretID: *noValue.ARN, api: sm, configuration: true},
		{name: "empty value", secretID: *empty.ARN, api: sm, configuration: true},
		{name: "no such secret", secretID: prefix + "/missing", api: sm, configuration: true},
		{name: "Secrets Manager unreachable", secretID: *empty.ARN, configuration: false,
			api: secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
				Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewManual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			sim := simulator.New(simulator.Config{Key: "sk-right", Clock: clk})
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				sim.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			store, err := boltstore.Open(filepath.Join(t.TempDir(), "jobs.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			logs := &syncbuf.Buffer{}
			log := slog.New(slog.NewJSONHandler(logs, nil))
			keys := secret.NewCache(tc.api, tc.secretID, 0, clk.Now)
			h := &steps.Handlers{Store: store, Clock: clk, Policy: pollpolicy.Fixed(), Log: log,
				Upstream: KeyedUpstream(srv.URL, keys.Value, secret.Unset, log, nil)}
			now := clk.Now()
			j := job.Job{ID: "job-1", Tenant: "t", Status: job.Queued, CreatedAt: now, UpdatedAt: now, Deadline: now.Add(time.Hour),
				Request: job.Request{Model: job.Model, Prompt: "a cat", ImageURL: "https://example.com/cat.png", AspectRatio: "16:9", Duration: 5}}
			if err := store.Create(t.Context(), j); err != nil {
				t.Fatal(err)
			}

			out, err := h.Submit(t.Context(), steps.Input{JobID: j.ID})
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			got, err := store.Get(t.Context(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("%d requests reached the upstream, want none", n)
			}
			if !tc.configuration {
				if got.Status != job.Queued || out.Submitted || out.WaitSeconds <= 0 || got.SubmitStarted != nil {
					t.Errorf("job %+v, output %+v; want it queued, released and retried", got, out)
				}
				if !strings.Contains(logs.String(), `"level":"ERROR","msg":"submit not accepted, will retry"`) || !strings.Contains(logs.String(), "127.0.0.1:1") {
					t.Errorf("the retry is not logged at ERROR with the underlying error:\n%s", logs)
				}
				return
			}
			if out.Status != job.Failed || got.Status != job.Failed || got.Error == nil || got.Error.Name != job.ErrNameConfiguration {
				t.Fatalf("job %+v, output %+v; want it ended %s", got, out, job.ErrNameConfiguration)
			}
			if msg := got.Error.Message; !strings.Contains(msg, EnvUpstreamSecret) || !strings.Contains(msg, "empty or missing") ||
				strings.Contains(msg, prefix) || strings.Contains(msg, "arn:") {
				t.Errorf("message %q: want it to name %s and say empty or missing, without the secret's name or ARN", msg, EnvUpstreamSecret)
			}
			if line := logs.String(); !strings.Contains(line, `"msg":"submit refused: fix the upstream key"`) || !strings.Contains(line, tc.secretID) {
				t.Errorf("no ERROR line naming the secret and the underlying error:\n%s", line)
			}
			var ke *upstream.KeyError
			if _, err := h.Upstream.Submit(t.Context(), j.Request); !errors.As(err, &ke) || ke.Setting != EnvUpstreamSecret {
				t.Errorf("KeyedClient.Submit error = %v, want an *upstream.KeyError on %s", err, EnvUpstreamSecret)
			}
		})
	}
}

func TestMachineConfigured(t *testing.T) {
	for arn, ok := range map[string]bool{
		"arn:aws:states:us-east-1:123456789012:stateMachine:vidgen-video-job": true,
		"": false, "vidgen-video-job": false, "arn:aws:states:us-east-1:123456789012:execution:x:y": false,
	} {
		if err := MachineConfigured(arn); (err == nil) != ok {
			t.Errorf("MachineConfigured(%q) = %v, want ok %v", arn, err, ok)
		}
	}
}
