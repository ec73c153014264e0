// Package keytest is the contract every API key store must meet. Each
// store's tests call Run with a constructor, so that the embedded store and
// DynamoDB behave exactly alike.
package keytest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/apikey"
)

// ValidAndRevoked puts two fresh keys in s, both created at: one of
// tenantA, valid, and one of tenantB, revoked at that time. It returns
// their plaintexts.
func ValidAndRevoked(t testing.TB, s apikey.Store, at time.Time) (valid, revoked string) {
	t.Helper()
	valid, validHash, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	revoked, revokedHash, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []apikey.Key{
		{Hash: validHash, Tenant: "tenantA", CreatedAt: at},
		{Hash: revokedHash, Tenant: "tenantB", CreatedAt: at},
	} {
		if err := s.Put(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Revoke(t.Context(), revokedHash, at); err != nil {
		t.Fatal(err)
	}
	return valid, revoked
}

// Run runs the contract against stores made by newStore; each subtest gets
// a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) apikey.Store) {
	// Sub-second and non-UTC on purpose: stores must keep the instant.
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	key := func(n int, tenant, name string) apikey.Key {
		return apikey.Key{
			Hash: apikey.Hash(fmt.Sprintf("plaintext-%d", n)), Tenant: tenant, Name: name,
			CreatedAt: t0.Add(time.Duration(n) * time.Minute),
		}
	}

	t.Run("put and get round-trip", func(t *testing.T) {
		s := newStore(t)
		want := key(1, "tenantA", "ci ✓")
		if err := s.Put(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(t.Context(), want.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if err := same(got, want); err != nil {
			t.Fatal(err)
		}
		noName := key(2, "tenantA", "")
		if err := s.Put(t.Context(), noName); err != nil {
			t.Fatal(err)
		}
		if got, err = s.Get(t.Context(), noName.Hash); err != nil {
			t.Fatal(err)
		}
		if err := same(got, noName); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("put is create-if-absent", func(t *testing.T) {
		s := newStore(t)
		first := key(1, "tenantA", "first")
		if err := s.Put(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		// The same key again is a retried put whose answer was lost.
		if err := s.Put(t.Context(), first); err != nil {
			t.Fatalf("the same key again: %v, want success", err)
		}
		second := first
		second.Tenant, second.Name = "tenantB", "second"
		if err := s.Put(t.Context(), second); !errors.Is(err, apikey.ErrExists) {
			t.Fatalf("second put: err = %v, want ErrExists", err)
		}
		got, err := s.Get(t.Context(), first.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if err := same(got, first); err != nil {
			t.Fatalf("after a refused put: %v", err)
		}
	})

	t.Run("concurrent puts: exactly one wins", func(t *testing.T) {
		s := newStore(t)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				k := key(1, fmt.Sprintf("tenant%d", i), "")
				errs[i] = s.Put(t.Context(), k)
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, apikey.ErrExists):
				t.Errorf("put %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d puts succeeded, want 1", won)
		}
	})

	t.Run("put refuses invalid keys", func(t *testing.T) {
		s := newStore(t)
		for name, k := range map[string]apikey.Key{
			"no tenant":         key(1, "", ""),
			"short hash":        {Hash: "abc", Tenant: "t", CreatedAt: t0},
			"upper-case hash":   {Hash: strings.ToUpper(apikey.Hash("x")), Tenant: "t", CreatedAt: t0},
			"control in name":   key(2, "t", "a\tb"),
			"no created time":   {Hash: apikey.Hash("y"), Tenant: "t"},
			"tenant too long":   key(3, strings.Repeat("t", apikey.MaxTenant+1), ""),
			"control in tenant": key(4, "t\n", ""),
		} {
			if err := s.Put(t.Context(), k); err == nil {
				t.Errorf("%s: put accepted %+v", name, k)
			}
		}
		all, err := s.List(t.Context(), "")
		if err != nil || len(all) != 0 {
			t.Fatalf("after refused puts: %v, %v; want no keys", all, err)
		}
	})

	t.Run("missing key", func(t *testing.T) {
		s := newStore(t)
		for _, h := range []string{apikey.Hash("nope"), "", "not a hash"} {
			if _, err := s.Get(t.Context(), h); !errors.Is(err, apikey.ErrNotFound) {
				t.Errorf("get %q: err = %v, want ErrNotFound", h, err)
			}
			if _, err := s.Revoke(t.Context(), h, t0); !errors.Is(err, apikey.ErrNotFound) {
				t.Errorf("revoke %q: err = %v, want ErrNotFound", h, err)
			}
		}
	})

	t.Run("list all or by tenant, oldest first", func(t *testing.T) {
		s := newStore(t)
		// Put out of order; hashes are unrelated to creation order.
		keys := []apikey.Key{key(3, "tenantA", "c"), key(1, "tenantA", "a"), key(2, "tenantB", "b"), key(4, "tenantA", "")}
		for _, k := range keys {
			if err := s.Put(t.Context(), k); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Revoke(t.Context(), keys[0].Hash, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			tenant string
			want   []string // names, "" shown as -
		}{
			{"", []string{"a", "b", "c", "-"}},
			{"tenantA", []string{"a", "c", "-"}},
			{"tenantB", []string{"b"}},
			{"tenantC", nil},
		} {
			got, err := s.List(t.Context(), tc.tenant)
			if err != nil {
				t.Fatalf("list %q: %v", tc.tenant, err)
			}
			var names []string
			for _, k := range got {
				if tc.tenant != "" && k.Tenant != tc.tenant {
					t.Errorf("list %q returned a key of %q", tc.tenant, k.Tenant)
				}
				n := k.Name
				if n == "" {
					n = "-"
				}
				names = append(names, n)
				if n == "c" && k.RevokedAt == nil {
					t.Errorf("list %q: the revoked key shows as valid", tc.tenant)
				}
			}
			if strings.Join(names, " ") != strings.Join(tc.want, " ") {
				t.Errorf("list %q = %v, want %v", tc.tenant, names, tc.want)
			}
		}
	})

	t.Run("revoke is idempotent and keeps the first time", func(t *testing.T) {
		s := newStore(t)
		k := key(1, "tenantA", "ci")
		if err := s.Put(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Hour + 987654321)
		got, err := s.Revoke(t.Context(), k.Hash, at)
		if err != nil {
			t.Fatal(err)
		}
		want := k
		want.RevokedAt = &at
		if err := same(got, want); err != nil {
			t.Fatalf("revoke returned: %v", err)
		}
		if got, err = s.Revoke(t.Context(), k.Hash, at.Add(time.Hour)); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		if err := same(got, want); err != nil {
			t.Fatalf("second revoke returned: %v", err)
		}
		if got, err = s.Get(t.Context(), k.Hash); err != nil {
			t.Fatal(err)
		}
		if err := same(got, want); err != nil {
			t.Fatalf("get after revoke: %v", err)
		}
	})
}

// same compares keys as instants, and requires UTC times back.
func same(got, want apikey.Key) error {
	var diffs []string
	if got.Hash != want.Hash {
		diffs = append(diffs, fmt.Sprintf("hash %q, want %q", got.Hash, want.Hash))
	}
	if got.Tenant != want.Tenant {
		diffs = append(diffs, fmt.Sprintf("tenant %q, want %q", got.Tenant, want.Tenant))
	}
	if got.Name != want.Name {
		diffs = append(diffs, fmt.Sprintf("name %q, want %q", got.Name, want.Name))
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		diffs = append(diffs, fmt.Sprintf("created %v, want %v in UTC", got.CreatedAt, want.CreatedAt))
	}
	switch {
	case (got.RevokedAt == nil) != (want.RevokedAt == nil):
		diffs = append(diffs, fmt.Sprintf("revoked %v, want %v", got.RevokedAt, want.RevokedAt))
	case got.RevokedAt != nil && (!got.RevokedAt.Equal(*want.RevokedAt) || got.RevokedAt.Location() != time.UTC):
		diffs = append(diffs, fmt.Sprintf("revoked %v, want %v in UTC", *got.RevokedAt, *want.RevokedAt))
	}
	if len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}
