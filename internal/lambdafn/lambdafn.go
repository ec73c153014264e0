// Package lambdafn is the composition root of vidgen's Lambda functions:
// it reads a function's environment and builds its handler from the domain
// packages and the AWS adapters (dynamostore, sfnexec, eventbus, secret,
// s3blob). Each function's constructor is in a package of its own,
// internal/lambdafn/<fn>fn, so that each function's binary links, and
// initialises at its cold start, only the AWS clients it calls; this
// package holds what they share and imports no AWS service client
// (TestEachFunctionLinksOnlyItsClients). The functions' main.go files call
// their constructor and lambda.Start the result; nothing here does network
// I/O until the first invocation, and nothing here decides about jobs.
package lambdafn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/steps"
	"github.com/vidgen/vidgen/internal/upstream"
)

// The environment variables the functions read; template.yaml sets them and
// a test checks the two agree.
const (
	EnvTable        = "VIDGEN_TABLE"
	EnvStateMachine = "VIDGEN_STATE_MACHINE_ARN"
	EnvKeysTable    = "VIDGEN_KEYS_TABLE"
	EnvCursorSecret = "VIDGEN_CURSOR_SECRET"
	EnvDeadline     = "VIDGEN_JOB_DEADLINE_SECONDS"
	// EnvQueueTimeout bounds a job's wait for a slot (job.Timeouts).
	EnvQueueTimeout   = "VIDGEN_QUEUE_TIMEOUT_SECONDS"
	EnvUpstreamURL    = "AIMLAPI_BASE_URL"
	EnvUpstreamSecret = "AIMLAPI_KEY_SECRET"
	EnvPollInterval   = "VIDGEN_POLL_INTERVAL_SECONDS"
	// EnvBucket names the bucket holding images too large for a job
	// record (the api function writes them, the submit function reads
	// them) and archived videos (poll writes them, api links to them).
	EnvBucket = "VIDGEN_BUCKET"
	// EnvVideoHosts lists, comma-separated, the hosts the upstream's video
	// URLs may point at (archive.Archiver.AllowedHosts).
	EnvVideoHosts = "VIDGEN_VIDEO_HOSTS"
	// EnvWebhookSecret names the Secrets Manager secret every tenant's
	// webhook signing secret is derived from (notify.DerivedSecrets).
	EnvWebhookSecret = "VIDGEN_WEBHOOK_SECRET"
	// EnvEventBus is the EventBridge bus ended jobs are announced on.
	EnvEventBus = "VIDGEN_EVENT_BUS"
	// EnvMaxInFlight and EnvMaxInFlightPerTenant cap the generations in
	// flight, in all and per tenant (internal/admission); 0 is no cap.
	EnvMaxInFlight          = "VIDGEN_MAX_IN_FLIGHT"
	EnvMaxInFlightPerTenant = "VIDGEN_MAX_IN_FLIGHT_PER_TENANT"
	// EnvReconcileMinAge and EnvReconcileGrace are the reconciler's
	// MinAge and Grace (reconcile.Reconciler), in seconds.
	EnvReconcileMinAge = "VIDGEN_RECONCILE_MIN_AGE_SECONDS"
	EnvReconcileGrace  = "VIDGEN_RECONCILE_GRACE_SECONDS"
	// EnvSpendCap is the per-tenant daily spend cap in credits
	// (admission.SpendCap); 0 is no cap.
	EnvSpendCap = "VIDGEN_SPEND_CAP_CREDITS_PER_DAY"
)

// Required lists the variables the function in functions/<fn> requires.
func Required(fn string) []string {
	switch fn {
	case "api":
		return []string{EnvTable, EnvStateMachine, EnvKeysTable, EnvCursorSecret, EnvDeadline, EnvQueueTimeout, EnvBucket, EnvWebhookSecret,
			EnvMaxInFlight, EnvMaxInFlightPerTenant, EnvUpstreamSecret, EnvSpendCap}
	case "register":
		// It submits the job it registers too (steps.Registrar.Submitter).
		return []string{EnvTable, EnvDeadline, EnvQueueTimeout, EnvBucket, EnvStateMachine, EnvMaxInFlight, EnvMaxInFlightPerTenant,
			EnvUpstreamURL, EnvUpstreamSecret, EnvPollInterval, EnvSpendCap}
	case "finish":
		return []string{EnvTable, EnvEventBus, EnvStateMachine, EnvMaxInFlight, EnvMaxInFlightPerTenant}
	case "webhook":
		return []string{EnvTable, EnvWebhookSecret}
	case "authorizer":
		return []string{EnvKeysTable}
	case "submit":
		return []string{EnvTable, EnvUpstreamURL, EnvUpstreamSecret, EnvPollInterval, EnvBucket, EnvSpendCap}
	case "poll":
		// It announces the jobs it sees end too (steps.Handlers.Finisher),
		// admitting waiting jobs as the finish function does.
		return []string{EnvTable, EnvUpstreamURL, EnvUpstreamSecret, EnvPollInterval, EnvBucket, EnvVideoHosts,
			EnvEventBus, EnvStateMachine, EnvMaxInFlight, EnvMaxInFlightPerTenant}
	case "fail":
		return []string{EnvTable}
	case "reconcile":
		return []string{EnvTable, EnvStateMachine, EnvMaxInFlight, EnvMaxInFlightPerTenant, EnvReconcileMinAge, EnvReconcileGrace}
	case "summarize":
		return []string{EnvBucket} // the bucket the batch's Map writes its results to
	}
	return nil
}

// Handler is what one function's main.go hands to lambda.Start: the
// function's whole work on its event.
type Handler[In, Out any] = func(context.Context, In) (Out, error)

// Recorder records the function's metrics as Embedded Metric Format lines
// on stdout, which Lambda sends to the function's log group, where
// CloudWatch extracts them; their Stage is VIDGEN_STAGE, which
// template.yaml's Globals set for every function.
func Recorder(getenv func(string) string) *metrics.Recorder {
	stage := getenv(metrics.EnvStage)
	if stage == "" {
		stage = "unknown" // CloudWatch drops a metric whose dimension is empty
	}
	return metrics.New(stage, metrics.NewEMF(os.Stdout), nil)
}

// SpendMissed counts in rec each job a store recorded without its
// tenant's spend counter (dynamostore.Config.SpendMissed): alarm
// <stack>-spend-counter-missed watches the count, and the store's error
// log line names the job.
func SpendMissed(rec *metrics.Recorder) func(jobID string) {
	return func(string) { rec.SpendCounterMissed() }
}

// need reads the variables and reports every missing one at once.
func need(getenv func(string) string, names ...string) (map[string]string, error) {
	vals := map[string]string{}
	var missing []error
	for _, n := range names {
		if vals[n] = getenv(n); vals[n] == "" {
			missing = append(missing, fmt.Errorf("environment variable %s is not set", n))
		}
	}
	return vals, errors.Join(missing...)
}

// Load reads function fn's environment, reporting every missing variable
// at once, the AWS configuration (Config), and builds the function's
// logger (internal/logs: JSON on stderr, which Lambda sends to the
// function's log group, at the level logs.EnvLevel names).
func Load(ctx context.Context, fn string, getenv func(string) string) (map[string]string, aws.Config, *slog.Logger, error) {
	env, err := need(getenv, Required(fn)...)
	log, lerr := logs.FromEnv(getenv, os.Stderr)
	cfg, cerr := Config(ctx, getenv)
	if err = errors.Join(err, lerr, cerr); err != nil {
		return nil, aws.Config{}, nil, err
	}
	return env, cfg, log, nil
}

// Config is the AWS configuration of a function, from what Lambda puts in
// its environment: the region (AWS_REGION) and the execution role's
// session (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), as
// "Defined runtime environment variables" lists them
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
// and the endpoints AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> name
// (the emulator tests point them at moto). It does without the SDK's
// config.LoadDefaultConfig, whose shared files, SSO, web identity and
// STS providers link four more service clients into every binary and
// cost each cold start about 2 ms of package initialisers
// (docs/performance.md, "Cold start and size"); none of them applies in
// Lambda. No network I/O: a missing region or key is an error here, at
// init.
func Config(_ context.Context, getenv func(string) string) (aws.Config, error) {
	region := cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	key, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	var missing []error
	if region == "" {
		missing = append(missing, errors.New("environment variable AWS_REGION is not set (Lambda sets it)"))
	}
	if key == "" || secret == "" {
		missing = append(missing, errors.New("environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set "+
			"(Lambda sets them from the execution role; no other credential source is read)"))
	}
	if err := errors.Join(missing...); err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, getenv("AWS_SESSION_TOKEN"))),
		Retryer: func() aws.Retryer {
			// The SDK's 3 attempts, but backing off at most sdkMaxBackoff
			// (not 20 s) between them: a step retries on its own schedule
			// (the state machine's Retry), and Budget counts on it.
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = sdkMaxBackoff })
		},
		// Each client takes its AWS_ENDPOINT_URL_<SERVICE> from here as it
		// is built (its resolveBaseEndpoint), as from LoadDefaultConfig's
		// environment source; TestConfigEndpoints holds every client the
		// functions build to it.
		ConfigSources: []any{serviceEndpoints(getenv)},
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" {
		cfg.BaseEndpoint = &u
	}
	return cfg, nil
}

// serviceEndpoints answers a client's question for its own endpoint with
// AWS_ENDPOINT_URL_<SERVICE>, the service's SDK ID in capitals with
// underscores for spaces (DYNAMODB, S3, SECRETS_MANAGER, SFN, EVENTBRIDGE),
// as the SDK names them.
type serviceEndpoints func(string) string

// GetServiceBaseEndpoint is the method the SDK's clients look for in
// aws.Config.ConfigSources.
func (getenv serviceEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	u := getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_")))
	return u, u != "", nil
}

// Seconds reads variable name's value v, a positive number of seconds.
func Seconds(name, v string) (time.Duration, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s must be a positive number of seconds, got %q", name, v)
	}
	return time.Duration(n) * time.Second, nil
}

// JobTimeouts reads how long a job may run once admitted and how long it
// may wait for a slot: the api and register functions both record jobs. A
// deadline of 0 (template.yaml's JobDeadlineSeconds default) gives each job
// its model's catalogued deadline; a positive one is an operator's, for
// every model (catalog.JobDeadline).
func JobTimeouts(env map[string]string) (deadline, queue time.Duration, err error) {
	if env[EnvDeadline] != "0" {
		if deadline, err = Seconds(EnvDeadline, env[EnvDeadline]); err != nil {
			return 0, 0, fmt.Errorf("%w, or 0 for each model's own", err)
		}
	}
	queue, err = Seconds(EnvQueueTimeout, env[EnvQueueTimeout])
	return deadline, queue, err
}

// Policy is the poll policy of every function of a deployment: the steps
// (Steps) decide by it and the api function's estimates come from it, so
// the two agree. It is pollpolicy.LongPoll, design (c) of make bench, for
// which video_job's Poll and template.yaml's PollFunction have their
// timeouts (docs/performance.md, "Wiring the chosen design"). The submit
// and poll functions then set its Interval from
// VIDGEN_POLL_INTERVAL_SECONDS (UpstreamSteps), which estimates do not read.
func Policy() pollpolicy.Policy { return pollpolicy.LongPoll() }

// Steps is the step handlers as every step function (submit, poll, fail)
// builds them, on the job store store.
func Steps(store steps.Store, log *slog.Logger, rec *metrics.Recorder) *steps.Handlers {
	return &steps.Handlers{
		Store:   store,
		Clock:   clock.Real{},
		Policy:  Policy(),
		Log:     log,
		Metrics: rec,
	}
}

// UpstreamSteps adds to h what the submit and poll functions add: the
// deployment's learned generation times, in the jobs table (times): Submit
// decides its first wait and Poll its polls from them, and Poll records
// each job it completes; the poll interval; and the upstream client on the
// key key reads, whose being unset (unset) is a ConfigurationError naming
// EnvUpstreamSecret.
func UpstreamSteps(h *steps.Handlers, env map[string]string, times gentime.Store, key func(context.Context) (string, error), unset func(error) bool) error {
	h.Learned = &gentime.Cache{Store: times, Clock: h.Clock, Log: h.Log}
	var err error
	if h.Policy.Interval, err = Seconds(EnvPollInterval, env[EnvPollInterval]); err != nil {
		return err
	}
	h.Upstream = KeyedUpstream(env[EnvUpstreamURL], key, unset, h.Log, h.Metrics)
	return nil
}

// KeyedUpstream is the upstream client on the key key reads, whose being
// unset is a ConfigurationError naming EnvUpstreamSecret.
func KeyedUpstream(baseURL string, key func(context.Context) (string, error), unset func(error) bool, log *slog.Logger, rec *metrics.Recorder) *upstream.KeyedClient {
	return &upstream.KeyedClient{BaseURL: baseURL, Key: key, Unset: unset, Setting: EnvUpstreamSecret, Log: log, Metrics: rec}
}

// Hosts splits a comma-separated list, dropping spaces and empty entries.
func Hosts(v string) []string {
	var out []string
	for h := range strings.SplitSeq(v, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// MachineConfigured checks the video_job state machine's ARN without a
// call: the api function's role may only start executions.
func MachineConfigured(arn string) error {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":stateMachine:") {
		return fmt.Errorf("%s is not a state machine ARN: %q", EnvStateMachine, arn)
	}
	return nil
}

// Dispatcher admits waiting jobs of store into executions (starter, and
// tasks, which resumes parked ones) under the caps the environment sets.
func Dispatcher(env map[string]string, store admission.Store, starter admission.Starter, tasks admission.Tasks, log *slog.Logger, rec *metrics.Recorder) (*admission.Dispatcher, error) {
	var limits job.Limits
	for name, dst := range map[string]*int{EnvMaxInFlight: &limits.Global, EnvMaxInFlightPerTenant: &limits.PerTenant} {
		n, err := strconv.Atoi(env[name])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s must be a whole number ≥ 0 (0: no cap), got %q", name, env[name])
		}
		*dst = n
	}
	return &admission.Dispatcher{Store: store, Starter: starter, Tasks: tasks, Limits: limits, Clock: clock.Real{}, Log: log, Metrics: rec}, nil
}

// SpendCap is the per-tenant daily spend cap EnvSpendCap sets, on the
// spend counters of store: the api function refuses new jobs past it, and
// Submit (the submit and register functions) does not submit them.
func SpendCap(env map[string]string, store admission.SpendReader) (*admission.SpendCap, error) {
	n, err := admission.ParseCredits(env[EnvSpendCap])
	if err != nil {
		return nil, fmt.Errorf("%s %w", EnvSpendCap, err)
	}
	return &admission.SpendCap{Credits: n, Store: store}, nil
}

// WebhookSecrets derives tenants' webhook secrets from the master secret,
// read (Master.Value: a secret.Cache) on first use rather than during init.
type WebhookSecrets struct {
	Master interface {
		Value(ctx context.Context) (string, error)
	}
}

func (w WebhookSecrets) Secret(ctx context.Context, tenant string) (string, error) {
	master, err := w.Master.Value(ctx)
	if err != nil {
		return "", err
	}
	return notify.DerivedSecrets{Master: []byte(master)}.Secret(ctx, tenant)
}
