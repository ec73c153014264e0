// Package local is vidgen's local runtime: it runs the whole service on one
// machine with no AWS account. It reads template.yaml, executes the real
// statemachine/*.asl.json files with the in-process ASL interpreter, invokes
// the very handlers the Lambdas run, plays API Gateway for HTTP requests and,
// when no upstream key is set, serves the built-in upstream simulator.
package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/boltkeys"
	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/blob/fsblob"
	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/console"
	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/admin"
	"github.com/vidgen/vidgen/internal/local/apigw"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/s3dir"
	"github.com/vidgen/vidgen/internal/local/scheduler"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/reconcile"
	"github.com/vidgen/vidgen/internal/samtemplate"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
	"github.com/vidgen/vidgen/internal/upstream"
)

// Defaults of local mode.
const (
	DefaultAddr    = "127.0.0.1:3000"
	DefaultDataDir = ".vidgen"
	// DefaultKeys gives a key to the tenant of HTTP clients and to those
	// jobs get when another workflow starts video_job without a tenant
	// (steps.DefaultTenant) or the template's batch schedule runs
	// (BatchTenant's default), so that their jobs can be looked at too.
	DefaultKeys      = "local:vidgen-local-key,workflow:vidgen-workflow-key,batch:vidgen-batch-key"
	DefaultUpstream  = "https://api.aimlapi.com"
	DefaultReconcile = time.Minute
	// DefaultMaxInFlight and DefaultMaxInFlightPerTenant are the caps on
	// generations in flight unless VIDGEN_MAX_IN_FLIGHT(_PER_TENANT) say
	// otherwise.
	DefaultMaxInFlight          = 100
	DefaultMaxInFlightPerTenant = 50
	// DefaultVideoHosts is where a real upstream's videos may come from.
	DefaultVideoHosts = ".aimlapi.com"
	// simPrefix is where the built-in simulator is served.
	simPrefix = "/sim"
	// filesPrefix is where archived videos are served, at signed links.
	filesPrefix = "/files"
	// VideoJob is the logical id of the job state machine in template.yaml.
	VideoJob = "VideoJobStateMachine"
	// MetricsPath serves the metrics in Prometheus' text format.
	MetricsPath = "/metrics"
	// LocalStage is the Stage dimension of the local runtime's metrics.
	LocalStage = "local"
	// admitTogether bounds the admissions one pass makes at once
	// (admission.Dispatcher.Together): more than the default caps' free
	// slots, fewer than a group commit's MaxGroup.
	admitTogether = 128
)

// Config configures a local runtime; ConfigFromEnv reads it from the
// environment variables docs/configuration.md documents.
type Config struct {
	Addr        string
	APIKeys     string  // tenant:key,…; seeded into jobs.db on start
	UpstreamURL string  // used only when UpstreamKey is set
	UpstreamKey string  // empty: run the built-in simulator
	TimeScale   float64 // every wait is divided by it
	DataDir     string
	Template    string // path of template.yaml
	// JobDeadline, when positive, is every job's deadline
	// (VIDGEN_JOB_DEADLINE); zero gives each its model's (catalog.JobDeadline).
	JobDeadline time.Duration
	// QueueTimeout bounds a job's wait for a slot (job.Timeouts); zero is
	// job.DefaultQueueTimeout.
	QueueTimeout time.Duration
	// Limits cap the generations in flight, in all and per tenant; jobs
	// over a cap wait, queued, for a slot (internal/admission). Zero
	// fields mean no cap; ConfigFromEnv defaults to DefaultLimits.
	Limits job.Limits
	// SpendCap is the per-tenant daily spend cap in credits
	// (admission.SpendCap); 0 is no cap.
	SpendCap float64
	// UpstreamTimeout bounds each upstream request in real time (TimeScale
	// does not apply); upstream.DefaultTimeout when zero. With a TimeScale
	// above 1 keep it under 60 s / TimeScale, the Submit and Poll Tasks'
	// TimeoutSeconds in real time, or the state machine times the step out
	// before the client gives up.
	UpstreamTimeout time.Duration
	// ReconcileInterval is how often the reconciler passes over open jobs
	// (virtual time); 0 means DefaultReconcile.
	ReconcileInterval time.Duration
	// ReconcileMinAge is how old a job must be before its missing
	// execution counts as lost; nil means two minutes.
	ReconcileMinAge *time.Duration

	// Knobs of the built-in simulator, in virtual time.
	SimQueueTime, SimGenerationTime time.Duration
	// SimMaxActive, if above 0, makes the simulator refuse submits (429)
	// beyond that many generations in progress, as a provider at capacity.
	SimMaxActive int
	// SimVideoURLTTL is how long the built-in simulator's video URLs stay
	// valid after the poll that hands them out, in virtual time, as the
	// upstream's signed CDN links expire (simulator.Config.VideoURLTTL);
	// 0 means simulator.DefaultVideoURLTTL.
	SimVideoURLTTL time.Duration
	// SimQuirks are answer shapes the simulator serves for every model
	// beside each model's own (simulator.Config.Quirks).
	SimQuirks simulator.Quirks

	// VideoHosts are the hosts a real upstream's video URLs may point at
	// (archive.Archiver.AllowedHosts); with the simulator only its own
	// address is allowed.
	VideoHosts []string

	// Faults makes chosen Lambda invocations fail as Lambda fails them.
	// Tests only: ConfigFromEnv never sets it, so make run injects none.
	Faults *lambdas.Faults

	Log *slog.Logger
}

// ConfigFromEnv reads the configuration from getenv (os.Getenv in main).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:        or(getenv("VIDGEN_ADDR"), DefaultAddr),
		APIKeys:     or(getenv("VIDGEN_API_KEYS"), DefaultKeys),
		UpstreamURL: or(getenv("AIMLAPI_BASE_URL"), DefaultUpstream),
		UpstreamKey: getenv("AIMLAPI_KEY"),
		DataDir:     or(getenv("VIDGEN_DATA_DIR"), DefaultDataDir),
		Template:    or(getenv("VIDGEN_TEMPLATE"), "template.yaml"),
		TimeScale:   1,
		Limits:      job.Limits{Global: DefaultMaxInFlight, PerTenant: DefaultMaxInFlightPerTenant},
	}
	for h := range strings.SplitSeq(or(getenv("VIDGEN_VIDEO_HOSTS"), DefaultVideoHosts), ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.VideoHosts = append(c.VideoHosts, h)
		}
	}
	var errs []error
	if v := getenv("VIDGEN_TIME_SCALE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 1 {
			errs = append(errs, fmt.Errorf("VIDGEN_TIME_SCALE must be a number ≥ 1, got %q", v))
		}
		c.TimeScale = f
	}
	for name, dst := range map[string]*int{
		"VIDGEN_MAX_IN_FLIGHT": &c.Limits.Global, "VIDGEN_MAX_IN_FLIGHT_PER_TENANT": &c.Limits.PerTenant,
	} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s must be a whole number ≥ 0 (0: no cap), got %q", name, v))
			}
			*dst = n
		}
	}
	if v := getenv("VIDGEN_SPEND_CAP_CREDITS_PER_DAY"); v != "" {
		f, err := admission.ParseCredits(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIDGEN_SPEND_CAP_CREDITS_PER_DAY %w", err))
		}
		c.SpendCap = f
	}
	for name, dst := range map[string]*time.Duration{
		"VIDGEN_JOB_DEADLINE": &c.JobDeadline, "VIDGEN_QUEUE_TIMEOUT": &c.QueueTimeout, "VIDGEN_SIM_QUEUE_TIME": &c.SimQueueTime,
		"VIDGEN_SIM_GENERATION_TIME": &c.SimGenerationTime, "VIDGEN_RECONCILE_INTERVAL": &c.ReconcileInterval,
		"VIDGEN_SIM_VIDEO_TTL": &c.SimVideoURLTTL,
	} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s must be a positive duration such as 90s, got %q", name, v))
			}
			*dst = d
		}
	}
	if v := getenv("VIDGEN_SIM_QUIRKS"); v != "" {
		q, err := simulator.ParseQuirks(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIDGEN_SIM_QUIRKS: %w", err))
		}
		c.SimQuirks = q
	}
	return c, errors.Join(errs...)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Runtime is a running local vidgen.
type Runtime struct {
	URL       string            // base URL of the API
	Keys      []apikey.Pair     // those VIDGEN_API_KEYS seeded, for the banner
	Simulator *simulator.Server // nil when a real upstream is used
	Engine    *states.Engine
	Store     *boltstore.Store

	// Clock is the runtime's virtual clock.
	Clock *clock.Scaled
	// Reconciler runs every Config.ReconcileInterval; tests may call Run.
	Reconciler *reconcile.Reconciler
	// Scheduler fires the template's enabled rate() schedules; Fire runs
	// any schedule on demand.
	Scheduler *scheduler.Runner
	// Metrics holds the metrics the functions record in AWS as EMF, with
	// Stage "local", and serves them at /metrics in Prometheus' format.
	Metrics *metrics.Registry

	// upstream is what the runtime calls the upstream and how that went
	// at start; Banner prints it with checks (see checks.go).
	upstream upstreamInfo
	checks   []api.CheckResult

	functions *lambdas.Functions
	tasks     *asl.Tasks // the task tokens of the engine's callback tasks
	server    *server
	ln        net.Listener
	stopLoop  context.CancelFunc
	loopDone  chan struct{}
	clockDone chan struct{}
	schedDone chan struct{}
	log       *slog.Logger
	served    chan error
	events    *os.File // events.jsonl, the local event bus
	dataDir   string
	lock      *dataDirLock
}

// Start builds and starts a runtime: it listens on cfg.Addr, resumes the
// executions an earlier run left and serves until Close.
func Start(cfg Config) (*Runtime, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// A malformed key list is refused before any file is touched.
	if _, err := apikey.ParsePairs(cfg.APIKeys); err != nil {
		return nil, err
	}
	tmpl, err := samtemplate.Load(cfg.Template)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	clockFile := filepath.Join(cfg.DataDir, "clock")
	clk := clock.NewScaledFrom(cfg.TimeScale, readClock(clockFile))

	rt := &Runtime{Clock: clk, log: log, served: make(chan error, 1), dataDir: cfg.DataDir, Metrics: metrics.NewRegistry()}
	rec := metrics.New(LocalStage, rt.Metrics, clk.Now)
	ok := false
	defer func() {
		if !ok {
			rt.Close()
		}
	}()
	// One runtime per data dir: a second one is told at once who has it.
	if rt.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	walls := recordRun(filepath.Join(cfg.DataDir, runsFile), clk.Run())
	// bbolt updates a tenant's spend counter in the job's own write, so
	// it never misses one: nothing here records SpendCountersMissed, which
	// only DynamoDB's separate counter transaction can (dynamostore).
	if rt.Store, err = boltstore.Open(filepath.Join(cfg.DataDir, "jobs.db")); err != nil {
		return nil, err
	}
	// The keys live in jobs.db beside the jobs, on the store's own handle:
	// bbolt lets only one handle hold the file.
	keyStore, err := boltkeys.New(rt.Store.DB())
	if err != nil {
		return nil, err
	}
	if rt.Keys, err = apikey.Seed(context.Background(), keyStore, cfg.APIKeys); err != nil {
		return nil, err
	}
	if rt.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	rt.URL = "http://" + rt.ln.Addr().String()
	rt.lock.note(rt.URL)

	mux := http.NewServeMux()
	upstreamURL, upstreamKey := cfg.UpstreamURL, cfg.UpstreamKey
	if upstreamKey == "" {
		upstreamKey = "local-simulator-key"
		upstreamURL = rt.URL + simPrefix
		// The simulator keeps a journal in the data dir: like a real
		// upstream, it outlives a restart of the runtime.
		if rt.Simulator, err = simulator.Open(simulator.Config{
			Key: upstreamKey, Clock: clk, PublicURL: upstreamURL,
			QueueTime: cfg.SimQueueTime, GenerationTime: cfg.SimGenerationTime, MaxActive: cfg.SimMaxActive, VideoURLTTL: cfg.SimVideoURLTTL, Quirks: cfg.SimQuirks,
			Log: log.With("component", "simulator"), Journal: filepath.Join(cfg.DataDir, "simulator.jsonl"),
		}); err != nil {
			return nil, err
		}
		mux.Handle(simPrefix+"/", http.StripPrefix(simPrefix, rt.Simulator))
	}
	client := upstream.New(upstream.Config{BaseURL: upstreamURL, Key: upstreamKey, Timeout: cfg.UpstreamTimeout,
		Log: log.With("component", "upstream"), Metrics: rec})
	rt.upstream = newUpstreamInfo(upstreamURL, rt.Simulator != nil, log)
	// Large images live beside the records, as they live in S3 in AWS.
	blobs, err := fsblob.New(filepath.Join(cfg.DataDir, "blobs"))
	if err != nil {
		return nil, err
	}
	// Finished videos are copied beside the images and handed out at
	// signed links that expire, as S3 presigns them in AWS.
	videoHosts := cfg.VideoHosts
	if rt.Simulator != nil {
		videoHosts = []string{rt.ln.Addr().String()}
	}
	linkKey, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "link.key"))
	if err != nil {
		return nil, err
	}
	// A link is used by people, on their own clock: it lasts its hour of
	// wall time, and its expires is a wall-clock Unix time, whatever the
	// runtime's scale (on the scaled clock an hour was 3 real minutes at
	// VIDGEN_TIME_SCALE=20).
	links := &archive.LocalLinks{Base: rt.URL + filesPrefix, Key: linkKey, Clock: clock.Real{}}
	mux.Handle("GET "+filesPrefix+"/", http.StripPrefix(filesPrefix, links.Handler(blobs)))
	// Task tokens are signed with a key kept in the data dir, so a token
	// from before a restart, whose task the restart re-entered under a new
	// token, answers TaskTimedOut as a closed task does in AWS. The tokens'
	// SendTask* are ready before the engine: a handler may be given them.
	taskKey, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "task.key"))
	if err != nil {
		return nil, err
	}
	rt.tasks = asl.NewTasks(taskKey)
	// One learned model for the deployment, in the job store; the steps
	// and the api read it through one cache, as one process.
	learned := &gentime.Cache{Store: rt.Store, Clock: clk, Log: log.With("component", "gentime")}
	spendCap := &admission.SpendCap{Credits: cfg.SpendCap, Store: rt.Store}
	stepHandlers := &steps.Handlers{
		Store: rt.Store, Upstream: client, Clock: clk, Policy: pollpolicy.LongPoll(), Log: log.With("component", "steps"),
		Learned:  learned,
		Blobs:    blobs,
		Archiver: &archive.Archiver{Store: blobs, AllowedHosts: videoHosts},
		Tasks:    states.Resumer{Tasks: rt.tasks},
		Metrics:  rec,
		SpendCap: spendCap,
		// A SpendCapReached end names the wall-clock reset, as the
		// API's 429 does.
		Stamp: walls.Wall,
	}
	// Locally webhooks may go to this machine's own network (a receiver
	// under test, a tunnel); in AWS the guard refuses it.
	checkCallback := func(u string) error { return notify.CheckURL(u, true) }
	webhookKey, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "webhook.key"))
	if err != nil {
		return nil, err
	}
	webhookSecrets := notify.DerivedSecrets{Master: webhookKey}
	// Ended jobs are announced as JSON lines in the data dir, where AWS puts
	// them on EventBridge.
	if rt.events, err = os.OpenFile(filepath.Join(cfg.DataDir, "events.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
		return nil, fmt.Errorf("events log: %w", err)
	}
	// The dispatcher starts executions on the engine, made below.
	dispatcher := &admission.Dispatcher{Store: rt.Store, Tasks: states.Resumer{Tasks: rt.tasks}, Limits: cfg.Limits, Clock: clk,
		Log: log.With("component", "admission"), Metrics: rec,
		// A pass's admissions and starts run at once, so that their
		// writes share the group commits of jobs.db and executions.db.
		Together: admitTogether}
	// Every admission of the runtime goes through one pass at a time.
	admitter := &oneAdmission{passes: dispatcherPasses{dispatcher}}
	notifier := &notify.Notifier{Admission: admitter,
		Store: rt.Store, Publisher: &notify.LogPublisher{W: rt.events}, Secrets: webhookSecrets,
		Webhooks: &notify.Sender{Guard: notify.DestinationGuard{AllowPrivate: true}}, // signed at wall-clock time, which receivers check
		// Announcement claims expire on the clock the Finish step's
		// retries wait on.
		Clock:   clk,
		Log:     log.With("component", "notify"),
		Metrics: rec,
		// Events and webhooks carry wall times, as API answers do.
		Stamp: walls.Wall,
	}
	// As in AWS, Register submits the job it registers, and Poll announces
	// the job it sees end.
	stepHandlers.Finisher = notifier
	registrar := &steps.Registrar{Admission: admitter,
		Store: rt.Store, Blobs: blobs, Clock: clk, Deadline: cfg.JobDeadline, QueueTimeout: cfg.QueueTimeout, CheckCallback: checkCallback,
		Log: log.With("component", "steps"), Submitter: stepHandlers,
	}
	functions := map[string]any{
		"SubmitFunction":    stepHandlers.Submit,
		"PollFunction":      stepHandlers.Poll,
		"FailFunction":      stepHandlers.Fail,
		"RegisterFunction":  registrar.Register,
		"FinishFunction":    notifier.Finish,
		"WebhookFunction":   notifier.Deliver,
		"SummarizeFunction": (&batch.Summarizer{Objects: s3dir.Objects{Dir: cfg.DataDir}}).Handle,
	}
	// Locally the api handler checks keys itself, with the resolver the
	// authorizer uses in AWS; the gateway runs no authorizer.
	if err := checkFunctions(tmpl, functions, "ApiFunction", "ReconcileFunction", "AuthorizerFunction"); err != nil {
		return nil, err
	}
	machines, err := LoadMachines(tmpl)
	if err != nil {
		return nil, err
	}
	if _, ok := machines[VideoJob]; !ok {
		return nil, fmt.Errorf("template %s has no %s", cfg.Template, VideoJob)
	}
	// The engine needs the functions and the api function needs the engine:
	// register the api handler once the engine exists.
	fns := lambdas.NewFunctions(functions)
	fns.Timeouts = map[string]time.Duration{}
	for id, f := range tmpl.Functions {
		fns.Timeouts[id] = f.Timeout
	}
	fns.Faults = cfg.Faults
	fns.Clock = clk // timeouts on the clock the handlers wait on
	rt.functions = fns
	// Task resources are the functions and Step Functions' own
	// startExecution integrations; a Map's ItemReader reads the data dir
	// where AWS reads S3 (a manifest at batches/daily.jsonl locally).
	services := &states.Services{Functions: fns}
	rt.Engine, err = states.NewEngine(filepath.Join(cfg.DataDir, "executions.db"), machines,
		asl.Options{Clock: clk, Invoker: services, ReadItems: s3dir.ReadItemsFrom(cfg.DataDir),
			WriteObject: s3dir.WriteObjectTo(cfg.DataDir), Tasks: rt.tasks},
		log.With("component", "engine"))
	if err != nil {
		return nil, err
	}
	services.Engine = rt.Engine
	dispatcher.Starter = jobExecutions{engine: rt.Engine, machine: VideoJob}
	rt.Scheduler = &scheduler.Runner{Schedules: tmpl.Schedules, Engine: rt.Engine, Clock: clk, Log: log.With("component", "scheduler")}
	mux.Handle(admin.Prefix, &admin.Handler{Engine: rt.Engine, Scheduler: rt.Scheduler})
	mux.Handle("GET "+MetricsPath, rt.Metrics)
	cursorKey, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "cursor.key"))
	if err != nil {
		return nil, err
	}
	apiHandler := &api.Handler{
		SpendCap:  spendCap,
		CursorKey: func(context.Context) ([]byte, error) { return cursorKey, nil },
		Store:     rt.Store, Starter: jobExecutions{engine: rt.Engine, machine: VideoJob},
		Keys:  &apikey.Resolver{Store: keyStore, Clock: clk},
		Clock: clk, Deadline: cfg.JobDeadline, QueueTimeout: cfg.QueueTimeout, Log: log.With("component", "api"), Blobs: blobs,
		// Records keep the scaled clock's times; clients read wall time,
		// and a long-poll holds their request for real seconds.
		Stamp: walls.Wall, Waiter: clock.Real{},
		Links: links, CheckCallback: checkCallback, WebhookSecrets: webhookSecrets, Admission: admitter,
		Metrics: rec,
		Health:  healthChecks(rt.Store, machines, upstreamKey),
		// The Poll steps' own policy, from what they learned.
		Estimator: gentime.Estimator{Policy: stepHandlers.Policy, Times: learned},
	}
	fns.Add("ApiFunction", apiHandler.Handle)
	// The console is static: served here directly, as the api function
	// serves the same answers behind API Gateway in AWS.
	mux.Handle("GET /{$}", console.Handler{})
	mux.Handle("GET "+console.Prefix, console.Handler{})
	mux.Handle("/", &apigw.HTTPAPI{Functions: fns, Function: "ApiFunction", Clock: clk, Log: log.With("component", "gateway")})

	rt.Reconciler = &reconcile.Reconciler{
		Store: rt.Store, Executions: jobExecutions{engine: rt.Engine, machine: VideoJob},
		Clock: clk, Grace: time.Minute, MinAge: 2 * time.Minute, Log: log.With("component", "reconciler"),
		Admission: admitter, Metrics: rec,
	}
	if cfg.ReconcileMinAge != nil {
		rt.Reconciler.MinAge = *cfg.ReconcileMinAge
	}
	fns.Add("ReconcileFunction", rt.Reconciler.Run)
	// Only now, with every function registered, may executions run.
	n, err := rt.Engine.Resume()
	if err != nil {
		return nil, err
	}
	if n > 0 {
		log.Info("resumed executions", "count", n)
	}
	loopCtx, stopLoop := context.WithCancel(context.Background())
	rt.stopLoop = stopLoop
	rt.loopDone = make(chan struct{})
	go rt.reconcileEvery(loopCtx, clk, cfg.ReconcileInterval)
	rt.clockDone = make(chan struct{})
	go rt.saveClock(loopCtx, clk, clockFile)
	rt.schedDone = make(chan struct{})
	go func() { defer close(rt.schedDone); rt.Scheduler.Run(loopCtx) }()
	rt.checks = api.RunChecks(context.Background(), apiHandler.Health)
	rt.server = newServer(mux)
	go func() { rt.served <- rt.server.Serve(rt.ln) }()
	ok = true
	return rt, nil
}

// loadOrCreateKey reads a 32-byte key from path, creating it on first use,
// so list cursors stay valid across restarts.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil && len(key) == 32 {
		return key, nil
	}
	key = make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return key, nil
}

// checkFunctions refuses a template whose functions and the handlers here
// differ, so the two cannot drift apart unnoticed.
func checkFunctions(t *samtemplate.Template, handlers map[string]any, extra ...string) error {
	want := map[string]bool{}
	for id := range handlers {
		want[id] = true
	}
	for _, id := range extra {
		want[id] = true
	}
	var problems []string
	for id := range t.Functions {
		if !want[id] {
			problems = append(problems, "template function "+id+" has no local handler")
		}
	}
	for id := range want {
		if _, ok := t.Functions[id]; !ok {
			problems = append(problems, "handler "+id+" is not a function in the template")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// LoadMachines reads each state machine's ASL file and substitutes its
// DefinitionSubstitutions, as CloudFormation does on deploy.
func LoadMachines(t *samtemplate.Template) (map[string]*asl.Machine, error) {
	out := map[string]*asl.Machine{}
	for id, sm := range t.StateMachines {
		def, err := os.ReadFile(sm.Definition)
		if err != nil {
			return nil, fmt.Errorf("state machine %s: %w", id, err)
		}
		text := string(def)
		for key, sub := range sm.Substitutions {
			text = strings.ReplaceAll(text, "${"+key+"}", sub.Value())
		}
		if i := strings.Index(text, "${"); i >= 0 {
			end := min(len(text), i+40)
			return nil, fmt.Errorf("state machine %s: %s has an unsubstituted %s", id, sm.Definition, text[i:end])
		}
		m, err := asl.Parse([]byte(text))
		if err != nil {
			return nil, fmt.Errorf("state machine %s (%s): %w", id, sm.Definition, err)
		}
		out[id] = m
	}
	return out, nil
}

// reconcileEvery runs the reconciler until ctx ends, as the EventBridge
// schedule does in AWS.
func (rt *Runtime) reconcileEvery(ctx context.Context, clk *clock.Scaled, every time.Duration) {
	defer close(rt.loopDone)
	if every <= 0 {
		every = DefaultReconcile
	}
	for clk.Sleep(ctx, every) == nil {
		// Through the function, as the schedule invokes it in AWS.
		if _, err := rt.functions.Call(ctx, "ReconcileFunction", []byte(`{}`)); err != nil && ctx.Err() == nil {
			rt.log.Error("reconcile", "err", err)
		}
	}
}

// readClock returns the virtual time a previous run reached, or zero.
func readClock(path string) time.Time {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	return t
}

// saveClock records the virtual time every second of real time and at the
// end, so that a restart (even after kill -9) resumes the clock where it
// was instead of running it backwards when VIDGEN_TIME_SCALE > 1.
func (rt *Runtime) saveClock(ctx context.Context, clk *clock.Scaled, path string) {
	defer close(rt.clockDone)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	save := func() {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(clk.Now().UTC().Format(time.RFC3339Nano)), 0o600); err == nil {
			os.Rename(tmp, path)
		}
	}
	for {
		save()
		select {
		case <-ctx.Done():
			save()
			return
		case <-tick.C:
		}
	}
}

// Close stops serving, pauses running executions (they resume on the next
// Start) and closes the stores.
func (rt *Runtime) Close() error {
	var errs []error
	if rt.stopLoop != nil {
		rt.stopLoop()
		<-rt.loopDone
		<-rt.clockDone
		<-rt.schedDone
	}
	if rt.server != nil {
		errs = append(errs, rt.server.shutdown(5*time.Second))
	} else if rt.ln != nil {
		errs = append(errs, rt.ln.Close())
	}
	if rt.Engine != nil {
		errs = append(errs, rt.Engine.Close())
	}
	if rt.Store != nil {
		errs = append(errs, rt.Store.Close())
	}
	if rt.Simulator != nil {
		errs = append(errs, rt.Simulator.Close())
	}
	if rt.events != nil {
		errs = append(errs, rt.events.Close())
	}
	// Last: the next runtime may have the dir once every file is closed.
	errs = append(errs, rt.lock.release())
	return errors.Join(errs...)
}

// Done reports the server's end (nil after Close).
func (rt *Runtime) Done() <-chan error { return rt.served }

// Banner is what make run prints on start: where the API is, the keys in
// use and a request to try.
func (rt *Runtime) Banner() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vidgen local runtime on %s\n", rt.URL)
	fmt.Fprintf(&b, "console: %s/ (sign in with a key below)\n", rt.URL)
	fmt.Fprintf(&b, "metrics: %s%s (Prometheus text format)\n", rt.URL, MetricsPath)
	rt.writeChecks(&b)
	fmt.Fprintln(&b, "API keys (tenant: key):")
	for _, p := range rt.Keys {
		fmt.Fprintf(&b, "  %s: %s\n", p.Tenant, p.Key)
	}
	key := rt.Keys[0].Key
	fmt.Fprintf(&b, `try:
  curl -s %[1]s%[2]s -H 'Authorization: Bearer %[3]s' -H 'Content-Type: application/json' \
    -d '{"model":"gen3a_turbo","image_url":"https://upload.wikimedia.org/wikipedia/commons/thumb/6/68/Liebener_Spitze_SW.JPG/1280px-Liebener_Spitze_SW.JPG","prompt":"A dragon over the mountain"}'
  curl -s '%[1]s%[2]s?generation_id=<id>' -H 'Authorization: Bearer %[3]s'
`, rt.URL, api.PathGenerations, key)
	return b.String()
}
