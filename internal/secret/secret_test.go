package secret

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// recorder answers GetSecretValue from a script of values and errors and
// counts the calls, to observe caching.
type recorder struct {
	answers []any // string or error
	calls   int
}

func (r *recorder) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	a := r.answers[min(r.calls, len(r.answers)-1)]
	r.calls++
	if err, ok := a.(error); ok {
		return nil, err
	}
	return &secretsmanager.GetSecretValueOutput{Name: in.SecretId, SecretString: aws.String(a.(string))}, nil
}

func TestCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ctx := context.Background()
	outage := errors.New("service unavailable")

	r := &recorder{answers: []any{"v1", "v2", outage}}
	c := NewCache(r, "vidgen/key", time.Minute, clock)
	for range 3 {
		if v, err := c.Value(ctx); err != nil || v != "v1" {
			t.Fatalf("Value = %q, %v", v, err)
		}
	}
	if r.calls != 1 {
		t.Fatalf("%d fetches within the TTL, want 1", r.calls)
	}
	now = now.Add(time.Minute)
	if v, _ := c.Value(ctx); v != "v2" || r.calls != 2 {
		t.Fatalf("after TTL: %q after %d fetches", v, r.calls)
	}
	now = now.Add(time.Minute)
	if v, err := c.Value(ctx); err != nil || v != "v2" {
		t.Fatalf("refresh failure should keep the stale value: %q, %v", v, err)
	}

	empty := NewCache(&recorder{answers: []any{""}}, "vidgen/key", 0, clock)
	if _, err := empty.Value(ctx); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty secret: %v", err)
	}
	failing := NewCache(&recorder{answers: []any{outage}}, "vidgen/key", 0, clock)
	if _, err := failing.Value(ctx); !errors.Is(err, outage) {
		t.Fatalf("first fetch failing: %v", err)
	}
}
