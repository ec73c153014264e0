package apikey_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/apikey"
)

func TestParsePairs(t *testing.T) {
	got, err := apikey.ParsePairs(" tenantA : keyA ,, tenantB:key:with:colons ")
	if err != nil {
		t.Fatal(err)
	}
	want := []apikey.Pair{{"tenantA", "keyA"}, {"tenantB", "key:with:colons"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", " , ", "nocolon", ":key", "tenant:", "a:k,s3cr3t"} {
		if _, err := apikey.ParsePairs(bad); err == nil {
			t.Errorf("ParsePairs(%q) accepted", bad)
		}
	}
	if _, err := apikey.ParsePairs("a:s3cr3t,nocolons3cr3t"); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error quotes a key: %v", err)
	}
}

func TestSeed(t *testing.T) {
	ctx := t.Context()
	store := newStore(t)
	const list = "tenantA:keyA,tenantB:keyB"
	for range 2 { // the second run changes nothing
		pairs, err := apikey.Seed(ctx, store, list)
		if err != nil {
			t.Fatal(err)
		}
		if len(pairs) != 2 || pairs[0] != (apikey.Pair{Tenant: "tenantA", Key: "keyA"}) {
			t.Fatalf("pairs = %+v", pairs)
		}
	}
	keys, err := store.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("%d keys stored, want 2", len(keys))
	}
	for _, k := range keys {
		if k.Name != apikey.SeedName || k.Hash == "keyA" || k.Hash == "keyB" || k.CreatedAt.IsZero() {
			t.Errorf("seeded key %+v, want a hash labelled %s", k, apikey.SeedName)
		}
	}
	r := &apikey.Resolver{Store: store}
	if tenant, err := r.Tenant(ctx, "keyB"); tenant != "tenantB" || err != nil {
		t.Fatalf("seeded key: %q, %v", tenant, err)
	}

	// A key moved to another tenant, or revoked, is refused by name of
	// tenant, never of key.
	_, err = apikey.Seed(ctx, store, "tenantC:keyA")
	if err == nil || !strings.Contains(err.Error(), `"tenantA"`) || strings.Contains(err.Error(), "keyA") {
		t.Fatalf("key of another tenant: err = %v", err)
	}
	if _, err := store.Revoke(ctx, apikey.Hash("keyB"), time.Now()); err != nil {
		t.Fatal(err)
	}
	_, err = apikey.Seed(ctx, store, list)
	if err == nil || !strings.Contains(err.Error(), "revoked") || strings.Contains(err.Error(), "keyB") {
		t.Fatalf("revoked key: err = %v", err)
	}
	if _, err := r.Tenant(ctx, "keyC"); !errors.Is(err, apikey.ErrUnknown) {
		t.Fatalf("unseeded key: err = %v", err)
	}
	if _, err := apikey.Seed(ctx, store, "nocolon"); err == nil {
		t.Fatal("a malformed list was accepted")
	}
}
