// Package client is the Go client of vidgen's HTTP API: submit a video
// generation, wait for it with progress, list, cancel and download, and
// verify the webhooks vidgen sends. It is built on the wire types of
// github.com/vidgen/vidgen and on github.com/vidgen/vidgen/webhook, and
// needs only the standard library.
//
// Every call retries what is safe to retry: 429 and 5xx answers (after the
// Retry-After the API gives, else after an exponential backoff with jitter)
// and failed connections. A 429 SpendCapReached is returned at once: the
// daily spend cap holds until the next UTC midnight. Submit sends an Idempotency-Key, so a retried
// POST never creates a second job. API error answers come back as
// *APIError (use errors.As).
package client
