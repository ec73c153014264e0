package apikey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SeedName is the label Seed gives the keys it inserts, so that a listing
// tells them from keys made with vidgen-keys.
const SeedName = "VIDGEN_API_KEYS"

// Pair is a tenant and a plaintext key, as VIDGEN_API_KEYS lists them.
type Pair struct {
	Tenant string
	Key    string
}

// ParsePairs reads "tenantA:keyA,tenantB:keyB". Its errors never quote a
// key.
func ParsePairs(s string) ([]Pair, error) {
	var pairs []Pair
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		tenant, key, ok := strings.Cut(item, ":")
		tenant, key = strings.TrimSpace(tenant), strings.TrimSpace(key)
		if !ok || tenant == "" || key == "" {
			return nil, fmt.Errorf("API keys: %q is not tenant:key", redact(item))
		}
		pairs = append(pairs, Pair{Tenant: tenant, Key: key})
	}
	if len(pairs) == 0 {
		return nil, errors.New("API keys: none given")
	}
	return pairs, nil
}

func redact(item string) string {
	if tenant, _, ok := strings.Cut(item, ":"); ok {
		return tenant + ":…"
	}
	return "…"
}

// Seed makes sure each key that pairs lists ("tenantA:keyA,tenantB:keyB")
// is stored for its tenant, inserting the hashes of those missing, and
// returns the pairs. Running it again changes nothing. It fails, naming
// tenants but never keys, when a listed key is stored for another tenant or
// has been revoked: a revoked key stays revoked. Keys dropped from the list
// stay stored; revoke them with vidgen-keys.
func Seed(ctx context.Context, store Store, pairs string) ([]Pair, error) {
	parsed, err := ParsePairs(pairs)
	if err != nil {
		return nil, err
	}
	for _, p := range parsed {
		if err := seedOne(ctx, store, p); err != nil {
			return nil, err
		}
	}
	return parsed, nil
}

func seedOne(ctx context.Context, store Store, p Pair) error {
	hash := Hash(p.Key)
	k, err := store.Get(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		k = Key{Hash: hash, Tenant: p.Tenant, Name: SeedName, CreatedAt: time.Now().UTC()}
		err = store.Put(ctx, k)
		if errors.Is(err, ErrExists) { // another process seeded it meanwhile
			k, err = store.Get(ctx, hash)
		}
	}
	if err != nil {
		return fmt.Errorf("API keys: seed a key of tenant %q: %w", p.Tenant, err)
	}
	switch {
	case k.Tenant != p.Tenant:
		return fmt.Errorf("API keys: a key listed for tenant %q is stored for tenant %q; give each tenant its own key", p.Tenant, k.Tenant)
	case k.Revoked():
		return fmt.Errorf("API keys: a key listed for tenant %q was revoked at %s; list another key", p.Tenant, k.RevokedAt.UTC().Format(time.RFC3339))
	}
	return nil
}
