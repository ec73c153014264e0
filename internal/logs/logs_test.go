package logs_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/logs/logstest"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	return logstest.Lines(t, buf.String())
}

func TestContextIDs(t *testing.T) {
	var buf bytes.Buffer
	log := logs.New(&buf, slog.LevelInfo).With("component", "steps")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	ctx = logs.With(ctx, slog.String(logs.APIRequestID, "api-1"))
	ctx = logs.Job(ctx, "job-1", "tenantA", "")
	ctx = logs.Job(ctx, "job-1", "", "job-1-r1") // adds the execution, keeps the tenant
	log.InfoContext(ctx, "submitted", "upstream_id", "u-1")
	log.InfoContext(context.Background(), "no ids")

	got := lines(t, &buf)
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(got), buf.String())
	}
	want := map[string]any{"level": "INFO", "msg": "submitted", "component": "steps", "request_id": "req-1",
		"api_request_id": "api-1", "job_id": "job-1", "tenant": "tenantA", "execution": "job-1-r1", "upstream_id": "u-1"}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, got[0][k], v, got[0])
		}
	}
	if ts, _ := got[0][logs.TimeKey].(string); !validRFC3339(ts) || got[0]["time"] != nil {
		t.Errorf("%s = %q, want an RFC 3339 time (and no slog time key), as Lambda's level filter needs", logs.TimeKey, ts)
	}
	if strings.Count(buf.String(), `"job_id"`) != 1 {
		t.Errorf("job_id repeated or missing:\n%s", buf.String())
	}
	for _, k := range []string{"request_id", "job_id", "tenant", "execution", "api_request_id"} {
		if _, ok := got[1][k]; ok {
			t.Errorf("line logged without ids has %s: %v", k, got[1])
		}
	}
}

func validRFC3339(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

func TestWithDoesNotChangeParent(t *testing.T) {
	var buf bytes.Buffer
	log := logs.New(&buf, slog.LevelInfo)
	parent := logs.Job(context.Background(), "job-1", "t", "e")
	_ = logs.Job(parent, "job-2", "u", "f")
	log.InfoContext(parent, "x")
	if l := lines(t, &buf)[0]; l["job_id"] != "job-1" || l["tenant"] != "t" || l["execution"] != "e" {
		t.Errorf("parent context changed: %v", l)
	}
}

func TestLevelFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env        map[string]string
		debug, err bool
		info       bool
	}{
		{env: map[string]string{}, info: true},
		{env: map[string]string{logs.EnvLevel: "DEBUG"}, debug: true, info: true},
		{env: map[string]string{logs.EnvLevel: "debug"}, debug: true, info: true},
		{env: map[string]string{logs.EnvLevel: "INFO"}, info: true},
		{env: map[string]string{logs.EnvLevel: "WARN"}},
		{env: map[string]string{logs.EnvLevel: "ERROR"}},
		{env: map[string]string{logs.EnvLevel: "LOUD"}, err: true},
		{env: map[string]string{"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}, debug: true, info: true},
		{env: map[string]string{"AWS_LAMBDA_LOG_LEVEL": "TRACE"}, debug: true, info: true},
		{env: map[string]string{"AWS_LAMBDA_LOG_LEVEL": "DEBUG", logs.EnvLevel: "WARN"}},
	} {
		var buf bytes.Buffer
		log, err := logs.FromEnv(func(k string) string { return tc.env[k] }, &buf)
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), logs.EnvLevel) || !strings.Contains(err.Error(), "LOUD") {
				t.Errorf("%v: err = %v, want one naming %s and the value", tc.env, err, logs.EnvLevel)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		out := buf.String()
		if got := strings.Contains(out, `"msg":"d"`); got != tc.debug {
			t.Errorf("%v: debug shown = %v, want %v", tc.env, got, tc.debug)
		}
		if got := strings.Contains(out, `"msg":"i"`); got != tc.info {
			t.Errorf("%v: info shown = %v, want %v", tc.env, got, tc.info)
		}
		if got := strings.Contains(out, `"msg":"w"`); got != (tc.env[logs.EnvLevel] != "ERROR") {
			t.Errorf("%v: warn shown = %v", tc.env, got)
		}
	}
}
