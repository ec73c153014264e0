package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/job"
)

// PathHealth answers whether this deployment can run jobs. It takes no key
// and reveals nothing secret: only each check's name and whether it passed.
const PathHealth = "/v1/health"

// Names of the checks the deployments run, in the order they are shown.
const (
	CheckStore         = "store"          // the job store answers a read
	CheckStateMachines = "state_machines" // the video_job state machine is configured
	CheckUpstreamKey   = "upstream_key"   // the upstream key is configured (not empty); the upstream is not called
)

// HealthTimeout bounds all of a health request's checks together.
const HealthTimeout = 5 * time.Second

// HealthCheck is one named check. Its error may name resources (a table,
// a secret's ARN), so the route logs it and shows only that it failed.
type HealthCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// CheckResult is one check's outcome; Err is nil when it passed.
type CheckResult struct {
	Name string
	Err  error
}

// RunChecks runs every check at once, within HealthTimeout, and returns
// their results in the order given.
func RunChecks(ctx context.Context, checks []HealthCheck) []CheckResult {
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	out := make([]CheckResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		out[i].Name = c.Name
		wg.Go(func() { out[i].Err = c.Check(ctx) })
	}
	wg.Wait()
	return out
}

// StoreAnswers checks that the job store answers a read: a job that does
// not exist is an answer.
func StoreAnswers(s interface {
	Get(ctx context.Context, id string) (job.Job, error)
}) HealthCheck {
	return HealthCheck{Name: CheckStore, Check: func(ctx context.Context) error {
		// Not a job id the API would hand out (those are UUIDs).
		if _, err := s.Get(ctx, "vidgen-health-check"); err != nil && !errors.Is(err, job.ErrNotFound) {
			return err
		}
		return nil
	}}
}

// healthBody is the route's answer.
type healthBody struct {
	Status  string          `json:"status"` // "ok" or "failing"
	Checks  map[string]bool `json:"checks"` // name → passed
	Failing []string        `json:"failing"`
}

// health answers PathHealth: 200 when every check passes, else 503 naming
// the failing ones. No key is needed, so it reveals nothing but that.
func (h *Handler) health(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if resp, ok := onlyGET(req); !ok {
		return resp
	}
	body := healthBody{Status: "ok", Checks: map[string]bool{}, Failing: []string{}}
	for _, r := range RunChecks(ctx, h.Health) {
		body.Checks[r.Name] = r.Err == nil
		if r.Err != nil {
			body.Failing = append(body.Failing, r.Name)
			h.Log.ErrorContext(ctx, "health check failed", "check", r.Name, "err", r.Err)
		}
	}
	status := http.StatusOK
	if len(body.Failing) > 0 {
		body.Status, status = "failing", http.StatusServiceUnavailable
	}
	resp := jsonResponse(status, body)
	resp.Headers["Cache-Control"] = "no-store"
	return resp
}
