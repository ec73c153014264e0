// Package secret reads secrets from AWS Secrets Manager at run time and
// caches them, so a key is never a plaintext environment value and a warm
// Lambda does not call Secrets Manager on every invocation.
package secret

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// DefaultTTL is how long a fetched value is used before it is read again,
// so a rotated secret takes effect within minutes.
const DefaultTTL = 5 * time.Minute

// ErrEmpty means the secret exists but has no value yet (the template can
// create it empty, to be set after deploying).
var ErrEmpty = errors.New("secret has no value")

// Unset tells, of an error of Cache.Value, that the secret has no value to
// read: it is empty, was never given one, or is not there. Any other error
// may pass.
func Unset(err error) bool {
	_, missing := errors.AsType[*smtypes.ResourceNotFoundException](err)
	return missing || errors.Is(err, ErrEmpty)
}

// API is the Secrets Manager call Cache makes.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Cache holds one secret's string value. It fetches lazily, on first use,
// so a Lambda's init does no network I/O. Safe for concurrent use.
type Cache struct {
	api API
	id  string
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	value   string
	fetched time.Time
}

// NewCache returns a cache of the secret id (name or ARN); ttl ≤ 0 means
// DefaultTTL and now == nil means time.Now.
func NewCache(api API, id string, ttl time.Duration, now func() time.Time) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Cache{api: api, id: id, ttl: ttl, now: now}
}

// Value returns the secret's value, fetching it when the cached one is
// older than the TTL. If a refresh fails, the stale value is kept for
// another TTL rather than failing callers that worked a moment ago.
func (c *Cache) Value(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.value != "" && now.Sub(c.fetched) < c.ttl {
		return c.value, nil
	}
	out, err := c.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.id)})
	if err != nil {
		if c.value != "" {
			c.fetched = now
			return c.value, nil
		}
		// The SDK error names the secret and the failing call, never its value.
		return "", fmt.Errorf("read secret %s: %w", c.id, err)
	}
	v := aws.ToString(out.SecretString)
	if v == "" {
		return "", fmt.Errorf("read secret %s: %w", c.id, ErrEmpty)
	}
	c.value, c.fetched = v, now
	return v, nil
}
