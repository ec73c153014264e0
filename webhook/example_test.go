package webhook_test

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/vidgen/vidgen/webhook"
)

// A receiver's handler: verify the raw body before decoding it.
func ExampleVerify() {
	secret := "whsec_…" // GET /v2/webhooks/secret, kept like a password
	http.HandleFunc("/vidgen", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "body", http.StatusBadRequest)
			return
		}
		// webhook-id is the same on every retry of one message.
		log.Printf("webhook %s: job %s ended %s", r.Header.Get(webhook.HeaderID), p.Data.ID, p.Data.Status)
		w.WriteHeader(http.StatusNoContent)
	})
}
