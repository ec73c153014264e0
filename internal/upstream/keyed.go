package upstream

import (
	"context"
	"log/slog"
	"sync"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/metrics"
)

// KeyedClient is a Client whose key is read on each call, from a cache
// such as secret.Cache: it is read on first use, never at construction,
// and a rotated key takes effect without a deploy.
type KeyedClient struct {
	BaseURL string
	Key     func(ctx context.Context) (string, error)
	// Unset tells, of an error of Key, that no key is set (its secret is
	// empty, was never given a value, or is not there), as against one that
	// cannot be read now. Nil: every error of Key is passing.
	Unset func(error) bool
	// Setting names where the key comes from, for KeyError.
	Setting string
	Log     *slog.Logger
	Metrics *metrics.Recorder

	mu      sync.Mutex
	current string
	client  *Client
}

func (u *KeyedClient) get(ctx context.Context) (*Client, error) {
	key, err := u.Key(ctx)
	if err != nil && u.Unset != nil && u.Unset(err) {
		// An unset key is not a passing fault: the job ends
		// ConfigurationError instead of waiting for its deadline.
		return nil, &KeyError{Setting: u.Setting, Err: err}
	}
	if err != nil {
		// Surely not sent upstream: the submit step may retry it.
		return nil, &Error{Kind: KindUnreachable, Message: "could not read the upstream key", Err: err}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if key != u.current || u.client == nil {
		u.current = key
		u.client = New(Config{BaseURL: u.BaseURL, Key: key, Log: u.Log, Metrics: u.Metrics})
	}
	return u.client, nil
}

// Submit submits req with the current key.
func (u *KeyedClient) Submit(ctx context.Context, req job.Request) (Generation, error) {
	c, err := u.get(ctx)
	if err != nil {
		return Generation{}, err
	}
	return c.Submit(ctx, req)
}

// Get asks about generation id with the current key.
func (u *KeyedClient) Get(ctx context.Context, id string) (Generation, error) {
	c, err := u.get(ctx)
	if err != nil {
		return Generation{}, err
	}
	return c.Get(ctx, id)
}
