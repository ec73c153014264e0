package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/job"
)

// upstreamProbeTimeout bounds the start-up probe of a real upstream, so an
// unreachable one delays make run by seconds at most.
const upstreamProbeTimeout = 3 * time.Second

// upstreamInfo is which upstream the runtime calls and, for a real one,
// what the start-up probe found.
type upstreamInfo struct {
	url     string
	offline bool  // the built-in simulator
	probe   error // a real upstream's probe: nil when it answered
}

// newUpstreamInfo probes a real upstream once: one request without the
// key, to its base URL, where any HTTP answer means it can be reached. An
// unreachable one is only warned about: the network may come back, and
// jobs retry their submits meanwhile (logged at ERROR each time).
func newUpstreamInfo(url string, offline bool, log *slog.Logger) upstreamInfo {
	info := upstreamInfo{url: url, offline: offline}
	if offline {
		return info
	}
	info.probe = probeUpstream(context.Background(), url)
	if info.probe != nil {
		log.Warn("the upstream cannot be reached: jobs will retry their submits until their deadline; check the network and AIMLAPI_BASE_URL, or unset AIMLAPI_KEY to run offline with the simulator",
			"url", url, "err", info.probe)
	}
	return info
}

func probeUpstream(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, upstreamProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return fmt.Errorf("probe upstream: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe upstream: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// healthChecks are what GET /v1/health checks locally, as the api function
// does in AWS: the store answers, the video_job machine is loaded from the
// template, and there is an upstream key (the simulator's own when none is
// set). None calls the upstream.
func healthChecks(store api.Store, machines map[string]*asl.Machine, upstreamKey string) []api.HealthCheck {
	return []api.HealthCheck{
		api.StoreAnswers(store),
		{Name: api.CheckStateMachines, Check: func(context.Context) error {
			if machines[VideoJob] == nil {
				return fmt.Errorf("no %s in the template", VideoJob)
			}
			return nil
		}},
		{Name: api.CheckUpstreamKey, Check: func(context.Context) error {
			if upstreamKey == "" {
				return errors.New("AIMLAPI_KEY is empty")
			}
			return nil
		}},
	}
}

// writeChecks prints which upstream the runtime calls, how its probe went,
// and the health checks as they stood at start.
func (rt *Runtime) writeChecks(b *strings.Builder) {
	u := rt.upstream
	switch {
	case u.offline:
		fmt.Fprintf(b, "upstream: OFFLINE, the built-in simulator at %s (set AIMLAPI_KEY to use the real AI/ML API)\n", u.url)
	case u.probe != nil:
		fmt.Fprintf(b, "upstream: the real AI/ML API at %s (AIMLAPI_KEY is set), NOT REACHABLE: %v\n", u.url, u.probe)
		fmt.Fprintf(b, "  jobs will retry their submits (logged at ERROR) until their deadline; check the network and AIMLAPI_BASE_URL, or unset AIMLAPI_KEY to run offline\n")
	default:
		fmt.Fprintf(b, "upstream: the real AI/ML API at %s (AIMLAPI_KEY is set; a wrong key ends each job as %s)\n", u.url, job.ErrNameUpstreamAuth)
	}
	parts := make([]string, len(rt.checks))
	for i, c := range rt.checks {
		parts[i] = c.Name + " ok"
		if c.Err != nil {
			parts[i] = fmt.Sprintf("%s FAILING (%v)", c.Name, c.Err)
		}
	}
	fmt.Fprintf(b, "checks (GET %s): %s\n", api.PathHealth, strings.Join(parts, ", "))
}
