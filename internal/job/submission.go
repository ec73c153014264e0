package job

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"unicode"
	"unicode/utf8"

	"github.com/vidgen/vidgen/internal/catalog"
)

// Submission is a request as a caller hands it to vidgen: the upstream's
// fields plus vidgen's own, which never go upstream.
type Submission struct {
	Request Request
	// CallbackURL receives a signed webhook when the job ends; "" for none.
	CallbackURL string
	// Tenant and IdempotencyKey come in the body only on a direct start of
	// the state machine (ParseOptions.Direct).
	Tenant         string
	IdempotencyKey string
	// Batch places the job in a scheduled batch.
	Batch *BatchItem
}

// BatchItem names the batch a job came from and its place in it.
type BatchItem struct {
	ID   string `json:"id"`
	Item int    `json:"item"`
}

// Limits of vidgen's own fields.
const (
	MaxTenant  = 128
	MaxBatchID = 128
)

// Hash fingerprints what an idempotency key must match on a retry: the
// normalised request and its callback. Without a callback it equals
// HashRequest, so keys claimed before callbacks existed still match.
func (s Submission) Hash() string {
	var v any = struct {
		typed
		CallbackURL string `json:"callback_url,omitempty"`
	}{typed(s.Request), s.CallbackURL}
	if s.Request.Body != nil {
		// A body (sorted by key as encoding/json does) with the callback
		// as one more member: no model has one of that name.
		body := maps.Clone(s.Request.Body)
		if s.CallbackURL != "" {
			body["callback_url"] = s.CallbackURL
		}
		v = body
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("job: marshal submission: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// parseExtensions takes vidgen's own fields out of fields, validating the
// ones opts allows; those it does not allow stay and are reported unknown.
func parseExtensions(ve *ValidationError, fields map[string]json.RawMessage, opts ParseOptions) Submission {
	var sub Submission
	take := func(name string) (json.RawMessage, bool) {
		raw, ok := fields[name]
		if ok {
			delete(fields, name)
		}
		return raw, ok && !isNull(raw)
	}
	if opts.CheckCallback != nil {
		if raw, ok := take("callback_url"); ok {
			if s, ok := stringField(ve, "callback_url", raw); ok {
				if err := opts.CheckCallback(s); err != nil {
					ve.add("callback_url", "%v", err)
				}
				sub.CallbackURL = s
			}
		}
	}
	if !opts.Direct {
		return sub
	}
	if raw, ok := take("tenant"); ok {
		if s, ok := stringField(ve, "tenant", raw); ok {
			if msg := checkLabel(s, MaxTenant); msg != "" {
				ve.add("tenant", "%s", msg)
			}
			sub.Tenant = s
		}
	}
	if raw, ok := take("idempotency_key"); ok {
		if s, ok := stringField(ve, "idempotency_key", raw); ok {
			if msg := CheckIdempotencyKey(s); msg != "" {
				ve.add("idempotency_key", "%s", msg)
			}
			sub.IdempotencyKey = s
		}
	}
	if raw, ok := take("batch"); ok {
		sub.Batch = parseBatch(ve, raw)
	}
	return sub
}

func parseBatch(ve *ValidationError, raw json.RawMessage) *BatchItem {
	fields, dups, err := decodeObject(raw)
	if err != nil {
		ve.add("batch", "must be an object with id and item")
		return nil
	}
	for _, name := range dups {
		ve.add("batch."+name, "%s", catalog.DuplicateMessage)
	}
	var b BatchItem
	for name, raw := range fields {
		switch name {
		case "id":
			if s, ok := stringField(ve, "batch.id", raw); ok {
				if msg := checkLabel(s, MaxBatchID); msg != "" {
					ve.add("batch.id", "%s", msg)
				}
				b.ID = s
			}
		case "item":
			if n, ok := intField(ve, "batch.item", raw, 0, 1<<31-1); ok {
				b.Item = int(n)
			}
		default:
			ve.add("batch."+name, "unknown field")
		}
	}
	if _, ok := fields["id"]; !ok {
		ve.add("batch.id", "is required")
	}
	return &b
}

// checkLabel says what is wrong with a tenant or batch id, or "".
func checkLabel(s string, limit int) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > limit:
		return fmt.Sprintf("must be at most %d bytes", limit)
	case !utf8.ValidString(s):
		return "must be UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "must not contain control characters"
		}
	}
	return ""
}

// CheckIdempotencyKey says what is wrong with an idempotency key, or "".
func CheckIdempotencyKey(k string) string {
	if len(k) > MaxIdempotencyKey {
		return fmt.Sprintf("must be at most %d characters", MaxIdempotencyKey)
	}
	for _, r := range k {
		if r < 0x21 || r > 0x7e {
			return "must be printable ASCII without spaces"
		}
	}
	return ""
}
