// Package apikey manages vidgen's client API keys. A key is stored only as
// the SHA-256 hash of its plaintext: whoever reads the store, a backup or a
// log learns no usable key. The plaintext exists once, when Generate makes
// it, and is then the client's to keep.
//
// Stores live in subpackages: boltkeys (local mode, inside jobs.db) and
// dynamokeys (AWS, a table of its own); keytest is the contract both meet.
// Resolver turns a presented key into its tenant, as the API and the API
// Gateway authorizer need.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Prefix starts every generated key, so that a leaked key is recognisable
// to people and to secret scanners.
const Prefix = "vg_"

// Limits on the labels a key carries.
const (
	MaxTenant = 128
	MaxName   = 256
)

// Errors the stores return, wrapped.
var (
	ErrNotFound = errors.New("API key not found")
	ErrExists   = errors.New("API key already exists")
)

// Key is a stored API key: its hash, never its plaintext.
type Key struct {
	Hash      string // hex SHA-256 of the plaintext; see Hash
	Tenant    string
	Name      string // optional label, such as who holds the key
	CreatedAt time.Time
	RevokedAt *time.Time // nil while the key is valid
}

// Revoked reports whether the key has been revoked.
func (k Key) Revoked() bool { return k.RevokedAt != nil }

// Validate says what is wrong with k, or nil. Stores refuse keys that fail
// it, so a listing never carries control characters to a terminal and a
// tenant is never empty (DynamoDB index keys may not be).
func (k Key) Validate() error {
	var errs []error
	if !ValidHash(k.Hash) {
		errs = append(errs, errors.New("hash must be 64 lowercase hex digits"))
	}
	if err := checkLabel("tenant", k.Tenant, MaxTenant); err != nil {
		errs = append(errs, err)
	} else if k.Tenant == "" {
		errs = append(errs, errors.New("tenant is required"))
	}
	if err := checkLabel("name", k.Name, MaxName); err != nil {
		errs = append(errs, err)
	}
	if k.CreatedAt.IsZero() {
		errs = append(errs, errors.New("created time is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid API key: %w", err)
	}
	return nil
}

func checkLabel(what, s string, limit int) error {
	switch {
	case len(s) > limit:
		return fmt.Errorf("%s must be at most %d bytes", what, limit)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s must be UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s must not contain control characters", what)
		}
	}
	return nil
}

// ValidHash reports whether h has the form Hash returns.
func ValidHash(h string) bool {
	return len(h) == 2*sha256.Size && isHex(h)
}

// isHex reports whether s is lowercase hex digits only.
func isHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Generate makes a new key: Prefix and 32 random bytes in unpadded
// base64url (256 bits, beyond guessing), and its hash.
func Generate() (plaintext, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("generate API key: %w", err)
	}
	plaintext = Prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return plaintext, Hash(plaintext), nil
}

// Hash is the hex SHA-256 of a plaintext key, the form keys are stored and
// looked up in. A fast hash suffices: the keys are random and long, so
// there is nothing to brute-force that a slow hash would protect.
func Hash(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// Store keeps API keys by hash. Implementations: boltkeys, dynamokeys.
type Store interface {
	// Put stores a new key, failing with ErrExists if its hash is taken.
	Put(ctx context.Context, k Key) error
	// Get returns the key with the given hash, or ErrNotFound.
	Get(ctx context.Context, hash string) (Key, error)
	// List returns the keys of tenant, or every key when tenant is "",
	// oldest first.
	List(ctx context.Context, tenant string) ([]Key, error)
	// Revoke marks the key revoked at the given time and returns it, or
	// fails with ErrNotFound. Revoking a revoked key changes nothing: it
	// keeps the time it was first revoked.
	Revoke(ctx context.Context, hash string, at time.Time) (Key, error)
}
