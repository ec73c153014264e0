package authorizer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/boltkeys/boltkeystest"
	"github.com/vidgen/vidgen/internal/apikey/keytest"
	"github.com/vidgen/vidgen/internal/authorizer"
	"github.com/vidgen/vidgen/internal/logs"
)

// brokenKeys fails every lookup, as a key store outage would.
type brokenKeys struct{}

func (brokenKeys) Tenant(context.Context, string) (string, error) {
	return "", errors.New("key store unavailable")
}

func request(headers map[string]string) events.APIGatewayV2CustomAuthorizerV2Request {
	req := events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", Headers: headers,
		RouteKey: "POST /v2/video/generations"}
	req.RequestContext.RequestID = "req-1"
	return req
}

func TestHandle(t *testing.T) {
	ctx := t.Context()
	store := boltkeystest.New(t)
	valid, revoked := keytest.ValidAndRevoked(t, store, time.Now())
	var out bytes.Buffer
	a := &authorizer.Authorizer{
		Keys: &apikey.Resolver{Store: store},
		Log:  logs.New(&out, slog.LevelInfo),
	}

	for _, tc := range []struct {
		name    string
		headers map[string]string
		tenant  string // "" for a denial
	}{
		{"valid", map[string]string{"authorization": "Bearer " + valid}, "tenantA"},
		{"valid, any case and spacing", map[string]string{"Authorization": "bearer  " + valid + " "}, "tenantA"},
		{"no headers", nil, ""},
		{"no key", map[string]string{"authorization": ""}, ""},
		{"bearer without a key", map[string]string{"authorization": "Bearer "}, ""},
		{"wrong scheme", map[string]string{"authorization": "Basic " + valid}, ""},
		{"key without scheme", map[string]string{"authorization": valid}, ""},
		{"unknown", map[string]string{"authorization": "Bearer vg_unknown"}, ""},
		{"revoked", map[string]string{"authorization": "Bearer " + revoked}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := a.Handle(ctx, request(tc.headers))
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if resp.IsAuthorized != (tc.tenant != "") {
				t.Fatalf("IsAuthorized = %v, want %v", resp.IsAuthorized, tc.tenant != "")
			}
			if tc.tenant == "" {
				if len(resp.Context) != 0 {
					t.Errorf("a denial carries context %v", resp.Context)
				}
				return
			}
			if len(resp.Context) != 1 || resp.Context[apikey.ContextTenant] != tc.tenant {
				t.Errorf("context = %v, want only tenant %q", resp.Context, tc.tenant)
			}
		})
	}
	for _, secret := range []string{valid, revoked, strings.TrimPrefix(valid, apikey.Prefix), "vg_unknown"} {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("the log holds a key:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "unknown or revoked key") || !strings.Contains(out.String(), `"api_request_id":"req-1"`) {
		t.Errorf("the log does not say why requests were denied:\n%s", out.String())
	}
}

// A store failure is an error (API Gateway answers 500 and caches
// nothing), not a denial that would tell a good client its key is bad.
func TestStoreFailureIsAnError(t *testing.T) {
	var logs bytes.Buffer
	a := &authorizer.Authorizer{Keys: brokenKeys{}, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	resp, err := a.Handle(t.Context(), request(map[string]string{"authorization": "Bearer vg_secret-key"}))
	if err == nil || resp.IsAuthorized {
		t.Fatalf("Handle = %+v, %v; want an error and no authorization", resp, err)
	}
	if strings.Contains(logs.String(), "vg_secret-key") {
		t.Fatalf("the log holds the key:\n%s", logs.String())
	}
}

// The sample event in events/ is what API Gateway sends: it decodes into
// the request type and carries a bearer key in the identity source.
func TestSampleEvent(t *testing.T) {
	b, err := os.ReadFile("../../events/authorizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2CustomAuthorizerV2Request
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&req); err != nil {
		t.Fatal(err)
	}
	if req.Version != "2.0" || req.Type != "REQUEST" || len(req.IdentitySource) != 1 ||
		req.IdentitySource[0] != req.Headers["authorization"] || !strings.HasPrefix(req.Headers["authorization"], "Bearer ") {
		t.Fatalf("events/authorizer.json is not a v2 authorizer request with a bearer key: %+v", req)
	}
	var keyA string
	a := &authorizer.Authorizer{Keys: keysFunc(func(_ context.Context, key string) (string, error) {
		keyA = key
		return "tenantA", nil
	}), Log: slog.New(slog.DiscardHandler)}
	resp, err := a.Handle(t.Context(), req)
	if err != nil || !resp.IsAuthorized || keyA != "sample-key-a" {
		t.Fatalf("sample event: %+v, %v, key %q; want tenantA's sample-key-a authorized", resp, err, keyA)
	}
}

type keysFunc func(ctx context.Context, key string) (string, error)

func (f keysFunc) Tenant(ctx context.Context, key string) (string, error) { return f(ctx, key) }
