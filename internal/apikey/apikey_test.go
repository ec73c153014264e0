package apikey_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/boltkeys"
	"github.com/vidgen/vidgen/internal/apikey/boltkeys/boltkeystest"
)

// newStore is a fresh bolt key store for one test.
func newStore(t *testing.T) *boltkeys.Store {
	t.Helper()
	return boltkeystest.New(t)
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		plaintext, hash, err := apikey.Generate()
		if err != nil {
			t.Fatal(err)
		}
		body, ok := strings.CutPrefix(plaintext, apikey.Prefix)
		if !ok {
			t.Fatalf("key %q lacks the %q prefix", plaintext, apikey.Prefix)
		}
		raw, err := base64.RawURLEncoding.DecodeString(body)
		if err != nil || len(raw) != 32 {
			t.Fatalf("key body %q is not 32 bytes of unpadded base64url (%d bytes, %v)", body, len(raw), err)
		}
		if hash != apikey.Hash(plaintext) || !apikey.ValidHash(hash) {
			t.Fatalf("hash %q is not Hash of the key", hash)
		}
		if seen[plaintext] {
			t.Fatal("Generate repeated a key")
		}
		seen[plaintext] = true
	}
}

func TestHash(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2's example.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := apikey.Hash("abc"); got != want {
		t.Fatalf("Hash(abc) = %s, want %s", got, want)
	}
	for h, valid := range map[string]bool{
		want: true, strings.ToUpper(want): false, want[1:]: false, want + "0": false, "": false,
		strings.Repeat("g", 64): false,
	} {
		if apikey.ValidHash(h) != valid {
			t.Errorf("ValidHash(%q) = %v, want %v", h, !valid, valid)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := apikey.Key{Hash: apikey.Hash("k"), Tenant: "tenantA", Name: "ci runner ✓", CreatedAt: time.Now()}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid key refused: %v", err)
	}
	for name, mutate := range map[string]func(*apikey.Key){
		"bad hash":       func(k *apikey.Key) { k.Hash = "x" },
		"empty tenant":   func(k *apikey.Key) { k.Tenant = "" },
		"long tenant":    func(k *apikey.Key) { k.Tenant = strings.Repeat("t", apikey.MaxTenant+1) },
		"newline":        func(k *apikey.Key) { k.Tenant = "a\nb" },
		"escape in name": func(k *apikey.Key) { k.Name = "\x1b[2J" },
		"long name":      func(k *apikey.Key) { k.Name = strings.Repeat("n", apikey.MaxName+1) },
		"bad UTF-8":      func(k *apikey.Key) { k.Name = "\xff" },
		"no time":        func(k *apikey.Key) { k.CreatedAt = time.Time{} },
	} {
		k := ok
		mutate(&k)
		if err := k.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
