package local

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/simulator"
)

const (
	// faultTimeScale runs the fault cases 50 times faster than real time:
	// the first poll comes after 0.4 s, a 30-min deadline is 36 s, and a
	// Task's 60-s TimeoutSeconds is 1.2 s of real time, ample for a step
	// even with every case running at once under -race.
	faultTimeScale = 50
	// Cases whose fault outlasts the upstream client's timeout run with a
	// short client timeout (real time) at a lower scale, so the client, not
	// the Task's 60-s TimeoutSeconds (3 s real at 20x), gives up first.
	slowClientTimeout = time.Second
	slowTimeScale     = 20
)

// faultCase is one job run against injected upstream faults.
type faultCase struct {
	name   string
	submit []simulator.Fault // injected into SubmitEndpoint, in order
	poll   []simulator.Fault // injected into PollEndpoint, in order
	prompt string            // may hold simulator directives
	// deadline overrides the job deadline (virtual time).
	deadline time.Duration
	// slow marks a fault that outlasts the upstream client's timeout; such
	// a case runs with slowClientTimeout at slowTimeScale.
	slow bool

	want        job.Status
	wantErr     string // the record's error.name; "" when completed
	submissions int    // accepted upstream submissions of the job's request
	minPolls    int    // successful polls the job must have made, at least
}

// stall outlasts any client timeout: the simulator gives up waiting as soon
// as the client hangs up, so it costs only the client's timeout.
const stall = time.Hour

func faultCases() []faultCase {
	var (
		reset     = simulator.Fault{Reset: true}
		malformed = simulator.Fault{Malformed: true}
		truncated = simulator.Fault{Truncated: true}
		status    = func(code int) simulator.Fault { return simulator.Fault{Status: code} }
		accepted  = func(f simulator.Fault) simulator.Fault { f.AfterAccept = true; return f }
		times     = func(n int, f simulator.Fault) []simulator.Fault {
			fs := make([]simulator.Fault, n)
			for i := range fs {
				fs[i] = f
			}
			return fs
		}
	)
	const (
		completed = job.Completed
		failed    = job.Failed
		unknown   = job.ErrNameSubmitUncertain
	)
	cases := []faultCase{
		// Submit faults that prove the upstream did not accept: retried.
		{name: "submit/429 Retry-After 2 then ok", submit: []simulator.Fault{{Status: 429, RetryAfter: "2"}}, want: completed, submissions: 1},
		{name: "submit/503 twice then ok", submit: times(2, status(503)), want: completed, submissions: 1},
		// Submit faults that leave the outcome unknown: never resubmitted.
		{name: "submit/500", submit: []simulator.Fault{status(500)}, want: failed, wantErr: unknown, submissions: 0},
		{name: "submit/502", submit: []simulator.Fault{status(502)}, want: failed, wantErr: unknown, submissions: 0},
		{name: "submit/reset", submit: []simulator.Fault{reset}, want: failed, wantErr: unknown, submissions: 0},
		{name: "submit/malformed", submit: []simulator.Fault{malformed}, want: failed, wantErr: unknown, submissions: 0},
		{name: "submit/truncated", submit: []simulator.Fault{truncated}, want: failed, wantErr: unknown, submissions: 0},
		{name: "submit/slow past client timeout", submit: []simulator.Fault{{Delay: stall}}, slow: true, want: failed, wantErr: unknown, submissions: 0},
		{name: "submit/accepted then 500", submit: []simulator.Fault{accepted(status(500))}, want: failed, wantErr: unknown, submissions: 1},
		{name: "submit/accepted then 502", submit: []simulator.Fault{accepted(status(502))}, want: failed, wantErr: unknown, submissions: 1},
		{name: "submit/accepted then reset", submit: []simulator.Fault{accepted(reset)}, want: failed, wantErr: unknown, submissions: 1},
		{name: "submit/accepted then malformed", submit: []simulator.Fault{accepted(malformed)}, want: failed, wantErr: unknown, submissions: 1},
		{name: "submit/accepted then truncated", submit: []simulator.Fault{accepted(truncated)}, want: failed, wantErr: unknown, submissions: 1},
		{name: "submit/accepted then slow past client timeout", submit: []simulator.Fault{accepted(simulator.Fault{Delay: stall})}, slow: true, want: failed, wantErr: unknown, submissions: 1},
		// Submit faults that refuse the request for good.
		{name: "submit/400", submit: []simulator.Fault{status(400)}, want: failed, wantErr: job.ErrNameRejected, submissions: 0},
		{name: "submit/422", submit: []simulator.Fault{status(422)}, want: failed, wantErr: job.ErrNameRejected, submissions: 0},
		// Poll faults are transient: the job still completes.
		{name: "poll/429 x3", poll: times(3, simulator.Fault{Status: 429, RetryAfter: "1"}), want: completed, submissions: 1},
		{name: "poll/500 x3", poll: times(3, status(500)), want: completed, submissions: 1},
		{name: "poll/503 x3", poll: times(3, status(503)), want: completed, submissions: 1},
		{name: "poll/reset x3", poll: times(3, reset), want: completed, submissions: 1},
		{name: "poll/malformed x3", poll: times(3, malformed), want: completed, submissions: 1},
		{name: "poll/truncated x3", poll: times(3, truncated), want: completed, submissions: 1},
		{name: "poll/every kind in a row", poll: []simulator.Fault{{Status: 429, RetryAfter: "1"}, status(500), status(503), reset, malformed, truncated, status(502)},
			want: completed, submissions: 1},
		{name: "poll/slow past client timeout", poll: []simulator.Fault{{Delay: stall}}, slow: true, want: completed, submissions: 1},
		// Generations that end badly upstream.
		{name: "sim:vanish", prompt: "sim:vanish", want: failed, wantErr: job.ErrNameUpstreamNotFound, submissions: 1},
		{name: "sim:never", prompt: "sim:never", deadline: 2 * time.Minute, want: failed, wantErr: job.ErrNameTimedOut, submissions: 1, minPolls: 2},
		{name: "sim:error", prompt: "sim:error", want: failed, wantErr: "ContentModeration", submissions: 1},
		// sim:gen=180 keeps the unknown status up for several asks, wherever
		// the other cases' times and bounds put the deployment's first ask
		// and however slowly a loaded machine answers each (its HTTP round
		// trip is real time, which the ×50 clock multiplies: 0.6 s is 30 s).
		{name: "sim:status=rendering", prompt: "sim:status=rendering sim:gen=180", want: completed, submissions: 1, minPolls: 3},
	}
	return cases
}

// faultRun is one case's job, from submit to what the end looks like.
type faultRun struct {
	c      faultCase
	rt     *Runtime
	faults *faultCounter
	jobID  string
}

// faultResult is what the summary is computed from.
type faultResult struct {
	submitted   bool // the API accepted the job
	found       bool // the record exists, in the store and over the API
	ended       bool // the execution is SUCCEEDED or FAILED and the record terminal
	submissions int
}

// TestFaultInjection runs one job per case through the real local runtime
// (API, state machine, steps, store and the built-in simulator) with the
// case's faults injected, and checks how each job ended. Every job is
// started first, so they run side by side and the suite takes about as long
// as its slowest case; each is then waited on through its execution, never
// a sleep.
func TestFaultInjection(t *testing.T) {
	cases := faultCases()
	var runs []*faultRun
	for _, c := range cases {
		runs = append(runs, startFaultJob(t, c))
	}

	results := make([]faultResult, 0, len(runs))
	for _, r := range runs {
		var res faultResult
		t.Run(r.c.name, func(t *testing.T) { r.check(t, &res) })
		results = append(results, res)
	}

	var jobs, lost, stuck, dups int
	for _, res := range results {
		if !res.submitted {
			continue
		}
		jobs++
		if !res.found {
			lost++
		}
		if !res.ended {
			stuck++
		}
		if res.submissions > 1 {
			dups++
		}
	}
	t.Logf("fault cases: %d, jobs: %d, lost: %d, stuck: %d, duplicate submissions: %d", len(runs), jobs, lost, stuck, dups)
	if jobs != len(runs) || lost > 0 || stuck > 0 || dups > 0 {
		t.Fatalf("every job must be found, end and reach the upstream at most once: %d of %d jobs submitted, %d lost, %d stuck, %d submitted more than once",
			jobs, len(runs), lost, stuck, dups)
	}
}

// startFaultJob starts a runtime of its own for c (faults queue per
// simulator, so cases must not share one), injects c's faults and submits
// the job over HTTP.
func startFaultJob(t *testing.T, c faultCase) *faultRun {
	t.Helper()
	counter := &faultCounter{}
	cfg := testConfig(t)
	cfg.TimeScale = faultTimeScale
	if c.slow {
		cfg.TimeScale, cfg.UpstreamTimeout = slowTimeScale, slowClientTimeout
	}
	cfg.JobDeadline = 30 * time.Minute
	if c.deadline > 0 {
		cfg.JobDeadline = c.deadline
	}
	// Done before the first poll (20 s): a poll fault is the only thing
	// between the job and its end, unless the prompt sets sim:gen.
	cfg.SimQueueTime, cfg.SimGenerationTime = 2*time.Second, 10*time.Second
	cfg.Log = slog.New(counter)
	rt := start(t, cfg)
	rt.Simulator.Inject(simulator.SubmitEndpoint, c.submit...)
	rt.Simulator.Inject(simulator.PollEndpoint, c.poll...)

	body := `{"model":"gen3a_turbo","image_url":"https://example.com/fault.jpg","prompt":"` + c.prompt + `"}`
	r := call(t, "POST", rt.URL+api.PathGenerations, keyA, "application/json", body)
	if r.status != 200 || r.body["status"] != "queued" {
		t.Fatalf("%s: submit: %d %s", c.name, r.status, r.raw)
	}
	return &faultRun{c: c, rt: rt, faults: counter, jobID: r.body["id"].(string)}
}

// check waits for the job's execution and asserts its end, filling in res
// as it learns (a failed assertion may end it early).
func (r *faultRun) check(t *testing.T, res *faultResult) {
	c := r.c
	res.submitted = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	exe, err := r.rt.Engine.Wait(ctx, VideoJob, r.jobID)
	if err != nil {
		t.Errorf("execution did not end: %v", err)
	}

	j, err := r.rt.Store.Get(context.Background(), r.jobID)
	if err != nil {
		t.Errorf("record: %v", err)
	}
	q := call(t, "GET", r.rt.URL+api.PathGenerations+"?generation_id="+r.jobID, keyA, "", "")
	res.found = err == nil && q.status == 200
	res.ended = (exe.Status == states.Succeeded || exe.Status == states.Failed) && j.Status.Terminal()
	if err == nil {
		res.submissions = r.rt.Simulator.SubmissionsOf(j.Request)
	}
	var took time.Duration // virtual
	if exe.StopTime != nil {
		took = exe.StopTime.Sub(exe.StartTime).Round(time.Second)
	}
	t.Logf("%s: execution %s after %v (virtual), record %s %s, %d successful polls, %d of %d faults struck, %d submissions",
		r.jobID, exe.Status, took, j.Status, errName(j.Error), j.Polls,
		r.faults.n.Load(), len(c.submit)+len(c.poll), res.submissions)

	wantExe := states.Failed
	if c.want == job.Completed {
		wantExe = states.Succeeded
	}
	if exe.Status != wantExe {
		t.Errorf("execution %s (%+v), want %s", exe.Status, exe.Error, wantExe)
	}
	if j.Status != c.want || errName(j.Error) != c.wantErr {
		t.Errorf("record: %s %s, want %s %s (%+v)", j.Status, errName(j.Error), c.want, c.wantErr, j.Error)
	}
	apiErr, _ := q.body["error"].(map[string]any)
	apiErrName, _ := apiErr["name"].(string)
	if q.body["status"] != string(c.want) || apiErrName != c.wantErr {
		t.Errorf("API: %d %s, want status %s error %q", q.status, q.raw, c.want, c.wantErr)
	}
	if c.want == job.Completed {
		video, _ := q.body["video"].(map[string]any)
		if url, _ := video["url"].(string); url == "" {
			t.Errorf("completed without a video URL: %s", q.raw)
		}
	}
	if j.Polls < c.minPolls {
		t.Errorf("%d successful polls, want at least %d", j.Polls, c.minPolls)
	}
	if res.submissions != c.submissions {
		t.Errorf("the upstream accepted %d submissions of the job, want %d", res.submissions, c.submissions)
	}
	// A fault left in the queue would mean the case did not test it.
	if n, want := r.faults.n.Load(), int64(len(c.submit)+len(c.poll)); n != want {
		t.Errorf("%d of the %d injected faults struck", n, want)
	}
}

func errName(e *job.Error) string {
	if e == nil {
		return ""
	}
	return e.Name
}

// faultCounter is a slog.Handler that counts the faults the simulator
// injects (it logs each at Info) and drops everything else.
type faultCounter struct{ n atomic.Int64 }

func (h *faultCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h *faultCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "injecting fault") {
		h.n.Add(1)
	}
	return nil
}

func (h *faultCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *faultCounter) WithGroup(string) slog.Handler      { return h }
