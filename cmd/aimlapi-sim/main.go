// Command aimlapi-sim runs the simulated AI/ML API on its own, for trying
// vidgen or any other client against a local, free, fault-injectable
// upstream.
//
// Usage:
//
//	aimlapi-sim [-addr 127.0.0.1:3100] [-key KEY] [-queue 3s] [-generation 25s] [-video-ttl 1h] [-public-url URL]
//	            [-quirks generation_id,succeeded,video_array,error_detail] [-no-model-quirks]
//
// It accepts every catalogued model; -generation sets how long a 5-second
// gen3a_turbo video takes, and every model's catalogue prior is scaled
// alike. -quirks serves those answer shapes for every model beside each
// model's own, and -no-model-quirks drops the models' own (see package
// internal/simulator). The key defaults to $AIMLAPI_KEY; with neither, any
// bearer key is accepted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vidgen/vidgen/internal/simulator"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3100", "address to listen on")
	// The default is read after parsing so that -help never prints the key.
	key := flag.String("key", "", "bearer key clients must send (default $AIMLAPI_KEY; none accepts any key)")
	queue := flag.Duration("queue", simulator.DefaultQueueTime, "how long a generation stays queued")
	generation := flag.Duration("generation", simulator.DefaultGenerationTime, "how long a 5-second gen3a_turbo video takes to generate; every model's prior scales alike")
	videoTTL := flag.Duration("video-ttl", simulator.DefaultVideoURLTTL, "how long a video link stays valid after the poll that hands it out")
	publicURL := flag.String("public-url", "", "base URL of video links (default: from each request's Host)")
	quirks := flag.String("quirks", "", "answer shapes to serve for every model, comma-separated: generation_id, succeeded, video_array, error_detail")
	noModelQuirks := flag.Bool("no-model-quirks", false, "answer every model in the documented shapes unless -quirks or a sim:quirk directive says otherwise")
	flag.Parse()
	forced, err := simulator.ParseQuirks(*quirks)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aimlapi-sim: -quirks:", err)
		os.Exit(2)
	}
	if *key == "" {
		*key = os.Getenv("AIMLAPI_KEY")
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	sim := simulator.New(simulator.Config{
		Key:            *key,
		QueueTime:      *queue,
		GenerationTime: *generation,
		VideoURLTTL:    *videoTTL,
		PublicURL:      *publicURL,
		Quirks:         forced,
		NoModelQuirks:  *noModelQuirks,
		Log:            log,
	})
	if err := serve(ctx, *addr, sim, log); err != nil {
		log.Error("simulator stopped", "err", err)
		os.Exit(1)
	}
}

// serve runs h on addr until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("simulated AI/ML API listening", "addr", ln.Addr().String())

	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
