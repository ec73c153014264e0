// Package lambdastest gives tests of the local runtime handler functions
// to run as its Lambda functions.
package lambdastest

import (
	"context"
	"encoding/json"
)

// Blocker is a function that holds up its callers until released.
type Blocker struct {
	Entered chan string   // the input of each call, once it has begun
	Release chan struct{} // closed to let the calls return
}

// NewBlocker makes a Blocker for up to 10 calls waiting at once.
func NewBlocker() *Blocker {
	return &Blocker{Entered: make(chan string, 10), Release: make(chan struct{})}
}

// Handle is the function: it answers its input once released.
func (b *Blocker) Handle(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
	b.Entered <- string(in)
	select {
	case <-b.Release:
		return in, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
