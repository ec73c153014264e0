package costsim

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/local/localarn"
	"github.com/vidgen/vidgen/internal/local/s3dir"
	"github.com/vidgen/vidgen/internal/pollpolicy"
)

// ManifestConfig is a batch of n items in a JSON Lines manifest, run by
// the real video_batch machine (its distributed Map hands chunks of items
// to at most maxConcurrency child executions at once, each starting one
// video_job execution per item, one after another) for one tenant capped at 25
// generations in flight, 50 in all and at the upstream, under the
// deployed poll policy (Deployed), with the burst workload's generation
// times.
func ManifestConfig(n, maxConcurrency int, template, dir string) Config {
	cfg := burstConfig(n, template, dir)
	cfg.Manifest = maxConcurrency
	return cfg
}

// SinglesConfig is ManifestConfig's jobs submitted one by one to the API
// instead, each when a slot frees for it (Config.Paced), so that none
// waits: what the batch's cost per job is held against.
func SinglesConfig(n int, template, dir string) Config {
	cfg := burstConfig(n, template, dir)
	cfg.Paced = true
	return cfg
}

func burstConfig(n int, template, dir string) Config {
	w := BurstOf(n)
	w.BurstShareB = 0
	return Config{Workload: w, Policy: Deployed(), Latencies: ModelLatencies(), Template: template,
		Deadline: 30 * time.Minute, Dir: dir, Limits: job.Limits{Global: 50, PerTenant: 25}, SimMaxActive: 50}
}

// Deployed is the poll policy every function of a deployment runs
// (lambdafn.Policy, design (c): long Polls), which video_job's Poll and
// PollFunction have their timeouts for: what the batch of 10,000 and its
// single jobs run, so that both are today's machine as wired.
func Deployed() Policy {
	return Policy{Name: "adaptive, long Polls (as deployed)", New: pollpolicy.LongPoll}
}

// pace moves each job's arrival to its start in idealCapped's schedule:
// the moment a slot frees for it (Config.Paced).
func pace(jobs []Job, l job.Limits) {
	starts := make([]time.Duration, len(jobs))
	schedule(jobs, l, starts)
	for i := range jobs {
		jobs[i].Arrival = starts[i]
	}
}

const (
	batchMachineID = "VideoBatchStateMachine"
	manifestKey    = "batches/manifest.jsonl"
)

// batchRun is a Manifest run's batch execution.
type batchRun struct {
	end      time.Time // when the batch execution ended
	summary  *batch.Summary
	children map[string]bool // the Map's child executions, by name
	history  int             // the batch execution's history events
}

// runBatch writes the jobs as a manifest and runs one video_batch
// execution over it, as a process on the run's clock. Every state the
// batch enters, in its Map's child executions too (a chunk's Inline Map
// state once, its iterations' states each time), is billed a transition,
// and so is each child execution the Map starts, one per chunk (as AWS
// bills a distributed Map, and an Inline Map's iterations not at all:
// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html);
// Plan and Summarize are Lambda invocations; each item's video_job
// execution is billed as any other.
func (r *run) runBatch(ctx context.Context, jobs []Job) {
	r.batch = &batchRun{children: map[string]bool{}}
	if err := r.batch.execute(ctx, r, jobs); err != nil {
		r.errs = append(r.errs, fmt.Errorf("batch: %w", err))
	}
	r.batch.end = r.clk.Now()
}

func (b *batchRun) execute(ctx context.Context, r *run, jobs []Job) error {
	var manifest strings.Builder
	for _, j := range jobs {
		line, _ := json.Marshal(map[string]any{"model": job.Model, "image_url": "https://example.com/a.jpg",
			"prompt": j.Prompt(), "duration": j.Duration})
		manifest.Write(line)
		manifest.WriteByte('\n')
	}
	objects := filepath.Join(r.cfg.Dir, "s3")
	if err := os.MkdirAll(filepath.Join(objects, filepath.Dir(manifestKey)), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(objects, manifestKey), []byte(manifest.String()), 0o600); err != nil {
		return err
	}
	machine, _, err := loadMachineID(r.cfg.Template, batchMachineID)
	if err != nil {
		return err
	}
	summarize := lambdas.NewFunctions(map[string]any{
		"SummarizeFunction": (&batch.Summarizer{Objects: s3dir.Objects{Dir: objects}}).Handle,
	})
	write := s3dir.WriteObjectTo(objects)
	const name = "batch-10k"
	opts := asl.Options{Clock: r.clk, Rand: r.rand.Float64, Tasks: r.tokens,
		Invoker: batchInvoker{r: r, summarize: summarize}, ReadItems: s3dir.ReadItemsFrom(objects),
		WriteObject: func(ctx context.Context, bucket, key string, body []byte) error {
			r.clk.Sleep(ctx, r.cfg.Latencies.S3Put)
			r.usage.S3Puts++
			return write(ctx, bucket, key, body)
		},
		Entered: func(execution, _ string) {
			r.usage.Transitions++
			if execution != name && !b.children[execution] {
				b.children[execution] = true
				r.usage.Transitions++ // the distributed Map starting a child execution (a chunk's)
			}
		},
	}
	tenant := "a"
	if len(jobs) > 0 {
		tenant = jobs[0].Tenant
	}
	input, _ := json.Marshal(map[string]any{"batch_id": "10k", "tenant": tenant, "max_concurrency": r.cfg.Manifest,
		"manifest": map[string]string{"bucket": "vidgen-batches", "key": manifestKey}})
	res, err := machine.Execute(ctx, asl.Execution{ID: localarn.Execution(batchMachineID, name), Name: name, Input: input,
		StartTime: r.clk.Now()}, nil, opts)
	b.history = res.HistoryEvents
	if err != nil {
		return err
	}
	var s batch.Summary
	if err := json.Unmarshal(res.Output, &s); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	b.summary = &s
	return nil
}

// batchInvoker runs the batch machine's Tasks: each item's video_job
// execution (startExecution.sync:2), named job-<n> in the order the Map
// starts them, and the batch function (Plan, Summarize), billed as Lambda
// invocations.
type batchInvoker struct {
	r         *run
	summarize *lambdas.Functions
}

func (b batchInvoker) Invoke(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error) {
	r := b.r
	if !strings.HasPrefix(resource, "arn:aws:states:::states:startExecution") {
		return r.invoke(ctx, resource, input, func(ctx context.Context, p []byte) ([]byte, error) {
			return b.summarize.Invoke(ctx, resource, p)
		})
	}
	var p struct {
		StateMachineArn string
		Input           json.RawMessage
	}
	if err := json.Unmarshal(input, &p); err != nil {
		return nil, err
	}
	r.seq++
	name := fmt.Sprintf("job-%06d", r.seq)
	if r.started == nil {
		r.started = map[string]bool{}
	}
	r.started[name] = true // admission's start of the job finds it running
	began := r.clk.Now()
	res, err := r.runExecution(ctx, name, p.Input)
	child := asl.NestedExecution{ExecutionArn: localarn.Execution(machineID, name), StateMachineArn: p.StateMachineArn,
		Name: name, Input: p.Input, StartDate: began, StopDate: r.clk.Now(), Status: "SUCCEEDED", Output: res.Output}
	if se, ok := errors.AsType[*asl.Error](err); ok {
		child.Status, child.Error, child.Cause = "FAILED", se.Name, se.Cause
	} else if err != nil {
		return nil, err
	}
	return asl.NestedResult(resource, child)
}

// result adds what the batch did to a run's result: its summary, its end
// as the makespan, and the ideal for its tenant's cap.
func (b *batchRun) result(res *Result, jobs []Job, limits job.Limits) {
	res.Batch = b.summary
	res.Makespan = max(res.Makespan, b.end.Sub(start))
	res.Ideal = idealCapped(jobs, limits)
	res.MaxHistory = max(res.MaxHistory, b.history)
}

// notePeak records how many jobs hold a slot now, if more than ever.
func (r *run) notePeak(ctx context.Context) {
	f, err := r.store.Store.InFlight(ctx) // bbolt: free, and not billed
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	r.peak.Total = max(r.peak.Total, f.Total)
	if r.peak.ByTenant == nil {
		r.peak.ByTenant = map[string]int{}
	}
	for t, n := range f.ByTenant {
		r.peak.ByTenant[t] = max(r.peak.ByTenant[t], n)
	}
}

// IdealCapped is idealCapped for the jobs of w.
func IdealCapped(w Workload, l job.Limits) time.Duration { return idealCapped(w.Generate(), l) }

// idealCapped is the makespan with no overhead at all under both caps: the
// moment a slot frees (or a job arrives), the oldest waiting job whose
// tenant is under its cap starts, as admission does, and takes its
// generation time. For one tenant capped below the global cap that is its
// own cap's slots; with the per-tenant cap off it is idealMakespan.
func idealCapped(jobs []Job, l job.Limits) time.Duration { return schedule(jobs, l, nil) }

// schedule runs idealCapped's schedule and returns its makespan, with each
// job's start in starts if that is not nil.
func schedule(jobs []Job, l job.Limits, starts []time.Duration) time.Duration {
	waiting := map[string][]int{} // by tenant, in submit order
	inFlight := map[string]int{}
	running := &ends{}
	var now, last time.Duration
	next, queued := 0, 0
	for {
		for ; next < len(jobs) && jobs[next].Arrival <= now; next++ {
			waiting[jobs[next].Tenant] = append(waiting[jobs[next].Tenant], next)
			queued++
		}
		for queued > 0 && (l.Global <= 0 || running.Len() < l.Global) {
			oldest, tenant := -1, ""
			for t, q := range waiting {
				if len(q) > 0 && (l.PerTenant <= 0 || inFlight[t] < l.PerTenant) && (oldest < 0 || q[0] < oldest) {
					oldest, tenant = q[0], t
				}
			}
			if oldest < 0 {
				break
			}
			waiting[tenant] = waiting[tenant][1:]
			queued--
			inFlight[tenant]++
			if starts != nil {
				starts[oldest] = now
			}
			heap.Push(running, slotEnd{at: now + jobs[oldest].GenTime, tenant: tenant})
		}
		switch {
		case running.Len() > 0 && (next == len(jobs) || (*running)[0].at <= jobs[next].Arrival):
			now = (*running)[0].at
		case next < len(jobs):
			now = jobs[next].Arrival
		default:
			return last
		}
		for running.Len() > 0 && (*running)[0].at <= now {
			e := heap.Pop(running).(slotEnd)
			inFlight[e.tenant]--
			last = max(last, e.at)
		}
	}
}

// slotEnd is when a running job gives its slot back.
type slotEnd struct {
	at     time.Duration
	tenant string
}

// ends is a min-heap of the times running jobs end.
type ends []slotEnd

func (e ends) Len() int           { return len(e) }
func (e ends) Less(i, j int) bool { return e[i].at < e[j].at }
func (e ends) Swap(i, j int)      { e[i], e[j] = e[j], e[i] }
func (e *ends) Push(x any)        { *e = append(*e, x.(slotEnd)) }
func (e *ends) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}
