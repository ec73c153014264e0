package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// testSecret signs the deliveries of these tests. That what Deliver signs
// verifies is deliver_test's receiver's check (webhook.Verify); Sign itself
// is tested against the Standard Webhooks reference vector in package
// webhook.
const testSecret = "whsec_dGhpcy1pcy1hLTMyLWJ5dGUtdGVzdC1rZXktZm9yLXZpZGdlbg=="

func TestDerivedSecrets(t *testing.T) {
	master := []byte("0123456789abcdef0123456789abcdef")
	d := DerivedSecrets{Master: master}
	a1, err := d.Secret(t.Context(), "tenantA")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := d.Secret(t.Context(), "tenantA")
	b, _ := d.Secret(t.Context(), "tenantB")
	if a1 != a2 || a1 == b {
		t.Errorf("secrets A %s, A again %s, B %s: want stable and per tenant", a1, a2, b)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a1, SecretPrefix))
	if err != nil || len(key) != 32 || !strings.HasPrefix(a1, SecretPrefix) {
		t.Errorf("secret %s decodes to %d bytes (%v), want 32", a1, len(key), err)
	}
	// The documented derivation, so that it can be rebuilt elsewhere.
	h := hmac.New(sha256.New, master)
	h.Write([]byte("webhook:tenantA"))
	if want := "whsec_" + base64.StdEncoding.EncodeToString(h.Sum(nil)); a1 != want {
		t.Errorf("secret %s, want %s", a1, want)
	}
	rotated, _ := DerivedSecrets{Master: []byte("fedcba9876543210fedcba9876543210")}.Secret(t.Context(), "tenantA")
	if rotated == a1 {
		t.Error("a new master gives the same secret")
	}
	if _, err := (DerivedSecrets{Master: master[:31]}).Secret(t.Context(), "tenantA"); err == nil {
		t.Error("a 31-byte master was accepted")
	}
	if _, err := d.Secret(t.Context(), ""); err == nil {
		t.Error("an empty tenant got a secret")
	}
}
