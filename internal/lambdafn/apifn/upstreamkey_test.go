package apifn

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/secret"
)

// secretsManager is a Secrets Manager client on moto: the one make test
// runs, or one started for this test.
func secretsManager(t *testing.T) *secretsmanager.Client {
	t.Helper()
	endpoint := awstest.Endpoint()
	if endpoint == "" {
		url, stop, err := awstest.Start()
		if err != nil {
			t.Fatalf("this test needs a local AWS API: %v", err)
		}
		t.Cleanup(stop)
		endpoint = url
	}
	cfg, err := awstest.Config(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// createSecret creates the secret name on sm, with value unless it is nil
// (a secret never given a value), failing t if it cannot.
func createSecret(t *testing.T, sm *secretsmanager.Client, name string, value *string) *secretsmanager.CreateSecretOutput {
	t.Helper()
	out, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: &name, SecretString: value})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The health route's upstream-key check reads only the secret's metadata
// on moto: a secret never given a value, or not there, fails it; one with
// a value passes. An answer is kept for secret.CheckTTL.
func TestUpstreamKeyCheck(t *testing.T) {
	sm := secretsManager(t)
	prefix := "vidgen/keycheck-" + time.Now().Format("150405.000000")
	noValue := createSecret(t, sm, prefix+"/no-value", nil)
	set := createSecret(t, sm, prefix+"/set", aws.String("sk-the-key"))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, id string
		ok       bool
	}{
		{"never given a value", *noValue.ARN, false},
		{"no such secret", prefix + "/missing", false},
		{"has a value", *set.ARN, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := upstreamKeyCheck(sm, tc.id, func() time.Time { return now })
			err := c.Check(t.Context())
			if (err == nil) != tc.ok {
				t.Fatalf("Check = %v, want ok %v", err, tc.ok)
			}
			if err != nil && (!strings.Contains(err.Error(), lambdafn.EnvUpstreamSecret) || strings.Contains(err.Error(), "sk-the-key")) {
				t.Errorf("error %q should name %s and never a key", err, lambdafn.EnvUpstreamSecret)
			}
		})
	}

	// Kept for secret.CheckTTL: a value set meanwhile shows a minute later.
	c := upstreamKeyCheck(sm, *noValue.ARN, func() time.Time { return now })
	if c.Check(t.Context()) == nil {
		t.Fatal("a secret without a value passes")
	}
	if _, err := sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: noValue.ARN, SecretString: aws.String("sk-set-now")}); err != nil {
		t.Fatal(err)
	}
	if c.Check(t.Context()) == nil {
		t.Error("the answer was not kept")
	}
	now = now.Add(secret.CheckTTL)
	if err := c.Check(t.Context()); err != nil {
		t.Errorf("after secret.CheckTTL, with a value: %v", err)
	}
}
