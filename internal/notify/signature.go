package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/vidgen/vidgen/webhook"
)

// The Standard Webhooks headers and secret prefix, as the public webhook
// package, which receivers import, declares them.
const (
	HeaderID        = webhook.HeaderID
	HeaderTimestamp = webhook.HeaderTimestamp
	HeaderSignature = webhook.HeaderSignature
	SecretPrefix    = webhook.SecretPrefix
)

// Secrets gives each tenant's webhook secret.
type Secrets interface {
	Secret(ctx context.Context, tenant string) (string, error)
}

// MinMasterBytes is the shortest master key DerivedSecrets accepts.
const MinMasterBytes = 32

// DerivedSecrets derives each tenant's webhook secret from one master key:
// whsec_ + base64(HMAC-SHA256(master, "webhook:" + tenant)). No per-tenant
// secret is stored, and a tenant's secret can be shown to it again at any
// time. Rotating the master rotates every tenant's secret at once, so
// every receiver must be given its new secret; tenants cannot be rotated
// one by one.
type DerivedSecrets struct {
	Master []byte
}

// Secret returns tenant's secret.
func (d DerivedSecrets) Secret(ctx context.Context, tenant string) (string, error) {
	if len(d.Master) < MinMasterBytes {
		return "", fmt.Errorf("notify: webhook master key is %d bytes, want at least %d", len(d.Master), MinMasterBytes)
	}
	if tenant == "" {
		return "", errors.New("notify: no tenant to derive a webhook secret for")
	}
	h := hmac.New(sha256.New, d.Master)
	h.Write([]byte("webhook:" + tenant))
	return SecretPrefix + base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}
