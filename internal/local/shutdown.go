package local

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// server is the runtime's HTTP server with a count of the requests it is
// serving, which its shutdown needs.
type server struct {
	http.Server
	inFlight atomic.Int64
}

// newServer serves h, counting the requests in flight.
func newServer(h http.Handler) *server {
	s := &server{}
	s.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		h.ServeHTTP(w, r)
	})
	s.ReadHeaderTimeout = 10 * time.Second
	return s
}

// shutdown stops the server once the requests it serves have ended, and
// within timeout at most. http.Server.Shutdown alone also waits for every
// connection that has not sent a request yet until it is 5 s old (a
// client's spare dial, a browser's preconnect), so a runtime closed then
// waited 5 s and reported a deadline exceeded with nothing left to serve;
// once no request is in flight, what is left is closed outright.
func (s *server) shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	quiet, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(quiet) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if errors.Is(err, context.Canceled) && ctx.Err() == nil {
				// Stopped below: nothing was in flight.
				return s.Close()
			}
			return err
		case <-tick.C:
			if s.inFlight.Load() == 0 {
				stop()
			}
		}
	}
}
