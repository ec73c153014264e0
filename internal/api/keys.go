package api

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
)

// StaticKeys maps API keys to tenants from a fixed list, as local mode
// reads it from VIDGEN_API_KEYS.
type StaticKeys struct {
	pairs []keyPair
}

type keyPair struct{ tenant, key string }

// ParseKeys reads "tenantA:keyA,tenantB:keyB".
func ParseKeys(s string) (*StaticKeys, error) {
	var k StaticKeys
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
		k.pairs = append(k.pairs, keyPair{tenant: tenant, key: key})
	}
	if len(k.pairs) == 0 {
		return nil, fmt.Errorf("API keys: none given")
	}
	return &k, nil
}

// Tenant returns the tenant of key or ErrUnknownKey. Every key is compared
// in constant time so timing tells nothing about near misses.
func (k *StaticKeys) Tenant(_ context.Context, key string) (string, error) {
	found := ""
	for _, p := range k.pairs {
		if subtle.ConstantTimeCompare([]byte(p.key), []byte(key)) == 1 {
			found = p.tenant
		}
	}
	if found == "" {
		return "", ErrUnknownKey
	}
	return found, nil
}

// Tenants lists tenant:key pairs for the local runtime's start-up banner.
func (k *StaticKeys) Tenants() [][2]string {
	out := make([][2]string, len(k.pairs))
	for i, p := range k.pairs {
		out[i] = [2]string{p.tenant, p.key}
	}
	return out
}

func redact(item string) string {
	if tenant, _, ok := strings.Cut(item, ":"); ok {
		return tenant + ":…"
	}
	return "…"
}
