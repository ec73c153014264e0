package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/keytest"
	"github.com/vidgen/vidgen/internal/clock"
)

// countingStore counts lookups and can fail them.
type countingStore struct {
	apikey.Store
	mu   sync.Mutex
	gets int
	err  error
}

func (c *countingStore) Get(ctx context.Context, hash string) (apikey.Key, error) {
	c.mu.Lock()
	c.gets++
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return apikey.Key{}, err
	}
	return c.Store.Get(ctx, hash)
}

func (c *countingStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets
}

func TestResolver(t *testing.T) {
	ctx := t.Context()
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	store := &countingStore{Store: newStore(t)}
	clk := clock.NewManual(start)
	valid, revoked := keytest.ValidAndRevoked(t, store, start)
	r := &apikey.Resolver{Store: store, Clock: clk}

	for _, tc := range []struct {
		name, key, tenant string
		err               error
	}{
		{"valid", valid, "tenantA", nil},
		{"revoked", revoked, "", apikey.ErrUnknown},
		{"unknown", "vg_nope", "", apikey.ErrUnknown},
		{"empty", "", "", apikey.ErrUnknown},
	} {
		tenant, err := r.Tenant(ctx, tc.key)
		if tenant != tc.tenant || !errors.Is(err, tc.err) {
			t.Errorf("%s: Tenant = %q, %v; want %q, %v", tc.name, tenant, err, tc.tenant, tc.err)
		}
	}
	if got := store.count(); got != 3 {
		t.Fatalf("%d lookups for three keys (the empty one needs none)", got)
	}

	// Within the TTL, answers known or not come from the cache.
	clk.Advance(apikey.DefaultTTL - time.Nanosecond)
	for range 3 {
		r.Tenant(ctx, valid)
		r.Tenant(ctx, revoked)
		r.Tenant(ctx, "vg_nope")
	}
	if got := store.count(); got != 3 {
		t.Fatalf("%d lookups, want still 3: the cache was not used", got)
	}

	// A revocation shows once the TTL has passed.
	if _, err := store.Revoke(ctx, apikey.Hash(valid), clk.Now()); err != nil {
		t.Fatal(err)
	}
	if tenant, err := r.Tenant(ctx, valid); tenant != "tenantA" || err != nil {
		t.Fatalf("within the TTL: %q, %v; want the cached tenant", tenant, err)
	}
	clk.Advance(time.Nanosecond)
	if _, err := r.Tenant(ctx, valid); !errors.Is(err, apikey.ErrUnknown) {
		t.Fatalf("after the TTL: err = %v, want ErrUnknownKey for the revoked key", err)
	}
	if got := store.count(); got != 4 {
		t.Fatalf("%d lookups, want 4", got)
	}
}

func TestResolverDoesNotCacheFailures(t *testing.T) {
	ctx := t.Context()
	store := &countingStore{Store: newStore(t), err: errors.New("throttled")}
	plaintext, hash, _ := apikey.Generate()
	if err := store.Store.Put(ctx, apikey.Key{Hash: hash, Tenant: "tenantA", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := &apikey.Resolver{Store: store}
	if _, err := r.Tenant(ctx, plaintext); err == nil || errors.Is(err, apikey.ErrUnknown) {
		t.Fatalf("store failure: err = %v, want an error other than ErrUnknownKey", err)
	}
	store.mu.Lock()
	store.err = nil
	store.mu.Unlock()
	if tenant, err := r.Tenant(ctx, plaintext); tenant != "tenantA" || err != nil {
		t.Fatalf("after recovery: %q, %v", tenant, err)
	}
}

func TestResolverWithoutCache(t *testing.T) {
	ctx := t.Context()
	store := &countingStore{Store: newStore(t)}
	r := &apikey.Resolver{Store: store, TTL: -1}
	for range 3 {
		r.Tenant(ctx, "vg_nope")
	}
	if got := store.count(); got != 3 {
		t.Fatalf("%d lookups, want one per call", got)
	}
}

// A flood of made-up keys does not grow the cache without bound, and known
// keys keep resolving.
func TestResolverCacheIsBounded(t *testing.T) {
	ctx := t.Context()
	store := &countingStore{Store: newStore(t)}
	plaintext, hash, _ := apikey.Generate()
	if err := store.Put(ctx, apikey.Key{Hash: hash, Tenant: "tenantA", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := &apikey.Resolver{Store: store, MaxEntries: 10}
	for i := range 100 {
		if _, err := r.Tenant(ctx, fmt.Sprintf("junk-%d", i)); !errors.Is(err, apikey.ErrUnknown) {
			t.Fatal(err)
		}
	}
	before := store.count()
	for i := range 100 {
		r.Tenant(ctx, fmt.Sprintf("junk-%d", i))
	}
	// With room for 10 entries, at most 10 of the 100 can have been cached.
	if again := store.count() - before; again < 90 {
		t.Fatalf("only %d of 100 repeated junk keys were looked up again: the cache holds more than its bound", again)
	}
	if tenant, err := r.Tenant(ctx, plaintext); tenant != "tenantA" || err != nil {
		t.Fatalf("known key after the flood: %q, %v", tenant, err)
	}
}

func TestResolverConcurrent(t *testing.T) {
	ctx := t.Context()
	store := newStore(t)
	plaintext, hash, _ := apikey.Generate()
	if err := store.Put(ctx, apikey.Key{Hash: hash, Tenant: "tenantA", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := &apikey.Resolver{Store: store, MaxEntries: 4}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				if tenant, err := r.Tenant(ctx, plaintext); tenant != "tenantA" || err != nil {
					t.Errorf("known key: %q, %v", tenant, err)
					return
				}
				r.Tenant(ctx, fmt.Sprintf("junk-%d-%d", i, j))
			}
		})
	}
	wg.Wait()
}
