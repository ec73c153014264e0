package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/vidgen/vidgen/webhook"
)

// VerifyWebhook checks that body, received with header, was signed by
// vidgen with secret (your tenant's, from GET /v2/webhooks/secret) less
// than webhook.DefaultTolerance ago, and only then decodes it. Pass the
// body's raw bytes, before any JSON decoding. Errors wrap
// webhook.ErrSignature and its kin (see package webhook).
func VerifyWebhook(secret string, header http.Header, body []byte) (webhook.Payload, error) {
	return VerifyWebhookAt(secret, header, body, time.Now(), webhook.DefaultTolerance)
}

// VerifyWebhookAt is VerifyWebhook at a given time and tolerance (tests,
// replays).
func VerifyWebhookAt(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) (webhook.Payload, error) {
	if err := webhook.Verify(secret, header, body, now, tolerance); err != nil {
		return webhook.Payload{}, fmt.Errorf("webhook: %w", err)
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		return webhook.Payload{}, fmt.Errorf("webhook: verified body is not a payload: %w", err)
	}
	return p, nil
}
