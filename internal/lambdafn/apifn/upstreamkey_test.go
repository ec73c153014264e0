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

// The health route's upstream-key check reads only the secret's metadata
// on moto: a secret never given a value, or not there, fails it; one with
// a value passes. An answer is kept for secret.CheckTTL.
func TestUpstreamKeyCheck(t *testing.T) {
	sm := awstest.NewSecretsManager(t)
	prefix := "vidgen/keycheck-" + time.Now().Format("150405.000000")
	noValue := awstest.CreateSecret(t, sm, prefix+"/no-value", nil)
	set := awstest.CreateSecret(t, sm, prefix+"/set", aws.String("sk-the-key"))
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
