// Package api is the HTTP API: it turns API Gateway HTTP API (payload v2)
// events into job submissions and queries. The routes and bodies follow the
// upstream's own contract, so a client of the AI/ML API works against vidgen
// by swapping the base URL.
package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/console"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/openapi"
	"github.com/vidgen/vidgen/internal/plainjson"
	"github.com/vidgen/vidgen/internal/pollpolicy"
)

// MaxBodyBytes bounds request bodies (413 above it, before any parsing):
// 6 MB, leaving room under Lambda's 6 MiB invocation limit for the rest of
// the API Gateway event.
const MaxBodyBytes = 6_000_000

// Routes the API serves. The legacy path is the upstream's vendor URL.
const (
	PathGenerations = "/v2/video/generations"
	PathLegacy      = "/v2/generate/video/runway/generation"
	// PathWebhookSecret answers the caller's webhook signing secret.
	PathWebhookSecret = "/v2/webhooks/secret"
	// PathJobs + id is an alias of the query of one generation
	// (GET /v1/jobs/{id}, the route template.yaml declares).
	PathJobs = "/v1/jobs/"
)

// Store is the part of a job store the API uses.
type Store interface {
	Create(ctx context.Context, j job.Job) error
	Get(ctx context.Context, id string) (job.Job, error)
	Update(ctx context.Context, id string, c job.Change) (job.Job, error)
	CreateClaimed(ctx context.Context, j job.Job, c job.Claim, now time.Time) (job.Claim, error)
	// LiveClaim is the live idempotency claim of tenant's key, if any.
	LiveClaim(ctx context.Context, tenant, key string, now time.Time) (job.Claim, bool, error)
	List(ctx context.Context, tenant string, f job.Filter, limit int, cursor string) ([]job.Job, string, error)
	// Spend is tenant's credits on a UTC day (job.Day), for list answers.
	Spend(ctx context.Context, tenant, day string) (job.Spend, error)
	// QueuePosition is a waiting job's 1-based place among its tenant's
	// jobs waiting for a slot.
	QueuePosition(ctx context.Context, j job.Job) (int, error)
}

// Estimator estimates when a job completes (gentime.Estimator: the
// policy's ETA from the deployment's learned times).
type Estimator interface {
	ETA(ctx context.Context, j job.Job, now time.Time) (pollpolicy.Estimate, bool)
}

// Starter starts video_job executions. Starting one that runs must be
// harmless; starting one that has closed fails, as it runs nothing.
type Starter interface {
	Start(ctx context.Context, execution, jobID string) error
}

// Keys resolves an API key to its tenant.
type Keys interface {
	Tenant(ctx context.Context, key string) (string, error)
}

// Blobs stores images too large for a job record (see internal/blob).
type Blobs interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
}

// Linker hands out fresh links to archived videos (internal/archive):
// presigned S3 URLs in AWS, signed local URLs locally.
type Linker interface {
	Link(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// DefaultLinkTTL is how long a video link the API hands out works: long
// enough to download or stream the video, short enough that a leaked link
// soon stops working. A client asks again for a new one.
const DefaultLinkTTL = time.Hour

// Handler serves the API.
type Handler struct {
	Store   Store
	Starter Starter
	Keys    Keys
	Clock   clock.Clock
	// Stamp turns a recorded time into the wall-clock time clients read;
	// nil keeps it. Only a local runtime on a scaled clock needs one.
	Stamp func(time.Time) time.Time
	// Waiter times a long-poll's wait, which a client's HTTP request
	// spends in real time; nil is Clock. A runtime on a scaled clock
	// gives the wall clock, so wait=20 holds a request 20 s.
	Waiter   clock.Clock
	Deadline time.Duration // when positive, how long every job may take, once admitted, before it ends as TimedOut; zero: its model's (catalog.JobDeadline)
	// QueueTimeout bounds a job's wait for a slot (job.Timeouts); zero is
	// job.DefaultQueueTimeout.
	QueueTimeout time.Duration
	// CursorKey signs list cursors so clients cannot forge or alter them.
	CursorKey func(ctx context.Context) ([]byte, error)
	NewID     func() string // nil → random UUID v4
	Log       *slog.Logger  // required

	// Blobs receives data-URI images longer than blob.InlineLimit, which
	// the record then names by reference. Nil keeps every image in the
	// record, which only a store without DynamoDB's 400 KB item limit takes.
	Blobs Blobs

	// Links turns an archived video's key into the URL a client gets, valid
	// for LinkTTL (0 means DefaultLinkTTL). Nil, or a job whose video was
	// not archived, answers the upstream's own URL.
	Links   Linker
	LinkTTL time.Duration

	// CheckCallback validates a request's callback_url (notify.CheckURL);
	// nil refuses the field, for a deployment without webhooks.
	CheckCallback func(string) error
	// WebhookSecrets gives each tenant the secret its webhooks are signed
	// with (notify.DerivedSecrets); nil answers 404 on PathWebhookSecret.
	WebhookSecrets Secrets

	// Admission caps generations in flight (internal/admission): when it
	// is enabled a new job waits, without an execution, until admitted.
	// Nil starts every job at once.
	Admission admission.Admitter
	// SpendCap, when enabled, refuses new jobs of a tenant whose credits
	// today reached the cap (429 SpendCapReached, see spend.go).
	SpendCap *admission.SpendCap

	// StartRetry bounds the retries of a failed start within a request;
	// Sleeper waits between them (nil: the wall clock) and Rand, in
	// [0,1), draws their jitter (nil: math/rand/v2).
	StartRetry StartRetry
	Sleeper    clock.Clock
	Rand       func() float64

	// Metrics records the ends the API writes (cancel, a job that could
	// not start); nil records nothing.
	Metrics *metrics.Recorder

	// Health are the checks PathHealth runs (see health.go).
	Health []HealthCheck

	// Estimator gives answers their eta from the completion-time model
	// the Poll steps learn and store (internal/gentime), read through a
	// short cache. Nil answers no eta.
	Estimator Estimator
}

// Secrets gives each tenant's webhook signing secret.
type Secrets interface {
	Secret(ctx context.Context, tenant string) (string, error)
}

// Handle serves one API Gateway v2 request. It always answers with a JSON
// response; the returned error is reserved for failures API Gateway should
// see as a Lambda error, and is always nil.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	ctx = logs.With(ctx, slog.String(logs.APIRequestID, req.RequestContext.RequestID))
	path := strings.TrimSuffix(req.RawPath, "/")
	if path == PathHealth {
		return h.health(ctx, req), nil
	}
	if path == openapi.Path {
		return document(req), nil
	}
	if path == PathModels {
		return h.models(ctx, req), nil
	}
	if path == PathWebhookSecret && h.WebhookSecrets != nil {
		return h.webhookSecret(ctx, req), nil
	}
	if req.RawPath == "/" || strings.HasPrefix(req.RawPath, console.Prefix) {
		return consoleResponse(req), nil
	}
	if id, ok := strings.CutPrefix(path, PathJobs); ok && id != "" && !strings.Contains(id, "/") {
		return h.jobAlias(ctx, id, req), nil
	}
	if path != PathGenerations && path != PathLegacy {
		return errorResponse(http.StatusNotFound, "NotFound", "no route for "+req.RawPath), nil
	}
	method := req.RequestContext.HTTP.Method
	if method != http.MethodPost && method != http.MethodGet && method != http.MethodDelete {
		resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", method+" is not allowed here; use GET, POST or DELETE")
		resp.Headers["Allow"] = "GET, POST, DELETE"
		return resp, nil
	}
	tenant, resp, ok := h.authenticate(ctx, req)
	if !ok {
		return resp, nil
	}
	ctx = logs.With(ctx, slog.String(logs.Tenant, tenant))
	switch {
	case method == http.MethodPost:
		return h.submit(ctx, tenant, req, path == PathLegacy), nil
	case method == http.MethodDelete:
		return h.cancel(ctx, tenant, req), nil
	case req.QueryStringParameters["generation_id"] == "" && path == PathGenerations:
		return h.list(ctx, tenant, req), nil
	}
	return h.query(ctx, tenant, req.QueryStringParameters["generation_id"], req), nil
}

// jobAlias serves GET PathJobs{id}: the query of generation id.
func (h *Handler) jobAlias(ctx context.Context, id string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if resp, ok := onlyGET(req); !ok {
		return resp
	}
	tenant, resp, ok := h.authenticate(ctx, req)
	if !ok {
		return resp
	}
	return h.query(logs.With(ctx, slog.String(logs.Tenant, tenant)), tenant, id, req)
}

// onlyGET refuses, with 405 and the Allow header, a request to a route
// that serves GET alone.
func onlyGET(req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, bool) {
	m := req.RequestContext.HTTP.Method
	if m == http.MethodGet {
		return events.APIGatewayV2HTTPResponse{}, true
	}
	resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", m+" is not allowed here; use GET")
	resp.Headers["Allow"] = "GET"
	return resp, false
}

// consoleResponse serves the web console's page and assets, without a
// key: the page asks for one and sends it on its API calls.
func consoleResponse(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	a := console.Serve(req.RequestContext.HTTP.Method, req.RawPath, header(req.Headers, "if-none-match"))
	return events.APIGatewayV2HTTPResponse{StatusCode: a.Status, Headers: a.Header, Body: string(a.Body)}
}

// webhookSecret answers the caller's webhook signing secret, which it
// needs to verify the webhooks of its jobs' callback_url.
func (h *Handler) webhookSecret(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if resp, ok := onlyGET(req); !ok {
		return resp
	}
	tenant, resp, ok := h.authenticate(ctx, req)
	if !ok {
		return resp
	}
	ctx = logs.With(ctx, slog.String(logs.Tenant, tenant))
	secret, err := h.WebhookSecrets.Secret(ctx, tenant)
	if err != nil {
		h.Log.ErrorContext(ctx, "webhook secret", "err", err)
		return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not read the webhook secret; try again")
	}
	resp = jsonResponse(http.StatusOK, map[string]string{"tenant": tenant, "secret": secret,
		"scheme": "Standard Webhooks (https://www.standardwebhooks.com): HMAC-SHA256 over webhook-id.webhook-timestamp.body"})
	resp.Headers["Cache-Control"] = "no-store"
	return resp
}

// document answers the API's OpenAPI document, which takes no key: it
// describes the API and holds nothing secret.
func document(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if resp, ok := onlyGET(req); !ok {
		return resp
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=300"},
		Body:       string(openapi.Document()),
	}
}

func (h *Handler) authenticate(ctx context.Context, req events.APIGatewayV2HTTPRequest) (string, events.APIGatewayV2HTTPResponse, bool) {
	// Behind API Gateway the authorizer has checked the key already; the
	// request context, which no client can set, carries its tenant. Without
	// one (local mode, a direct invocation) the key is checked here.
	if tenant := authorizedTenant(req); tenant != "" {
		return tenant, events.APIGatewayV2HTTPResponse{}, true
	}
	key, ok := apikey.Bearer(header(req.Headers, "authorization"))
	if !ok {
		return "", errorResponse(http.StatusUnauthorized, "Unauthorized", "send your API key as 'Authorization: Bearer <key>'"), false
	}
	tenant, err := h.Keys.Tenant(ctx, key)
	switch {
	case errors.Is(err, apikey.ErrUnknown):
		return "", errorResponse(http.StatusUnauthorized, "Unauthorized", "the API key is not valid"), false
	case err != nil:
		h.Log.ErrorContext(ctx, "key lookup failed", "err", err)
		return "", errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not check the API key; try again"), false
	}
	return tenant, events.APIGatewayV2HTTPResponse{}, true
}

// authorizedTenant is the tenant the Lambda authorizer passed, or "".
func authorizedTenant(req events.APIGatewayV2HTTPRequest) string {
	if a := req.RequestContext.Authorizer; a != nil {
		if tenant, ok := a.Lambda[apikey.ContextTenant].(string); ok {
			return tenant
		}
	}
	return ""
}

func (h *Handler) submit(ctx context.Context, tenant string, req events.APIGatewayV2HTTPRequest, legacy bool) events.APIGatewayV2HTTPResponse {
	if ct := header(req.Headers, "content-type"); !isJSON(ct) {
		return errorResponse(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			fmt.Sprintf("Content-Type must be application/json, not %q", ct))
	}
	body, resp, ok := readBody(req)
	if !ok {
		return resp
	}
	sub, err := job.ParseSubmission(body, job.ParseOptions{AllowRatio: legacy, CheckCallback: h.CheckCallback})
	if legacy {
		err = legacyModel(body, err)
	}
	r := sub.Request
	var ve *job.ValidationError
	if errors.As(err, &ve) {
		return validationResponse(ve)
	} else if err != nil {
		return errorResponse(http.StatusBadRequest, "ValidationError", err.Error())
	}
	idemKey := header(req.Headers, "idempotency-key")
	if msg := job.CheckIdempotencyKey(idemKey); msg != "" {
		return validationResponse(&job.ValidationError{Fields: []job.FieldError{{Field: "Idempotency-Key", Message: msg}}})
	}
	if resp, ok := h.underSpendCap(ctx, tenant); !ok {
		// The cap holds new jobs back, not a retry of one accepted
		// already: that gets its replay, as it would under the cap.
		if idemKey == "" {
			return resp
		}
		now := h.Clock.Now().UTC()
		won, found, err := h.Store.LiveClaim(ctx, tenant, idemKey, now)
		switch {
		case err != nil:
			h.Log.ErrorContext(ctx, "get idempotency claim", "err", err)
			return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not check the Idempotency-Key; try again")
		case !found:
			return resp
		}
		return h.replay(ctx, won, job.Claim{Tenant: tenant, Key: idemKey, RequestHash: sub.Hash()})
	}
	now := h.Clock.Now().UTC()
	j := job.Job{
		ID: h.newID(), Tenant: tenant, Status: job.Queued, Request: r,
		CreatedAt: now, UpdatedAt: now, CallbackURL: sub.CallbackURL,
		Waiting: h.Admission != nil && h.Admission.Enabled(),
	}
	job.Timeouts{Generation: catalog.JobDeadline(r.Model, h.Deadline), Queue: h.QueueTimeout}.Schedule(&j, now)
	ctx = jobCtx(ctx, j)
	if h.Blobs != nil {
		// The idempotency hash below stays on r, the request as sent, so a
		// retry of the same request still matches.
		if j.Request, err = blob.Offload(ctx, h.Blobs, j.ID, r); err != nil {
			h.Log.ErrorContext(ctx, "offload media", "model", r.Model, "media", blob.DescribeMedia(r), "err", err)
			return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not store the request's media; try again")
		}
	}
	if idemKey == "" {
		if err := h.Store.Create(ctx, j); err != nil {
			h.Log.ErrorContext(ctx, "create job", "err", err)
			return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not record the job; try again")
		}
	} else {
		claim := job.Claim{Tenant: tenant, Key: idemKey, RequestHash: sub.Hash(), JobID: j.ID,
			ExpiresAt: now.Add(job.IdempotencyTTL).Truncate(time.Second)}
		won, err := h.Store.CreateClaimed(ctx, j, claim, now)
		if err != nil {
			h.Log.ErrorContext(ctx, "create job", "err", err)
			return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not record the job; try again")
		}
		if won.JobID != j.ID {
			return h.replay(ctx, won, claim)
		}
	}
	// A waiting job is admitted now if a slot is free and no one waits
	// longer, else when a job ends; it stays queued meanwhile. Any other
	// is started, or the answer says it is not.
	if err := h.launch(ctx, j); err != nil {
		return h.notStarted(ctx, j, idemKey != "", err)
	}
	h.Log.InfoContext(ctx, "job accepted")
	return jsonResponse(http.StatusOK, map[string]string{"id": j.ID, "status": string(j.Status)})
}

// legacyProvider is the provider whose models the legacy route, the
// upstream's Runway URL, takes.
const legacyProvider = "Runway"

// legacyModel adds to err, what parsing body found, a field error when
// body names a catalogued model of another provider than Runway: the
// legacy route is Runway's, and a client sending Kling there has the
// wrong URL. A model the catalogue lacks is parsing's to refuse.
func legacyModel(body []byte, err error) error {
	var named struct {
		Model any `json:"model"`
	}
	if json.Unmarshal(body, &named) != nil {
		return err
	}
	id, _ := named.Model.(string)
	c, cerr := catalog.Builtin()
	if id == "" || cerr != nil {
		return err
	}
	m, ok := c.Lookup(id)
	if !ok || m.Provider == legacyProvider {
		return err
	}
	var runway []string
	for _, other := range c.IDs() {
		if o, _ := c.Lookup(other); o != nil && o.Provider == legacyProvider {
			runway = append(runway, other)
		}
	}
	ve := &job.ValidationError{}
	if !errors.As(err, &ve) && err != nil {
		return err
	}
	ve.Fields = append(ve.Fields, job.FieldError{Field: "model", Message: fmt.Sprintf(
		"%q is a %s model; %s takes only %s's models (%s): send it to %s",
		id, m.Provider, PathLegacy, legacyProvider, strings.Join(runway, ", "), PathGenerations)})
	sort.SliceStable(ve.Fields, func(i, j int) bool { return ve.Fields[i].Field < ve.Fields[j].Field })
	return ve
}

// replay answers a submit whose idempotency key already names a job: the
// same request gets that job; another request under the same key is refused.
func (h *Handler) replay(ctx context.Context, won, claim job.Claim) events.APIGatewayV2HTTPResponse {
	if won.RequestHash != claim.RequestHash {
		return errorResponse(http.StatusUnprocessableEntity, "IdempotencyKeyReused",
			"this Idempotency-Key was used with a different request in the last 24 hours; use a new key")
	}
	j, err := h.Store.Get(ctx, won.JobID)
	if err != nil {
		h.Log.ErrorContext(logs.With(ctx, slog.String(logs.JobID, won.JobID)), "get replayed job", "err", err)
		return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not read the job; try again")
	}
	ctx = jobCtx(ctx, j)
	if j.Waiting && h.Admission != nil {
		if _, err := h.Admission.Admit(ctx); err != nil {
			h.Log.ErrorContext(ctx, "admit waiting jobs", "err", err)
		}
	} else if !j.Status.Terminal() {
		// Harmless if it runs; starts it if the first submit could not, or
		// died between recording the job and starting it.
		if err := h.start(ctx, j); err != nil {
			h.Log.ErrorContext(ctx, "start replayed job", "err", err)
			return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable",
				fmt.Sprintf("generation %s is recorded but could not be started yet; retry with the same Idempotency-Key", j.ID))
		}
	}
	resp := jsonResponse(http.StatusOK, map[string]string{"id": j.ID, "status": string(j.Status)})
	resp.Headers["Idempotent-Replayed"] = "true"
	return resp
}

// query answers generation id; with wait (long-poll.go) it answers once
// the job's progress changed, or after that many seconds.
func (h *Handler) query(ctx context.Context, tenant, id string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	wait, resp, ok := parseWait(req.QueryStringParameters)
	if !ok {
		return resp
	}
	j, resp, ok := h.tenantJob(ctx, tenant, id)
	if !ok {
		return resp
	}
	ctx = jobCtx(ctx, j)
	g := h.generation(ctx, j)
	if wait > 0 && !j.Status.Terminal() {
		g = h.longPoll(ctx, j, g, wait)
	}
	return jsonResponse(http.StatusOK, g)
}

// tenantJob reads the job id names (a query's generation_id). Another
// tenant's job is answered exactly like a missing one.
func (h *Handler) tenantJob(ctx context.Context, tenant, id string) (job.Job, events.APIGatewayV2HTTPResponse, bool) {
	if id == "" {
		return job.Job{}, validationResponse(&job.ValidationError{Fields: []job.FieldError{{Field: "generation_id", Message: "is required"}}}), false
	}
	j, err := h.Store.Get(ctx, id)
	if errors.Is(err, job.ErrNotFound) || (err == nil && j.Tenant != tenant) {
		return job.Job{}, errorResponse(http.StatusNotFound, "NotFound", "no generation with id "+id), false
	}
	if err != nil {
		h.Log.ErrorContext(logs.With(ctx, slog.String(logs.JobID, id)), "get job", "err", err)
		return job.Job{}, errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not read the job; try again"), false
	}
	return j, events.APIGatewayV2HTTPResponse{}, true
}

// cancel ends a job as Cancelled. The upstream has
// no cancel call, so a generation already submitted may still be charged.
// Cancelling a cancelled job again is harmless; a job that ended otherwise
// answers 409.
func (h *Handler) cancel(ctx context.Context, tenant string, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	j, resp, ok := h.tenantJob(ctx, tenant, req.QueryStringParameters["generation_id"])
	if !ok {
		return resp
	}
	ctx = jobCtx(ctx, j)
	ended, err := h.Store.Update(ctx, j.ID, job.Fail(h.Clock.Now().UTC(), job.ErrNameCancelled, "cancelled by the client"))
	if err == nil {
		h.Metrics.JobEnded(ended, 0)
	}
	if errors.Is(err, job.ErrConflict) {
		if ended, err = h.Store.Get(ctx, j.ID); err == nil && !(ended.Error != nil && ended.Error.Name == job.ErrNameCancelled) {
			return errorResponse(http.StatusConflict, "Conflict", fmt.Sprintf("the generation already ended with status %s", ended.Status))
		}
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "cancel job", "err", err)
		return errorResponse(http.StatusServiceUnavailable, "ServiceUnavailable", "could not cancel the job; try again")
	}
	// The execution is left to run: its next step finds the job ended and
	// announces it (event, webhook, its caller's result) like any other end.
	// A job that was waiting for a slot may have none: its execution is
	// started (one that runs already, a direct start's, is left alone) to
	// find the end. A job that held a slot gave it back: admit the next.
	if j.Waiting {
		if err := h.start(ctx, ended); err != nil {
			h.Log.ErrorContext(ctx, "start the execution of a cancelled waiting job", "err", err)
		}
	} else if j.Slot && h.Admission != nil {
		if _, err := h.Admission.Admit(ctx); err != nil {
			h.Log.ErrorContext(ctx, "admit waiting jobs", "err", err)
		}
	}
	h.Log.InfoContext(ctx, "job cancelled")
	return jsonResponse(http.StatusOK, h.generation(ctx, ended))
}

// Generation is the public view of a job, as clients import it.
type Generation = vidgen.Generation

// NewGeneration renders j for a client, with the video's URL as recorded:
// the upstream's. The Handler links archived videos instead.
func NewGeneration(j job.Job) Generation {
	g := Generation{ID: j.ID, Status: vidgen.Status(j.Status), CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		Model: j.Request.ModelID(), Polls: j.Polls, LastCheckedAt: j.CheckedAt}
	if j.UpstreamID != "" && j.SubmitStarted != nil {
		// The claim is written just before the POST the upstream accepted.
		g.StartedAt = j.SubmitStarted
	}
	if j.Status.Terminal() {
		// A terminal record never changes again, so its last write is its end.
		ended := j.UpdatedAt
		g.EndedAt = &ended
	}
	if j.Video != nil {
		// Key, vidgen's own, is left out.
		g.Video = &vidgen.Video{URL: j.Video.URL, Duration: j.Video.Duration}
	}
	if j.Error != nil {
		g.Error = &vidgen.Error{Name: j.Error.Name, Message: j.Error.Message}
	}
	if j.CreditsUsed != nil {
		g.Meta = &vidgen.Meta{Usage: vidgen.Usage{CreditsUsed: *j.CreditsUsed, TokensUsed: *j.CreditsUsed}}
	}
	return g
}

// jobCtx is ctx whose log lines name j and its execution.
func jobCtx(ctx context.Context, j job.Job) context.Context {
	return logs.Job(ctx, j.ID, j.Tenant, j.ExecutionName())
}

// generation renders j with its progress (queue position, eta) and a
// fresh link to its archived video.
func (h *Handler) generation(ctx context.Context, j job.Job) Generation {
	g := h.linked(ctx, j)
	if j.Waiting && !j.Status.Terminal() {
		pos, err := h.Store.QueuePosition(ctx, j)
		if err != nil {
			// Progress is a courtesy: the answer goes out without it.
			h.Log.WarnContext(jobCtx(ctx, j), "queue position", "err", err)
		} else {
			g.QueuePosition = &pos
		}
	}
	h.estimate(ctx, j, &g)
	h.stamp(&g)
	return g
}

// stamp turns g's times into wall-clock times (Stamp).
func (h *Handler) stamp(g *Generation) {
	if h.Stamp == nil {
		return
	}
	g.CreatedAt, g.UpdatedAt = h.Stamp(g.CreatedAt).UTC(), h.Stamp(g.UpdatedAt).UTC()
	for _, t := range []**time.Time{&g.StartedAt, &g.EndedAt, &g.LastCheckedAt} {
		if *t != nil {
			w := h.Stamp(**t).UTC()
			*t = &w
		}
	}
	if e := g.ETA; e != nil {
		g.ETA = &vidgen.ETA{At: h.Stamp(e.At).UTC(), Earliest: h.Stamp(e.Earliest).UTC(), Latest: h.Stamp(e.Latest).UTC(), Confidence: e.Confidence}
	}
}

// estimate sets g's eta, if the Estimator has one for j.
func (h *Handler) estimate(ctx context.Context, j job.Job, g *Generation) {
	if h.Estimator == nil {
		return
	}
	if e, ok := h.Estimator.ETA(ctx, j, h.Clock.Now()); ok {
		g.ETA = &vidgen.ETA{At: e.At.UTC(), Earliest: e.Earliest.UTC(), Latest: e.Latest.UTC(), Confidence: e.Confidence}
	}
}

// linked renders j with a fresh link to its archived video. If no link
// can be made it keeps the upstream's URL, which may still work, rather
// than fail the whole answer.
func (h *Handler) linked(ctx context.Context, j job.Job) Generation {
	g := NewGeneration(j)
	if h.Links == nil || j.Video == nil || j.Video.Key == "" {
		return g
	}
	ttl := h.LinkTTL
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	link, err := h.Links.Link(ctx, j.Video.Key, ttl)
	if err != nil {
		h.Log.ErrorContext(jobCtx(ctx, j), "link archived video", "key", j.Video.Key, "err", err)
		return g
	}
	g.Video.URL = link
	return g
}

func readBody(req events.APIGatewayV2HTTPRequest) ([]byte, events.APIGatewayV2HTTPResponse, bool) {
	tooLarge := errorResponse(http.StatusRequestEntityTooLarge, "PayloadTooLarge",
		fmt.Sprintf("the body must be at most %d bytes", MaxBodyBytes))
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBodyBytes {
			return nil, tooLarge, false
		}
		return []byte(req.Body), events.APIGatewayV2HTTPResponse{}, true
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBodyBytes+2 {
		return nil, tooLarge, false
	}
	body, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, errorResponse(http.StatusBadRequest, "BadRequest", "the body is not valid base64"), false
	}
	if len(body) > MaxBodyBytes {
		return nil, tooLarge, false
	}
	return body, events.APIGatewayV2HTTPResponse{}, true
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// header reads a header case-insensitively; API Gateway v2 lower-cases
// names, other callers may not.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func validationResponse(ve *job.ValidationError) events.APIGatewayV2HTTPResponse {
	names := make([]string, len(ve.Fields))
	fields := make([]vidgen.FieldError, len(ve.Fields))
	for i, f := range ve.Fields {
		names[i] = f.Field
		fields[i] = vidgen.FieldError{Field: f.Field, Message: f.Message}
	}
	return jsonResponse(http.StatusBadRequest, vidgen.ErrorResponse{Error: vidgen.ErrorDetail{
		Name: "ValidationError", Message: "invalid request: check " + strings.Join(names, ", "), Fields: fields,
	}})
}

// errorResponse answers an error. A 503 is always worth retrying: it says
// when, with Retry-After.
func errorResponse(status int, name, msg string) events.APIGatewayV2HTTPResponse {
	resp := jsonResponse(status, vidgen.ErrorResponse{Error: vidgen.ErrorDetail{Name: name, Message: msg}})
	if status == http.StatusServiceUnavailable {
		resp.Headers["Retry-After"] = strconv.Itoa(int(RetryAfter / time.Second))
	}
	return resp
}

// jsonResponse answers v as JSON. HTML escaping is off: it would write the
// & of a signed video URL's query as \u0026, and a client that pastes the
// URL from raw output gets a broken signature.
func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := plainjson.Marshal(v)
	if err != nil {
		// Only our own types are marshalled; this is a programming error.
		panic(fmt.Sprintf("api: marshal response: %v", err))
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}

func (h *Handler) newID() string {
	if h.NewID != nil {
		return h.NewID()
	}
	return NewUUID()
}

// NewUUID returns a random (version 4) UUID, the form the upstream's ids take.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
