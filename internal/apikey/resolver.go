package apikey

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
)

// Defaults of a Resolver.
const (
	// DefaultTTL bounds how long a lookup is reused, and so how long a
	// revoked key may still pass in one process.
	DefaultTTL = 30 * time.Second
	// DefaultMaxEntries bounds the cache, which also holds unknown keys
	// that anyone can send.
	DefaultMaxEntries = 10_000
)

// Getter is the part of a Store a Resolver reads.
type Getter interface {
	Get(ctx context.Context, hash string) (Key, error)
}

// Resolver resolves plaintext keys to tenants: it implements api.Keys. It
// remembers each answer, known or not, for TTL, so that the authorizer and
// the API do not read the store on every request. Failed lookups are not
// remembered. The zero value is not usable: set Store. A Resolver must not
// be copied after first use.
type Resolver struct {
	Store      Getter
	TTL        time.Duration // 0: DefaultTTL; negative: remember nothing
	Clock      clock.Clock   // nil: the wall clock
	MaxEntries int           // 0: DefaultMaxEntries

	mu    sync.Mutex
	cache map[string]entry // by hash, never by plaintext
}

type entry struct {
	tenant string // "" for a key that is unknown or revoked
	until  time.Time
}

// Tenant returns the tenant of key, ErrUnknown for a key that is
// unknown or revoked, or another error when the store cannot answer.
func (r *Resolver) Tenant(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", ErrUnknown
	}
	hash := Hash(key)
	now := r.now()
	if tenant, ok := r.cached(hash, now); ok {
		if tenant == "" {
			return "", ErrUnknown
		}
		return tenant, nil
	}
	k, err := r.Store.Get(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		k = Key{}
	case err != nil:
		return "", fmt.Errorf("look up API key: %w", err)
	case k.Revoked():
		k = Key{}
	}
	r.remember(hash, k.Tenant, now)
	if k.Tenant == "" {
		return "", ErrUnknown
	}
	return k.Tenant, nil
}

func (r *Resolver) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}

func (r *Resolver) ttl() time.Duration {
	if r.TTL == 0 {
		return DefaultTTL
	}
	return r.TTL
}

func (r *Resolver) cached(hash string, now time.Time) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.cache[hash]
	if !ok {
		return "", false
	}
	if !now.Before(e.until) {
		delete(r.cache, hash)
		return "", false
	}
	return e.tenant, true
}

func (r *Resolver) remember(hash, tenant string, now time.Time) {
	ttl := r.ttl()
	if ttl < 0 {
		return
	}
	limit := r.MaxEntries
	if limit <= 0 {
		limit = DefaultMaxEntries
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cache == nil {
		r.cache = map[string]entry{}
	}
	if _, ok := r.cache[hash]; !ok && len(r.cache) >= limit {
		for h, e := range r.cache {
			if !now.Before(e.until) {
				delete(r.cache, h)
			}
		}
		// Still full, as under a flood of made-up keys: drop arbitrary
		// entries. A dropped key costs one more store read, nothing else.
		for h := range r.cache {
			if len(r.cache) < limit {
				break
			}
			delete(r.cache, h)
		}
	}
	r.cache[hash] = entry{tenant: tenant, until: now.Add(ttl)}
}
