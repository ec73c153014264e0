package lambdafn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/vidgen/vidgen/internal/lambdafn"
)

// lambdaEnv is what Lambda gives a function (the execution role's session
// and its region), with getenv over it.
func lambdaEnv(extra map[string]string) func(string) string {
	env := map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "ASIACONFIGTEST",
		"AWS_SECRET_ACCESS_KEY": "config-test-secret",
		"AWS_SESSION_TOKEN":     "config-test-token",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// Config takes the region and the execution role's session from Lambda's
// environment.
func TestConfigFromLambdaEnvironment(t *testing.T) {
	cfg, err := lambdafn.Config(t.Context(), lambdaEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region %q, want eu-west-1", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "ASIACONFIGTEST" || creds.SecretAccessKey != "config-test-secret" || creds.SessionToken != "config-test-token" {
		t.Errorf("credentials %+v, want the environment's", creds)
	}
	if cfg.BaseEndpoint != nil {
		t.Errorf("BaseEndpoint %q without AWS_ENDPOINT_URL, want none (AWS's own)", *cfg.BaseEndpoint)
	}
	if cfg.Retryer == nil || cfg.Retryer().MaxAttempts() != 3 {
		t.Errorf("retryer: want the SDK's standard one, 3 attempts")
	}
	// AWS_DEFAULT_REGION, which Lambda sets too, when AWS_REGION is not.
	cfg, err = lambdafn.Config(t.Context(), lambdaEnv(map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "ap-south-1"}))
	if err != nil || cfg.Region != "ap-south-1" {
		t.Errorf("with AWS_DEFAULT_REGION only: region %q, error %v; want ap-south-1", cfg.Region, err)
	}
}

// A missing region or key is an error at init that names what is missing.
func TestConfigMissing(t *testing.T) {
	for _, c := range []struct {
		unset, want string
	}{
		{"AWS_REGION", "AWS_REGION"},
		{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
	} {
		_, err := lambdafn.Config(t.Context(), lambdaEnv(map[string]string{c.unset: ""}))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("without %s: error %v, want one naming %s", c.unset, err, c.want)
		}
	}
	// Load reports it beside the function's own missing variables.
	_, _, _, err := lambdafn.Load(t.Context(), "fail", lambdaEnv(map[string]string{"AWS_REGION": ""}))
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") || !strings.Contains(err.Error(), lambdafn.EnvTable) {
		t.Errorf("Load without AWS_REGION and %s: error %v, want both named", lambdafn.EnvTable, err)
	}
}

// TestConfigEndpoints: every client the functions build takes
// AWS_ENDPOINT_URL_<SERVICE> when set, else AWS_ENDPOINT_URL, as with the
// SDK's own configuration. The clients also read both variables from the
// process's environment themselves, so the test sets them there too.
func TestConfigEndpoints(t *testing.T) {
	const all, own = "http://127.0.0.1:1/all", "http://127.0.0.1:2/own"
	clients := map[string]func(aws.Config) *string{
		"DYNAMODB":        func(c aws.Config) *string { return dynamodb.NewFromConfig(c).Options().BaseEndpoint },
		"S3":              func(c aws.Config) *string { return s3.NewFromConfig(c).Options().BaseEndpoint },
		"SECRETS_MANAGER": func(c aws.Config) *string { return secretsmanager.NewFromConfig(c).Options().BaseEndpoint },
		"SFN":             func(c aws.Config) *string { return sfn.NewFromConfig(c).Options().BaseEndpoint },
		"EVENTBRIDGE":     func(c aws.Config) *string { return eventbridge.NewFromConfig(c).Options().BaseEndpoint },
	}
	for service, endpoint := range clients {
		t.Run(service, func(t *testing.T) {
			for _, c := range []struct {
				name string
				vars map[string]string
				want string // "" for none: AWS's own endpoint
			}{
				{"none", nil, ""},
				{"AWS_ENDPOINT_URL", map[string]string{"AWS_ENDPOINT_URL": all}, all},
				{"its own", map[string]string{"AWS_ENDPOINT_URL_" + service: own}, own},
				{"its own over AWS_ENDPOINT_URL", map[string]string{"AWS_ENDPOINT_URL": all, "AWS_ENDPOINT_URL_" + service: own}, own},
				{"another service's", map[string]string{"AWS_ENDPOINT_URL": all, "AWS_ENDPOINT_URL_OTHER_SERVICE": own}, all},
			} {
				unsetenv(t, "AWS_ENDPOINT_URL")
				unsetenv(t, "AWS_ENDPOINT_URL_"+service)
				for k, v := range c.vars {
					t.Setenv(k, v)
				}
				cfg, err := lambdafn.Config(t.Context(), lambdaEnv(c.vars))
				if err != nil {
					t.Fatal(err)
				}
				got := ""
				if e := endpoint(cfg); e != nil {
					got = *e
				}
				if got != c.want {
					t.Errorf("%s: BaseEndpoint %q, want %q", c.name, got, c.want)
				}
			}
		})
	}
}
