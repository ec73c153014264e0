package costsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/boltstore"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/localarn"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/samtemplate"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
	"github.com/vidgen/vidgen/internal/upstream"
)

// Policy is a named poll policy to measure. New makes a fresh one per run,
// so an adaptive policy starts from what it knows before any job.
type Policy struct {
	Name string
	New  func() pollpolicy.Policy
}

// Config is one run.
type Config struct {
	Workload  Workload
	Policy    Policy
	Latencies Latencies
	Template  string        // template.yaml, whose substitutions the machine gets
	Deadline  time.Duration // per job; 30 min as deployed by default
	Dir       string        // scratch space for the store and archived videos
	// Limits are vidgen's caps on generations in flight (none if zero);
	// SimMaxActive is the simulator's own, beyond which it answers 429.
	Limits       job.Limits
	SimMaxActive int
	// Direct starts each job as its own video_job execution with the
	// request as input, as a batch's Map or another workflow does, instead
	// of submitting it to the API: a job over a cap then waits in its
	// execution.
	Direct bool
	// QueueTimeout bounds a job's wait for a slot (job.Timeouts).
	QueueTimeout time.Duration
	// SlotLoop makes a direct start that waits for a slot do what vidgen
	// did before parking on a task token, for comparison: Submit looks
	// again every 10 s (a Wait, Submit and a Choice each time), and the
	// job's deadline runs from its registration, not its admission.
	SlotLoop bool
	// LoseTokens makes every admitter's SendTaskSuccess fail, as a lost
	// task token would: parked jobs then go on only when their callback
	// task's heartbeat runs out and Submit looks again.
	LoseTokens bool
	// SubmitUnlearned makes the submit function decide the first wait from
	// the prior alone, as it did before the learned times were stored
	// (converge.go compares the two).
	SubmitUnlearned bool
	// Manifest, when above 0, runs the jobs as one video_batch execution
	// over a JSON Lines manifest with that max_concurrency (batch10k.go).
	Manifest int
	// Paced submits each job when a slot frees for it under Limits (its
	// start in the ideal schedule) instead of at its arrival.
	Paced bool
	// Design reshapes video_job's poll loop (design.go); the zero Design
	// runs the file as it is.
	Design Design
	// Jobs, when set, are the run's jobs instead of the Workload's (one
	// model's part of a mixed workload: Only); the Workload still gives
	// the seed.
	Jobs []Job
}

// Usage is what a run consumed, in total.
type Usage struct {
	Jobs             int
	Transitions      int
	Invocations      int
	GBSeconds        float64
	WRU, RRU         int
	UpstreamRequests int
	S3Puts           int
	Events           int
	APIRequests      int
	// ModelReads and ModelWrites are the reads and writes of the learned
	// generation times, counted in RRU and WRU too.
	ModelReads, ModelWrites int
	// SpendWrites are the writes that recorded a job's credits with its
	// tenant's spend counter (one a job), billed in WRU too.
	SpendWrites int

	// ExpressRequests and ExpressGBSeconds are the Express rounds' of a
	// Design that polls in them.
	ExpressRequests  int
	ExpressGBSeconds float64
}

// Result is a run's usage, outcome and detection lags.
type Result struct {
	Policy   string
	Usage    Usage
	Statuses map[string]int // final status (or error name) → jobs
	// Lags are, for each completed job, the time from the upstream's end
	// to the record's completion, sorted; JobLags are the same by job in
	// submission order, -1 for a job that did not complete.
	Lags, JobLags []time.Duration
	// Simulated is how long the run took in simulated time.
	Simulated time.Duration
	// MaxHistory is the most events any execution's history held, as AWS
	// counts them (asl.Result.HistoryEvents).
	MaxHistory int
	// Makespan is from the first submit to the last job's end on record;
	// Ideal is the makespan with no overhead at all: each job starts the
	// moment a slot frees, in submit order (only for a run with a cap).
	Makespan, Ideal time.Duration
	// Open counts jobs left unended: lost.
	Open int
	// PeakActive and Throttled are the simulator's: the most generations
	// in progress at once, and the submits it refused with 429.
	PeakActive, Throttled int
	// Done are the times from submit to end on record, by tenant, sorted.
	Done map[string][]time.Duration
	// PeakInFlight and PeakByTenant are the most jobs that held a slot at
	// once, in all and by tenant.
	PeakInFlight int
	PeakByTenant map[string]int
	// Batch is the summary a Manifest run's batch ended with.
	Batch *batch.Summary
}

var start = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

const (
	machineID   = "VideoJobStateMachine"
	upstreamKey = "costsim-upstream-key"
	simHost     = "upstream.invalid"
)

// Run simulates the workload under the policy.
func Run(ctx context.Context, cfg Config) (Result, error) {
	r, err := newRun(cfg)
	if err != nil {
		return Result{}, err
	}
	defer r.close()
	return r.run(ctx)
}

// run is one simulation's parts. Only one simulated process runs at a
// time (clock.Events), so the counters need no lock.
type run struct {
	cfg     Config
	clk     *clock.Events
	sim     *simulator.Server
	store   *countingStore
	machine *asl.Machine
	tasks   map[string]bool // names of Task states
	fns     *lambdas.Functions
	api     *api.Handler
	// tokens are the task tokens of callback tasks (.waitForTaskToken): a
	// simulated worker calls back through them, and the waiting execution
	// wakes at that simulated instant (clock.Events is an asl.Interrupter).
	tokens *asl.Tasks
	// round is the Express workflow of a Design that polls in rounds;
	// rounds counts them, for their names.
	round  *asl.Machine
	rounds int

	usage      Usage
	maxHistory int
	rand       *rand.Rand
	// started holds the execution names started: as in Step Functions, a
	// name runs once, and starting it again changes nothing.
	started map[string]bool
	seq     int
	errs    []error
	peak    job.InFlight
	batch   *batchRun // a Manifest run's batch execution
	// root is the context Run was called with: executions that a call
	// starts (the API's, admission's) run under it, not under the call's.
	root context.Context
}

func newRun(cfg Config) (*run, error) {
	r := &run{cfg: cfg, clk: clock.NewEvents(start), rand: rand.New(rand.NewPCG(cfg.Workload.Seed, 7)), tokens: asl.NewTasks(nil)}
	bolt, err := boltstore.Open(filepath.Join(cfg.Dir, "jobs.db"))
	if err != nil {
		return nil, err
	}
	// Durability is not what is measured; fsync would only slow the run.
	bolt.DB().NoSync = true
	r.store = &countingStore{Store: bolt, run: r}
	r.sim = simulator.New(simulator.Config{Key: upstreamKey, Clock: r.clk, QueueTime: -1, PublicURL: "http://" + simHost,
		MaxActive: cfg.SimMaxActive, Log: slog.New(slog.DiscardHandler)})
	httpClient := &http.Client{Transport: roundTrip(r.upstream)}
	discard := slog.New(slog.DiscardHandler)
	handlers := &steps.Handlers{
		Store: r.store, Clock: r.clk, Policy: cfg.Policy.New(), Log: discard,
		Upstream: upstream.New(upstream.Config{BaseURL: "http://" + simHost, Key: upstreamKey, HTTP: httpClient, Log: discard, Clock: r.clk}),
		Rand:     r.rand.Float64,
		Archiver: &archive.Archiver{HTTP: httpClient, Store: &countingBlobs{run: r}, AllowedHosts: []string{simHost}},
	}
	dispatcher := &admission.Dispatcher{Store: r.store, Starter: starter{r}, Limits: cfg.Limits, Clock: r.clk, Log: discard}
	notifier := &notify.Notifier{Store: r.store, Publisher: publisher{r}, Admission: dispatcher, Clock: r.clk, Log: discard}
	// The API's executions only pass Register's resume check.
	registrar := &steps.Registrar{Store: r.store, Clock: r.clk, Log: discard,
		Admission: dispatcher, Deadline: cfg.Deadline, QueueTimeout: cfg.QueueTimeout}
	// Parked executions are resumed through the run's task tokens.
	dispatcher.Tasks = states.Resumer{Tasks: r.tokens}
	if cfg.LoseTokens {
		dispatcher.Tasks = lostTokens{}
	}
	handlers.Tasks = states.Resumer{Tasks: r.tokens}
	// As in AWS, the learned times live in the store, and each function
	// (one warm instance of each) reads them through a cache of its own:
	// the poll function records what it measures, the submit function
	// reads it for the first wait.
	handlers.Learned = r.learned()
	submitter := *handlers
	submitter.Policy = cfg.Policy.New()
	submitter.Learned = r.learned()
	if cfg.SubmitUnlearned {
		submitter.Learned = nil
	}
	// As in AWS, the register function submits the job it registers (with
	// the submit function's handlers) and the poll function announces the
	// job it sees end.
	registrar.Submitter = &submitter
	handlers.Finisher = notifier
	submit, register := submitter.Submit, registrar.Register
	if cfg.SlotLoop {
		submit = slotLoop(submitter.Submit)
		register = unparked(registrar.Register, submit)
	}
	r.fns = lambdas.NewFunctions(map[string]any{
		"SubmitFunction": submit, "PollFunction": handlers.Poll, "FailFunction": handlers.Fail,
		"FinishFunction": notifier.Finish, "RegisterFunction": register,
	})
	if r.machine, r.tasks, err = loadMachine(cfg.Template, cfg.Design); err != nil {
		return nil, err
	}
	if r.round, err = cfg.Design.round(cfg.Template); err != nil {
		return nil, err
	}
	r.api = &api.Handler{Store: r.store, Starter: starter{r}, Clock: r.clk, Deadline: cfg.Deadline, Log: discard, Admission: dispatcher,
		NewID: func() string { r.seq++; return fmt.Sprintf("job-%06d", r.seq) }}
	return r, nil
}

func (r *run) close() { r.store.Store.Close() }

// loadMachine reads video_job with the template's substitutions, reshaped
// by design, and the names of its Task states.
func loadMachine(template string, design Design) (*asl.Machine, map[string]bool, error) {
	return loadDesigned(template, machineID, design)
}

// loadMachineID reads the template's state machine id likewise.
func loadMachineID(template, id string) (*asl.Machine, map[string]bool, error) {
	return loadDesigned(template, id, Design{})
}

// loadDesigned reads the template's state machine id, reshaped by design.
func loadDesigned(template, id string, design Design) (*asl.Machine, map[string]bool, error) {
	t, err := samtemplate.Load(template)
	if err != nil {
		return nil, nil, err
	}
	sm, ok := t.StateMachines[id]
	if !ok {
		return nil, nil, fmt.Errorf("%s has no %s", template, id)
	}
	def, err := os.ReadFile(sm.Definition)
	if err != nil {
		return nil, nil, err
	}
	text := string(def)
	for k, sub := range sm.Substitutions {
		text = strings.ReplaceAll(text, "${"+k+"}", sub.Value())
	}
	text, _, err = design.edit(text)
	if err != nil {
		return nil, nil, err
	}
	m, err := asl.Parse([]byte(text))
	if err != nil {
		return nil, nil, err
	}
	var doc struct {
		States map[string]struct{ Type string }
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return nil, nil, err
	}
	tasks := map[string]bool{}
	for name, st := range doc.States {
		tasks[name] = st.Type == "Task"
	}
	return m, tasks, nil
}

func (r *run) run(ctx context.Context) (Result, error) {
	r.root = ctx
	jobs := r.cfg.Jobs
	if jobs == nil {
		jobs = r.cfg.Workload.Generate()
	}
	if r.cfg.Paced {
		pace(jobs, r.cfg.Limits)
	}
	arrivals := jobs
	if r.cfg.Manifest > 0 {
		arrivals = nil // they come in the batch's manifest
		r.clk.Go(func() { r.runBatch(ctx, jobs) })
	}
	r.clk.Go(func() {
		for _, j := range arrivals {
			if wait := start.Add(j.Arrival).Sub(r.clk.Now()); wait > 0 {
				r.clk.Sleep(ctx, wait)
			}
			if r.cfg.Direct {
				r.startDirect(ctx, j)
			} else {
				r.submit(ctx, j)
			}
		}
	})
	end := r.clk.Run(ctx)
	if err := errors.Join(r.errs...); err != nil {
		return Result{}, err
	}
	res := Result{Policy: r.cfg.Policy.Name, Usage: r.usage, Statuses: map[string]int{}, Simulated: end.Sub(start), MaxHistory: r.maxHistory,
		Done: map[string][]time.Duration{}}
	res.Usage.Jobs = len(jobs)
	st := r.sim.Stats()
	res.PeakActive, res.Throttled = st.PeakActive, st.Throttled
	if r.cfg.Limits.Global > 0 {
		res.Ideal = idealMakespan(jobs, r.cfg.Limits.Global)
	}
	res.JobLags = slices.Repeat([]time.Duration{-1}, len(jobs))
	res.PeakInFlight, res.PeakByTenant = r.peak.Total, r.peak.ByTenant
	if r.batch != nil {
		r.batch.result(&res, jobs, r.cfg.Limits)
	}
	for i := range jobs {
		j, err := r.store.Store.Get(ctx, fmt.Sprintf("job-%06d", i+1))
		if err != nil {
			return Result{}, err
		}
		key := string(j.Status)
		if j.Error != nil {
			key += " " + j.Error.Name
		}
		res.Statuses[key]++
		if !j.Status.Terminal() {
			res.Open++
			continue
		}
		res.Makespan = max(res.Makespan, j.UpdatedAt.Sub(start))
		res.Done[j.Tenant] = append(res.Done[j.Tenant], j.UpdatedAt.Sub(j.CreatedAt))
		if j.Status != job.Completed {
			continue
		}
		if ended, ok := r.sim.Ended(j.UpstreamID); ok {
			res.Lags = append(res.Lags, j.UpdatedAt.Sub(ended))
			res.JobLags[i] = j.UpdatedAt.Sub(ended)
		}
	}
	sortDurations(res.Lags)
	for _, d := range res.Done {
		sortDurations(d)
	}
	return res, nil
}

// idealMakespan runs the jobs through slots with no overhead at all: each
// starts the moment a slot frees, in submit order, and takes its
// generation time.
func idealMakespan(jobs []Job, slots int) time.Duration {
	free := make([]time.Duration, slots) // when each slot frees
	var end time.Duration
	for _, j := range jobs {
		i := slices.Index(free, slices.Min(free))
		begin := max(free[i], j.Arrival)
		free[i] = begin + j.GenTime
		end = max(end, free[i])
	}
	return end
}

// submit posts the job to the api handler as API Gateway would, after the
// authorizer named the tenant.
func (r *run) submit(ctx context.Context, j Job) {
	body, _ := json.Marshal(j.Body())
	req := events.APIGatewayV2HTTPRequest{
		RawPath: api.PathGenerations, Body: string(body),
		Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{apikey.ContextTenant: j.Tenant}},
		},
	}
	payload, _ := json.Marshal(req)
	r.usage.APIRequests++
	if _, err := r.invoke(ctx, "ApiFunction", payload, func(ctx context.Context, p []byte) ([]byte, error) {
		var in events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(p, &in); err != nil {
			return nil, err
		}
		resp, err := r.api.Handle(ctx, in)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("submit answered %d: %s", resp.StatusCode, resp.Body)
		}
		return nil, err
	}); err != nil {
		r.errs = append(r.errs, err)
	}
}

// invoke runs one Lambda invocation and bills it: the simulated time it
// took (its modelled calls advance the clock) plus its own compute.
func (r *run) invoke(ctx context.Context, fn string, payload []byte, call func(context.Context, []byte) ([]byte, error)) ([]byte, error) {
	began := r.clk.Now()
	out, err := call(ctx, payload)
	r.clk.Sleep(ctx, r.cfg.Latencies.Compute)
	billed := math.Ceil(float64(r.clk.Now().Sub(began)) / float64(time.Millisecond))
	r.usage.Invocations++
	r.usage.GBSeconds += billed / 1000 * float64(PublishedPrices().LambdaMemoryMiB) / 1024
	return out, err
}

// Invoke is the state machine's Task invoker: the functions, billed.
func (r *run) Invoke(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error) {
	if resource == roundResource && r.round != nil {
		return r.runRound(ctx, input)
	}
	out, err := r.invoke(ctx, resource, input, func(ctx context.Context, p []byte) ([]byte, error) {
		return r.fns.Invoke(ctx, resource, p)
	})
	return out, err
}

// startDirect starts the job's own execution with its request as input,
// as a batch's Map does; the job's id is the execution's name.
func (r *run) startDirect(ctx context.Context, j Job) {
	r.seq++
	name := fmt.Sprintf("job-%06d", r.seq)
	if r.started == nil {
		r.started = map[string]bool{}
	}
	r.started[name] = true // admission's start of the job finds it running
	in := j.Body()
	in["tenant"] = j.Tenant
	input, _ := json.Marshal(in)
	r.clk.Go(func() { r.runExecution(ctx, name, input) })
}

// execute runs one video_job execution of a job the API recorded.
func (r *run) execute(ctx context.Context, name, jobID string) {
	input, _ := json.Marshal(map[string]string{"job_id": jobID})
	r.runExecution(ctx, name, input)
}

// runExecution runs one video_job execution to its end.
func (r *run) runExecution(ctx context.Context, name string, input json.RawMessage) (asl.Result, error) {
	seed := uint64(r.seq)
	jitter := rand.New(rand.NewPCG(seed, 11))
	inv := &counted{run: r}
	opts := asl.Options{Clock: r.clk, Invoker: inv, Rand: jitter.Float64, Tasks: r.tokens}
	entered := 0
	opts.Checkpoint = func(_ context.Context, c asl.Checkpoint) error {
		r.usage.Transitions++
		if r.tasks[c.State] {
			entered++
		}
		return nil
	}
	exe := asl.Execution{ID: localarn.Execution(machineID, name), Name: name, Input: input, StartTime: r.clk.Now()}
	res, err := r.machine.Execute(ctx, exe, nil, opts)
	r.maxHistory = max(r.maxHistory, res.HistoryEvents)
	// A retried Task is billed a transition per attempt.
	r.usage.Transitions += max(inv.n-entered, 0)
	var se *asl.Error
	if err != nil && !errors.As(err, &se) {
		r.errs = append(r.errs, fmt.Errorf("execution %s: %w", name, err))
	}
	return res, err
}

// counted counts one execution's Task invocations.
type counted struct {
	run *run
	n   int
}

func (c *counted) Invoke(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error) {
	c.n++
	return c.run.Invoke(ctx, resource, input)
}

// starter starts executions as processes on the simulated clock. As
// StartExecution does, it starts one that owes nothing to its caller: it
// runs under the run's context, never the caller's. A caller's context
// may carry a Task's timeout on the clock (clock.WithTimeout), which
// context.WithoutCancel would keep: an execution that admission started
// from a Poll (as the Poll that sees a job end admits the next) would
// then have every wait cut to nothing once that Poll's TimeoutSeconds had
// passed, and poll in a loop at one instant until its history was full,
// its job never ended and its slot never freed.
type starter struct{ r *run }

func (s starter) Start(_ context.Context, name, jobID string) error {
	if s.r.started[name] {
		return nil
	}
	if s.r.started == nil {
		s.r.started = map[string]bool{}
	}
	s.r.started[name] = true
	s.r.clk.Go(func() { s.r.execute(s.r.root, name, jobID) })
	return nil
}

// upstream serves a request from the simulator in process, after the
// modelled latency.
func (r *run) upstream(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost {
		r.clk.Sleep(req.Context(), r.cfg.Latencies.UpstreamPost)
	} else if !strings.Contains(req.URL.Path, "/files/") {
		r.clk.Sleep(req.Context(), r.cfg.Latencies.UpstreamGet)
	}
	r.usage.UpstreamRequests++
	// What a server receives: a body, never nil.
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	r.sim.ServeHTTP(rec, in)
	return rec.Result(), nil
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// publisher counts the events Finish publishes.
type publisher struct{ r *run }

func (p publisher) Publish(context.Context, notify.Event) error {
	p.r.usage.Events++
	return nil
}

// countingStore bills DynamoDB: a write unit per KB of the item written, a
// read unit per 4 KB read, and the modelled latency per call.
type countingStore struct {
	*boltstore.Store
	run *run
}

func units(j job.Job, per int) int {
	b, _ := json.Marshal(j)
	return max(1, (len(b)+per-1)/per)
}

func (s *countingStore) Create(ctx context.Context, j job.Job) error {
	if s.run.cfg.SlotLoop {
		j = fromRegistration(j, s.run.cfg.Deadline)
	}
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	s.run.usage.WRU += units(j, 1024) + indexWrites(job.Job{}, j, jobIndexes())
	return s.Store.Create(ctx, j)
}

func (s *countingStore) CreateClaimed(ctx context.Context, j job.Job, c job.Claim, now time.Time) (job.Claim, error) {
	if s.run.cfg.SlotLoop {
		j = fromRegistration(j, s.run.cfg.Deadline)
	}
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	s.run.usage.WRU += 2*(units(j, 1024)+1) + indexWrites(job.Job{}, j, jobIndexes()) // a transaction of two items
	return s.Store.CreateClaimed(ctx, j, c, now)
}

func (s *countingStore) Get(ctx context.Context, id string) (job.Job, error) {
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	j, err := s.Store.Get(ctx, id)
	s.run.usage.RRU += units(j, 4096)
	return j, err
}

// Admit is billed as the DynamoDB store does it: a consistent read of the
// job and of the counter shards, then a transaction of the job and its
// counters (twice the units).
func (s *countingStore) Admit(ctx context.Context, id string, limits job.Limits, at time.Time) (job.Job, error) {
	s.run.clk.Sleep(ctx, 2*s.run.cfg.Latencies.Dynamo)
	before, _ := s.Store.Get(ctx, id) // bbolt: free, and not billed
	j, err := s.Store.Admit(ctx, id, limits, at)
	s.run.usage.RRU += units(j, 4096) + counterReads
	s.run.usage.WRU += 2 * (units(j, 1024) + counterItems)
	if err == nil {
		s.run.usage.WRU += indexWrites(before, j, jobIndexes())
		s.run.notePeak(ctx)
	}
	return j, err
}

func (s *countingStore) Waiting(ctx context.Context, n int) ([]job.Job, error) {
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	w, err := s.Store.Waiting(ctx, n)
	s.run.usage.RRU += max(1, len(w)/8) // a query of the sparse index, then reads
	return w, err
}

func (s *countingStore) InFlight(ctx context.Context) (job.InFlight, error) {
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	s.run.usage.RRU += counterReads
	return s.Store.InFlight(ctx)
}

// Update is billed as the DynamoDB store does it: one conditional write;
// ending a job that holds a slot also costs that write failing, a
// transaction of the job and the counters, and a read back. A change that
// records credits the record did not hold (once a job) is a consistent
// read of the job, then a transaction of the job's write and its tenant's
// spend item (twice the units), and a read back; for the end of a job
// holding a slot that transaction writes the credits alone, and the end
// follows as above.
func (s *countingStore) Update(ctx context.Context, id string, c job.Change) (job.Job, error) {
	s.run.clk.Sleep(ctx, s.run.cfg.Latencies.Dynamo)
	before, _ := s.Store.Get(ctx, id) // bbolt: free, and not billed
	j, err := s.Store.Update(ctx, id, c)
	_, credits := job.CreditsDelta(before, c)
	credits = credits && err == nil
	switch {
	case credits && c.Status.Terminal() && before.Slot:
		s.run.clk.Sleep(ctx, 2*s.run.cfg.Latencies.Dynamo)
		s.run.usage.RRU += units(before, 4096)
		s.run.usage.WRU += 2*(units(j, 1024)+1) + units(j, 1024)
		s.run.usage.SpendWrites++
	case credits:
		s.run.clk.Sleep(ctx, 2*s.run.cfg.Latencies.Dynamo)
		s.run.usage.RRU += units(before, 4096) + units(j, 4096)
		s.run.usage.WRU += 2 * (units(j, 1024) + 1)
		s.run.usage.SpendWrites++
	default:
		s.run.usage.WRU += units(j, 1024)
	}
	if err == nil {
		s.run.usage.WRU += indexWrites(before, j, jobIndexes())
	}
	if err == nil && before.Slot && !j.Slot {
		s.run.clk.Sleep(ctx, 2*s.run.cfg.Latencies.Dynamo)
		s.run.usage.WRU += 2 * (units(j, 1024) + counterItems)
		s.run.usage.RRU += units(j, 4096)
	}
	return j, err
}

// countingBlobs bills S3 puts of archived videos. Nothing reads them back,
// so it takes the bytes as S3 would and keeps none: writing and syncing a
// file per video (fsblob) was a fifth of a run's CPU time, and most of the
// time it spent waiting for the disk.
type countingBlobs struct{ run *run }

func (b *countingBlobs) PutStream(ctx context.Context, key string, body io.ReadSeeker, size int64, contentType string) error {
	b.run.clk.Sleep(ctx, b.run.cfg.Latencies.S3Put)
	b.run.usage.S3Puts++
	n, err := io.Copy(io.Discard, body)
	if err == nil && n != size {
		err = fmt.Errorf("put %s: body of %d bytes, want %d", key, n, size)
	}
	return err
}
