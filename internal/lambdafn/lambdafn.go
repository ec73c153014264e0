// Package lambdafn is the composition root of vidgen's Lambda functions:
// it reads a function's environment and builds its handler from the domain
// packages and the AWS adapters (dynamostore, sfnexec, eventbus, secret,
// s3blob). The functions' main.go files call it and lambda.Start the
// result; nothing here does network I/O until the first invocation, and
// nothing here decides about jobs.
package lambdafn

import (
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
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/dynamokeys"
	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/authorizer"
	"github.com/vidgen/vidgen/internal/blob/s3blob"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/eventbus"
	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/reconcile"
	"github.com/vidgen/vidgen/internal/secret"
	"github.com/vidgen/vidgen/internal/sfnexec"
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
)

// Required lists the variables the function in functions/<fn> requires.
func Required(fn string) []string {
	switch fn {
	case "api":
		return []string{EnvTable, EnvStateMachine, EnvKeysTable, EnvCursorSecret, EnvDeadline, EnvQueueTimeout, EnvBucket, EnvWebhookSecret,
			EnvMaxInFlight, EnvMaxInFlightPerTenant, EnvUpstreamSecret}
	case "register":
		// It submits the job it registers too (steps.Registrar.Submitter).
		return []string{EnvTable, EnvDeadline, EnvQueueTimeout, EnvBucket, EnvStateMachine, EnvMaxInFlight, EnvMaxInFlightPerTenant,
			EnvUpstreamURL, EnvUpstreamSecret, EnvPollInterval}
	case "finish":
		return []string{EnvTable, EnvEventBus, EnvStateMachine, EnvMaxInFlight, EnvMaxInFlightPerTenant}
	case "webhook":
		return []string{EnvTable, EnvWebhookSecret}
	case "authorizer":
		return []string{EnvKeysTable}
	case "submit":
		return []string{EnvTable, EnvUpstreamURL, EnvUpstreamSecret, EnvPollInterval, EnvBucket}
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

// recorder records the function's metrics as Embedded Metric Format lines
// on stdout, which Lambda sends to the function's log group, where
// CloudWatch extracts them; their Stage is VIDGEN_STAGE, which
// template.yaml's Globals set for every function.
func recorder(getenv func(string) string) *metrics.Recorder {
	stage := getenv(metrics.EnvStage)
	if stage == "" {
		stage = "unknown" // CloudWatch drops a metric whose dimension is empty
	}
	return metrics.New(stage, metrics.NewEMF(os.Stdout), nil)
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

// load reads function fn's environment, reporting every missing variable
// at once, the AWS configuration, which the SDK takes from the environment
// without network I/O, and builds the function's logger (internal/logs:
// JSON on stderr, which Lambda sends to the function's log group, at the
// level logs.EnvLevel names).
func load(ctx context.Context, fn string, getenv func(string) string) (map[string]string, aws.Config, *slog.Logger, error) {
	env, err := need(getenv, Required(fn)...)
	log, lerr := logs.FromEnv(getenv, os.Stderr)
	if err = errors.Join(err, lerr); err != nil {
		return nil, aws.Config{}, nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		// The SDK's 3 attempts, but backing off at most sdkMaxBackoff
		// (not 20 s) between them: a step retries on its own schedule
		// (the state machine's Retry), and Budget counts on it.
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = sdkMaxBackoff })
	}))
	if err != nil {
		return nil, aws.Config{}, nil, fmt.Errorf("load AWS config: %w", err)
	}
	return env, cfg, log, nil
}

// jobs is the job store in the table the environment names.
func jobs(cfg aws.Config, env map[string]string) *dynamostore.Store {
	return dynamostore.New(dynamodb.NewFromConfig(cfg), dynamostore.Config{Table: env[EnvTable]})
}

func seconds(name, v string) (time.Duration, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s must be a positive number of seconds, got %q", name, v)
	}
	return time.Duration(n) * time.Second, nil
}

// jobTimeouts reads how long a job may run once admitted and how long it
// may wait for a slot: the api and register functions both record jobs.
func jobTimeouts(env map[string]string) (deadline, queue time.Duration, err error) {
	if deadline, err = seconds(EnvDeadline, env[EnvDeadline]); err != nil {
		return 0, 0, err
	}
	queue, err = seconds(EnvQueueTimeout, env[EnvQueueTimeout])
	return deadline, queue, err
}

// newSteps builds the step handlers (Submit, Poll, Fail) for function fn.
func newSteps(ctx context.Context, fn string, getenv func(string) string) (*steps.Handlers, error) {
	env, cfg, log, err := load(ctx, fn, getenv)
	if err != nil {
		return nil, err
	}
	return stepsFrom(fn, env, cfg, log, recorder(getenv))
}

// stepsFrom builds the step handlers of function fn from its loaded
// environment; the register function builds its Submitter with it.
func stepsFrom(fn string, env map[string]string, cfg aws.Config, log *slog.Logger, rec *metrics.Recorder) (*steps.Handlers, error) {
	store := jobs(cfg, env)
	h := &steps.Handlers{
		Store:   store,
		Clock:   clock.Real{},
		Policy:  pollpolicy.Learning(),
		Log:     log,
		Metrics: rec,
	}
	if fn == "fail" {
		return h, nil
	}
	// The deployment's learned generation times, in the jobs table: Submit
	// decides its first wait and Poll its polls from them, and Poll records
	// each job it completes.
	h.Learned = &gentime.Cache{Store: store, Clock: h.Clock, Log: log}
	var err error
	if h.Policy.Interval, err = seconds(EnvPollInterval, env[EnvPollInterval]); err != nil {
		return nil, err
	}
	keys := secret.NewCache(secretsmanager.NewFromConfig(cfg), env[EnvUpstreamSecret], 0, nil)
	h.Upstream = keyedUpstream(env[EnvUpstreamURL], keys, log, h.Metrics)
	switch fn {
	case "submit", "register":
		h.Blobs = s3blob.New(s3.NewFromConfig(cfg), env[EnvBucket])
		h.Tasks = sfnexec.Tasks{Client: sfn.NewFromConfig(cfg)}
	case "poll":
		h.Archiver = &archive.Archiver{
			Store:        s3blob.New(s3.NewFromConfig(cfg), env[EnvBucket]),
			AllowedHosts: hosts(env[EnvVideoHosts]),
		}
		// Poll announces the jobs it sees end, as Finish does.
		n, err := finisher(env, cfg, log, rec)
		if err != nil {
			return nil, err
		}
		h.Finisher = n
	}
	return h, nil
}

// keyedUpstream is the upstream client on the key in the secret keys reads,
// whose being unset is a ConfigurationError naming EnvUpstreamSecret.
func keyedUpstream(baseURL string, keys *secret.Cache, log *slog.Logger, rec *metrics.Recorder) *upstream.KeyedClient {
	return &upstream.KeyedClient{BaseURL: baseURL, Key: keys.Value, Unset: secret.Unset, Setting: EnvUpstreamSecret, Log: log, Metrics: rec}
}

// hosts splits a comma-separated list, dropping spaces and empty entries.
func hosts(v string) []string {
	var out []string
	for h := range strings.SplitSeq(v, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// newAPI builds the api function's handler.
func newAPI(ctx context.Context, getenv func(string) string) (*api.Handler, error) {
	in, err := loadIntake(ctx, "api", getenv)
	if err != nil {
		return nil, err
	}
	sm := secretsmanager.NewFromConfig(in.cfg)
	cursor := secret.NewCache(sm, in.env[EnvCursorSecret], time.Hour, nil)
	bucket := s3.NewFromConfig(in.cfg)
	return &api.Handler{
		Metrics:   in.rec,
		Admission: in.admit,
		CursorKey: func(ctx context.Context) ([]byte, error) {
			v, err := cursor.Value(ctx)
			return []byte(v), err
		},
		Store:        in.store,
		Starter:      &sfnexec.Starter{Client: in.states, StateMachineARN: in.env[EnvStateMachine]},
		Keys:         keyResolver(in.cfg, in.env[EnvKeysTable]),
		Clock:        clock.Real{},
		Deadline:     in.deadline,
		QueueTimeout: in.queue,
		Log:          in.log,
		Blobs:        s3blob.New(bucket, in.env[EnvBucket]),
		// Presigning is local computation with the function's own
		// credentials, so the role needs s3:GetObject on the bucket.
		Links: s3blob.NewLinks(s3.NewPresignClient(bucket), in.env[EnvBucket], nil),
		// Estimates come from the deployment's learned times, as the Poll
		// steps' decisions do (docs/api.md).
		Estimator: gentime.Estimator{Policy: pollpolicy.Learning(),
			Times: &gentime.Cache{Store: in.store, Clock: clock.Real{}, Log: in.log}},
		CheckCallback:  func(u string) error { return notify.CheckURL(u, false) },
		WebhookSecrets: webhookSecrets{secret.NewCache(sm, in.env[EnvWebhookSecret], time.Hour, nil)},
		Health: []api.HealthCheck{
			api.StoreAnswers(in.store),
			{Name: api.CheckStateMachines, Check: func(context.Context) error { return machineConfigured(in.env[EnvStateMachine]) }},
			{Name: api.CheckUpstreamKey, Check: upstreamKeyCheck(sm, in.env[EnvUpstreamSecret], time.Now).Check},
		},
	}, nil
}

// upstreamKeyCheck tells whether the upstream key secret has a value, from
// its metadata alone: the api function never reads the key.
func upstreamKeyCheck(api secret.DescribeAPI, id string, now func() time.Time) *secret.ValueCheck {
	return &secret.ValueCheck{API: api, ID: id, Label: "the upstream key secret", Setting: EnvUpstreamSecret, Now: now}
}

// machineConfigured checks the video_job state machine's ARN without a
// call: the api function's role may only start executions.
func machineConfigured(arn string) error {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":stateMachine:") {
		return fmt.Errorf("%s is not a state machine ARN: %q", EnvStateMachine, arn)
	}
	return nil
}

// newRegistrar builds the register function's handler, which records the jobs
// of executions started directly.
func newRegistrar(ctx context.Context, getenv func(string) string) (*steps.Registrar, error) {
	in, err := loadIntake(ctx, "register", getenv)
	if err != nil {
		return nil, err
	}
	// It submits the job it registers in the same invocation, as the
	// submit function would.
	submitter, err := stepsFrom("register", in.env, in.cfg, in.log, in.rec)
	if err != nil {
		return nil, err
	}
	return &steps.Registrar{
		Admission:     in.admit,
		Store:         in.store,
		Blobs:         s3blob.New(s3.NewFromConfig(in.cfg), in.env[EnvBucket]),
		Clock:         clock.Real{},
		Deadline:      in.deadline,
		QueueTimeout:  in.queue,
		CheckCallback: func(u string) error { return notify.CheckURL(u, false) },
		Log:           in.log,
		Submitter:     submitter,
	}, nil
}

// intake is what the two functions that take jobs in (api, register) both
// build: their settings, the job store, and the admission in front of it
// with the jobs' deadline and queue timeout.
type intake struct {
	env             map[string]string
	cfg             aws.Config
	log             *slog.Logger
	store           *dynamostore.Store
	states          *sfn.Client
	rec             *metrics.Recorder
	admit           *admission.Dispatcher
	deadline, queue time.Duration
}

func loadIntake(ctx context.Context, fn string, getenv func(string) string) (*intake, error) {
	env, cfg, log, err := load(ctx, fn, getenv)
	if err != nil {
		return nil, err
	}
	in := &intake{env: env, cfg: cfg, log: log, store: jobs(cfg, env), states: sfn.NewFromConfig(cfg), rec: recorder(getenv)}
	if in.deadline, in.queue, err = jobTimeouts(env); err != nil {
		return nil, err
	}
	if in.admit, err = dispatcher(env, in.store, in.states, log, in.rec); err != nil {
		return nil, err
	}
	return in, nil
}

// newNotifier builds the handler of the finish function (which announces
// ended jobs on EventBridge) or the webhook function (which delivers their
// webhooks), as fn says.
func newNotifier(ctx context.Context, fn string, getenv func(string) string) (*notify.Notifier, error) {
	env, cfg, log, err := load(ctx, fn, getenv)
	if err != nil {
		return nil, err
	}
	if fn == "finish" {
		return finisher(env, cfg, log, recorder(getenv))
	}
	n := &notify.Notifier{Store: jobs(cfg, env), Log: log, Metrics: recorder(getenv)}
	switch fn {
	case "webhook":
		// The guard refuses private, loopback and link-local receivers, at
		// the URL and again at every connection.
		n.Webhooks = &notify.Sender{Guard: notify.DestinationGuard{}}
		n.Secrets = webhookSecrets{secret.NewCache(secretsmanager.NewFromConfig(cfg), env[EnvWebhookSecret], time.Hour, nil)}
	}
	return n, nil
}

// finisher is the notifier that announces ended jobs on EventBridge and
// admits waiting jobs into their slots: the finish function's, and the
// poll function's for the jobs it sees end.
func finisher(env map[string]string, cfg aws.Config, log *slog.Logger, rec *metrics.Recorder) (*notify.Notifier, error) {
	store := jobs(cfg, env)
	n := &notify.Notifier{Store: store, Log: log, Metrics: rec,
		Publisher: &eventbus.Publisher{API: eventbridge.NewFromConfig(cfg), Bus: env[EnvEventBus]}}
	var err error
	if n.Admission, err = dispatcher(env, store, sfn.NewFromConfig(cfg), log, n.Metrics); err != nil {
		return nil, err
	}
	return n, nil
}

// dispatcher admits waiting jobs of store into executions of the state
// machine, under the caps the environment sets.
// statesAPI is the Step Functions calls a dispatcher makes: it starts the
// executions of admitted jobs and resumes parked ones.
type statesAPI interface {
	sfnexec.StartExecutionAPI
	sfnexec.SendTaskSuccessAPI
}

func dispatcher(env map[string]string, store *dynamostore.Store, client statesAPI, log *slog.Logger, rec *metrics.Recorder) (*admission.Dispatcher, error) {
	var limits job.Limits
	for name, dst := range map[string]*int{EnvMaxInFlight: &limits.Global, EnvMaxInFlightPerTenant: &limits.PerTenant} {
		n, err := strconv.Atoi(env[name])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s must be a whole number ≥ 0 (0: no cap), got %q", name, env[name])
		}
		*dst = n
	}
	return &admission.Dispatcher{Store: store, Starter: &sfnexec.Starter{Client: client, StateMachineARN: env[EnvStateMachine]},
		Tasks: sfnexec.Tasks{Client: client}, Limits: limits, Clock: clock.Real{}, Log: log, Metrics: rec}, nil
}

// webhookSecrets derives tenants' webhook secrets from the master secret,
// read from Secrets Manager on first use rather than during init.
type webhookSecrets struct{ master *secret.Cache }

func (w webhookSecrets) Secret(ctx context.Context, tenant string) (string, error) {
	master, err := w.master.Value(ctx)
	if err != nil {
		return "", err
	}
	return notify.DerivedSecrets{Master: []byte(master)}.Secret(ctx, tenant)
}

// newAuthorizer builds the authorizer function's handler.
func newAuthorizer(ctx context.Context, getenv func(string) string) (*authorizer.Authorizer, error) {
	env, cfg, log, err := load(ctx, "authorizer", getenv)
	if err != nil {
		return nil, err
	}
	return &authorizer.Authorizer{Keys: keyResolver(cfg, env[EnvKeysTable]), Log: log}, nil
}

// keyResolver resolves API keys through the keys table. It remembers each
// answer for apikey.DefaultTTL, so a warm function reads a key once in that
// time; the api function needs it only for requests that bypass the
// authorizer.
func keyResolver(cfg aws.Config, table string) *apikey.Resolver {
	return &apikey.Resolver{Store: dynamokeys.New(dynamodb.NewFromConfig(cfg), table)}
}

// newReconciler builds the reconcile function's reconciler.
func newReconciler(ctx context.Context, getenv func(string) string) (*reconcile.Reconciler, error) {
	env, cfg, log, err := load(ctx, "reconcile", getenv)
	if err != nil {
		return nil, err
	}
	minAge, err := seconds(EnvReconcileMinAge, env[EnvReconcileMinAge])
	if err != nil {
		return nil, err
	}
	grace, err := seconds(EnvReconcileGrace, env[EnvReconcileGrace])
	if err != nil {
		return nil, err
	}
	store := jobs(cfg, env)
	states := sfn.NewFromConfig(cfg)
	rec := recorder(getenv)
	admit, err := dispatcher(env, store, states, log, rec)
	if err != nil {
		return nil, err
	}
	// This function's role may describe executions: a job admitted whose
	// execution has closed is then reported, not taken for started.
	admit.Starter = &sfnexec.Starter{Client: states, StateMachineARN: env[EnvStateMachine], Describe: states}
	return &reconcile.Reconciler{
		Admission:  admit,
		Store:      store,
		Executions: &sfnexec.Executions{Client: states, StateMachineARN: env[EnvStateMachine]},
		Clock:      clock.Real{},
		Grace:      grace,
		MinAge:     minAge,
		Log:        log,
		Metrics:    rec,
	}, nil
}
