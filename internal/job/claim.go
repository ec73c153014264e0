package job

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// IdempotencyTTL is how long an idempotency key keeps naming its job; after
// that the same key makes a new job.
const IdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKey bounds the Idempotency-Key header.
const MaxIdempotencyKey = 255

// Claim binds a tenant's idempotency key to the job it created and to the
// request it was made with, so a retry with the same key finds the same job
// and a different request under a used key is refused.
type Claim struct {
	Tenant      string    `json:"tenant"`
	Key         string    `json:"key"`
	RequestHash string    `json:"request_hash"`
	JobID       string    `json:"job_id"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Live reports whether the claim still holds at now.
func (c Claim) Live(now time.Time) bool { return now.Before(c.ExpiresAt) }

// HashRequest fingerprints a validated request. It hashes the normalised
// request, not the raw body, so the same request with other whitespace,
// field order or explicit defaults counts as the same.
func HashRequest(r Request) string {
	b, err := json.Marshal(r)
	if err != nil {
		// Request holds only strings and numbers; this cannot fail.
		panic("job: marshal request: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
