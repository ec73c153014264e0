package apikey_test

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/clock"
)

// cli runs vidgen-keys against one store and clock.
type cli struct {
	t     *testing.T
	store apikey.Store
	clk   *clock.Manual
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, store: newStore(t), clk: clock.NewManual(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))}
}

func (c *cli) run(args ...string) (string, error) {
	c.t.Helper()
	var out bytes.Buffer
	err := apikey.Run(c.t.Context(), args, &out, c.store, c.clk)
	return out.String(), err
}

func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("%v: %v", args, err)
	}
	return out
}

var (
	keyLine  = regexp.MustCompile(`(?m)^key +(vg_[A-Za-z0-9_-]{43})$`)
	hashLine = regexp.MustCompile(`(?m)^hash +([0-9a-f]{64})$`)
)

// create makes a key and returns its plaintext and hash.
func (c *cli) create(args ...string) (string, string) {
	c.t.Helper()
	out := c.ok(append([]string{"create"}, args...)...)
	k, h := keyLine.FindStringSubmatch(out), hashLine.FindStringSubmatch(out)
	if k == nil || h == nil {
		c.t.Fatalf("create printed no key and hash:\n%s", out)
	}
	if apikey.Hash(k[1]) != h[1] {
		c.t.Fatalf("printed hash %s is not the key's", h[1])
	}
	return k[1], h[1]
}

func TestCLICreate(t *testing.T) {
	c := newCLI(t)
	plaintext, hash := c.create("-tenant", "tenantA", "-name", "ci runner")
	k, err := c.store.Get(t.Context(), hash)
	if err != nil {
		t.Fatal(err)
	}
	if k.Tenant != "tenantA" || k.Name != "ci runner" || !k.CreatedAt.Equal(c.clk.Now()) || k.Revoked() {
		t.Fatalf("stored %+v", k)
	}
	if tenant, err := (&apikey.Resolver{Store: c.store}).Tenant(t.Context(), plaintext); tenant != "tenantA" || err != nil {
		t.Fatalf("the printed key resolves to %q, %v", tenant, err)
	}
	other, _ := c.create("-tenant", "tenantA")
	if other == plaintext {
		t.Fatal("two creates made the same key")
	}
}

func TestCLIList(t *testing.T) {
	c := newCLI(t)
	if out := c.ok("list"); strings.TrimSpace(out) != "no keys" {
		t.Fatalf("empty list printed %q", out)
	}
	a, aHash := c.create("-tenant", "tenantA", "-name", "ci")
	c.clk.Advance(time.Minute)
	b, bHash := c.create("-tenant", "tenantB")
	c.clk.Advance(time.Minute)
	c.ok("revoke", aHash)

	out := c.ok("list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("list printed %d lines, want a header and 2 keys:\n%s", len(lines), out)
	}
	want := [][]string{
		{"HASH", "TENANT", "NAME", "CREATED", "REVOKED"},
		{aHash[:apikey.ShownHash], "tenantA", "ci", "2026-11-25T12:00:00Z", "2026-11-25T12:02:00Z"},
		{bHash[:apikey.ShownHash], "tenantB", "-", "2026-11-25T12:01:00Z", "-"},
	}
	for i, line := range lines {
		if got := strings.Fields(line); strings.Join(got, " ") != strings.Join(want[i], " ") {
			t.Errorf("line %d = %q, want fields %v", i, line, want[i])
		}
	}
	for _, secret := range []string{a, b, aHash, bHash} {
		if strings.Contains(out, secret) {
			t.Errorf("list printed a key or a whole hash:\n%s", out)
		}
	}

	out = c.ok("list", "-tenant", "tenantB")
	if !strings.Contains(out, bHash[:apikey.ShownHash]) || strings.Contains(out, aHash[:apikey.ShownHash]) {
		t.Fatalf("list -tenant tenantB:\n%s", out)
	}
}

func TestCLIRevoke(t *testing.T) {
	c := newCLI(t)
	plaintext, hash := c.create("-tenant", "tenantA")
	r := &apikey.Resolver{Store: c.store, TTL: -1}

	c.clk.Advance(time.Hour)
	out := c.ok("revoke", strings.ToUpper(hash[:10]))
	if !strings.Contains(out, "revoked key "+hash) || !strings.Contains(out, "2026-11-25T13:00:00Z") {
		t.Fatalf("revoke by prefix printed %q", out)
	}
	if _, err := r.Tenant(t.Context(), plaintext); !errors.Is(err, apikey.ErrUnknown) {
		t.Fatalf("revoked key resolves: %v", err)
	}
	c.clk.Advance(time.Hour)
	out = c.ok("revoke", hash)
	if !strings.Contains(out, "already revoked at 2026-11-25T13:00:00Z") {
		t.Fatalf("second revoke printed %q", out)
	}
	if k, _ := c.store.Get(t.Context(), hash); !k.RevokedAt.Equal(time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("second revoke moved the time to %v", k.RevokedAt)
	}

	if _, err := c.run("revoke", strings.Repeat("0", 64)); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("unknown hash: err = %v, want ErrNotFound", err)
	}
	if _, err := c.run("revoke", "00000000"); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("unknown prefix: err = %v, want ErrNotFound", err)
	}
}

// Two hashes sharing a prefix make that prefix ambiguous; the store is
// seeded directly since generated hashes rarely share 8 digits.
func TestCLIRevokeAmbiguousPrefix(t *testing.T) {
	c := newCLI(t)
	h1 := "abcdef01" + strings.Repeat("1", 56)
	h2 := "abcdef01" + strings.Repeat("2", 56)
	for _, h := range []string{h1, h2} {
		if err := c.store.Put(t.Context(), apikey.Key{Hash: h, Tenant: "t", CreatedAt: c.clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.run("revoke", "abcdef01"); err == nil || !strings.Contains(err.Error(), "2 keys") {
		t.Fatalf("ambiguous prefix: err = %v", err)
	}
	c.ok("revoke", "abcdef011")
	for h, revoked := range map[string]bool{h1: true, h2: false} {
		if k, _ := c.store.Get(t.Context(), h); k.Revoked() != revoked {
			t.Errorf("%s revoked = %v, want %v", h[:9], k.Revoked(), revoked)
		}
	}
}

func TestCLIUsage(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"create"},
		{"create", "-tenant", "t", "extra"},
		{"create", "-bogus"},
		{"create", "-tenant", "a\tb"},
		{"list", "extra"},
		{"revoke"},
		{"revoke", "abc"},
		{"revoke", "not-hex-at-all"},
		{"revoke", strings.Repeat("a", 65)},
		{"revoke", "a", "b"},
	} {
		var out bytes.Buffer
		// A nil store: usage errors must not touch it.
		err := apikey.Run(t.Context(), args, &out, nil, c.clk)
		var usage *apikey.UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), "usage:") {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"create", "-h"}, {"list", "-help"}} {
		var out bytes.Buffer
		if err := apikey.Run(t.Context(), args, &out, nil, c.clk); err != nil || !strings.Contains(out.String(), "usage:") {
			t.Errorf("%q: %v, printed %q; want the usage", args, err, out.String())
		}
	}
}
