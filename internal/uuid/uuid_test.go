package uuid

import (
	"testing"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		u := New()
		if !IsV4(u) {
			t.Fatalf("%q is not a version 4 UUID", u)
		}
		if seen[u] {
			t.Fatalf("%q twice", u)
		}
		seen[u] = true
	}
}

func TestIsV4(t *testing.T) {
	for _, s := range []string{"", "not a uuid", "9cc2fb4d-a008-1765-b6ea-603ceebc2c3f", "9CC2FB4D-A008-4765-B6EA-603CEEBC2C3F", "9cc2fb4d-a008-4765-c6ea-603ceebc2c3f"} {
		if IsV4(s) {
			t.Errorf("IsV4(%q)", s)
		}
	}
}
