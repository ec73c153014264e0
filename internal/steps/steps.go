// Package steps holds the task handlers of a job's steps in video_job:
// Register, Submit, Poll and Fail. The Finish step, which announces an
// ended job, and the webhook machine's Deliver live with the rest of
// notification in internal/notify. The same functions run as Lambdas in
// AWS and in-process under the local runtime. Each takes and returns only the job id and small
// control fields; the job itself lives in the store.
package steps

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/pollpolicy"
	"github.com/vidgen/vidgen/internal/upstream"
)

// Store is the part of a job store the steps use.
type Store interface {
	Get(ctx context.Context, id string) (job.Job, error)
	Update(ctx context.Context, id string, c job.Change) (job.Job, error)
}

// Upstream is the generation API.
type Upstream interface {
	Submit(ctx context.Context, req job.Request) (upstream.Generation, error)
	Get(ctx context.Context, id string) (upstream.Generation, error)
}

// Blobs reads the images the API stored outside job records (see
// internal/blob).
type Blobs interface {
	Get(ctx context.Context, key string) ([]byte, string, error)
}

// Archiver copies a finished video into vidgen's own store
// (internal/archive), since the upstream's link expires within hours.
type Archiver interface {
	Archive(ctx context.Context, jobID, sourceURL string) (key string, size int64, err error)
}

// Tasks resumes an execution parked on a task token: Step Functions'
// SendTaskSuccess. A token whose task has already closed (its heartbeat
// timed out, or the execution ended) is success: that execution has moved
// on and looks at the job itself.
type Tasks interface {
	SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error
}

// Learned is the deployment's learned generation times
// (internal/gentime): Submit and Poll decide from a snapshot of the job's
// model and duration, and a Poll that completes a job records how long it
// took.
type Learned interface {
	Times(ctx context.Context, model string, duration int) pollpolicy.Times
	Record(ctx context.Context, jobID, model string, duration int, took time.Duration) error
	// RecordAtMost records that a job found done at its first ask took
	// at most atMost.
	RecordAtMost(ctx context.Context, jobID, model string, duration int, atMost time.Duration) error
}

// Input is what the state machine passes to each step.
type Input struct {
	JobID string `json:"job_id"`
	// Execution is the name of the execution running the step, for the
	// log lines; absent, the job's own execution is meant.
	Execution string `json:"execution,omitempty"`
	// Failures counts consecutive transient upstream failures so backoff
	// grows across loop iterations.
	Failures int `json:"failures,omitempty"`
	// NotFound counts consecutive 404s from the upstream, apart from other
	// failures: only a generation the upstream keeps denying has vanished.
	NotFound int `json:"not_found,omitempty"`
	// Follow makes Poll only read the record: the execution follows a job
	// another execution drives (see Registrar.Register).
	Follow bool `json:"follow,omitempty"`
	// LegacyFollow is Follow under the key video_job sent before "watch"
	// was renamed (issue 15): a running Standard execution keeps the
	// definition it started with, and a follower may run for a day, so Poll
	// reads both keys until those executions have drained.
	LegacyFollow bool `json:"watch,omitempty"`
	// ParkToken makes Submit park the execution instead of submitting: it
	// records the token of the callback task that holds the execution
	// while the job waits for a slot (see Handlers.park).
	ParkToken string `json:"park_token,omitempty"`
	// Prev is the previous step's Output (the machine's $.step): Poll reads
	// from it the asks a Poll that learned nothing new did not write
	// (Output.Unrecorded). Absent from executions started before it was
	// passed, which then carry nothing.
	Prev *Output `json:"step,omitempty"`
}

// Output tells the state machine what to do next.
type Output struct {
	JobID  string     `json:"job_id"`
	Status job.Status `json:"status"`
	// Submitted is false while the upstream has not accepted the job yet;
	// the machine then waits and runs Submit again.
	Submitted bool `json:"submitted"`
	// Waiting is set while the job waits for a slot: the machine then
	// parks until the job's admitter resumes it.
	Waiting bool `json:"waiting"`
	// WaitSeconds is the pause before the next step (Wait's SecondsPath).
	WaitSeconds int `json:"wait_seconds"`
	Failures    int `json:"failures"`
	NotFound    int `json:"not_found"`
	// Unrecorded are asks a Poll made and did not write, having learned
	// nothing new (see ProgressEvery); LastAsk is when the last of them was
	// answered. The next Poll writes them with its own.
	Unrecorded int       `json:"unrecorded,omitempty"`
	LastAsk    time.Time `json:"last_ask,omitzero"`
	// Result is the execution's result, set by a Poll that saw the job end
	// and announced it (Handlers.Finisher): the machine then goes straight
	// to its end, as after the Finish state, whose result it is.
	Result *notify.Result `json:"result,omitempty"`
}

// ProgressEvery bounds how stale a record's polls and checked_at may grow:
// a Poll whose asks learned nothing new (the same status, no video, error
// or credits) does not write the record unless its last check is older
// than this, and hands its asks to the next Poll instead (Output.Unrecorded).
// DynamoDB bills a write per record per change, so a job polled every 10 s
// writes once a minute, not six times.
const ProgressEvery = time.Minute

// Handlers runs the steps.
type Handlers struct {
	Store    Store
	Upstream Upstream
	Clock    clock.Clock
	Policy   pollpolicy.Policy
	Rand     func() float64 // in [0,1), for backoff jitter; nil → math/rand/v2
	Log      *slog.Logger   // required; tests pass a discarding one

	// Blobs holds the images the API offloaded; only Submit reads it, and
	// only for jobs that have such images.
	Blobs Blobs

	// Archiver copies each finished video before Poll records the job
	// completed; nil records only the upstream's URL.
	Archiver Archiver

	// Tasks resumes a parked execution whose job was admitted before its
	// token was recorded; only Submit uses it, for jobs that waited.
	Tasks Tasks

	// Metrics records submits and the ends these steps write; nil records
	// nothing.
	Metrics *metrics.Recorder

	// Learned holds the generation times the policy decides by; nil
	// decides from the prior (the upstream's documented times) and learns
	// nothing.
	Learned Learned

	// Finisher, when set, does the Finish step's work in the Poll that
	// sees its job end (see Poll); nil leaves it to the Finish state.
	Finisher Finisher

	// SpendCap, when enabled, ends instead of submitting a job whose
	// tenant reached its daily spend cap (job.ErrNameSpendCap).
	SpendCap *admission.SpendCap
	// Stamp turns a time of Clock into the wall-clock time people read,
	// for the reset a SpendCapReached end names, as the API's 429 names
	// it; nil keeps it, as in AWS, where Clock is the wall clock. Only a
	// local runtime on a scaled clock needs one.
	Stamp func(time.Time) time.Time
}

// Finisher announces an ended job and shapes the execution's result:
// video_job's Finish step (notify.Notifier.Finish).
type Finisher interface {
	Finish(ctx context.Context, in notify.FinishInput) (notify.Result, error)
}

// times is the snapshot of the learned times of j's model and duration.
func (h *Handlers) times(ctx context.Context, j job.Job) pollpolicy.Times {
	if h.Learned == nil {
		return pollpolicy.Times{}
	}
	return h.Learned.Times(ctx, j.Request.Model, j.Request.Duration)
}

func (h *Handlers) rand() float64 {
	if h.Rand == nil {
		return rand.Float64()
	}
	return h.Rand()
}

// Submit sends the job to the upstream at most once. It records the intent
// before the POST and the upstream id after it; a Submit that finds an
// intent with no outcome knows an earlier attempt may have been accepted
// and charged, so it ends the job instead of submitting again. It retries
// (via the machine's loop) only when the upstream surely did not accept.
//
// With a ParkToken, Submit parks the execution instead (see park): it
// never submits then, since the callback task that invoked it ignores its
// answer.
func (h *Handlers) Submit(ctx context.Context, in Input) (Output, error) {
	if in.ParkToken != "" {
		return h.park(ctx, in)
	}
	t := turn{start: h.Clock.Now()}
	out, err := h.submit(ctx, in, true, &t)
	return h.fullTurn(out, t), err
}

// park holds the execution of a job waiting for a slot without polling:
// the state machine's callback task invokes it with its token and waits
// until someone sends the token back. The token is recorded on condition
// that the job still waits, so the job's admitter reads it and resumes the
// execution (internal/admission). If the job no longer waits (admitted or
// ended before the token could be recorded) nobody else will send it, so
// park does. A token lost anyway (the admitter's SendTaskSuccess failed)
// costs one heartbeat timeout: the task then fails with
// States.HeartbeatTimeout and the machine runs Submit again.
func (h *Handlers) park(ctx context.Context, in Input) (Output, error) {
	j, err := h.load(ctx, in.JobID)
	if err != nil {
		return Output{}, err
	}
	ctx = logCtx(ctx, j, in.Execution)
	if j.Waiting {
		_, err := h.Store.Update(ctx, j.ID, job.Change{At: h.Clock.Now(), Park: in.ParkToken})
		if err == nil {
			h.Log.DebugContext(ctx, "parked until admitted")
			return Output{JobID: j.ID, Status: j.Status, Waiting: true}, nil
		}
		if !errors.Is(err, job.ErrConflict) {
			return Output{}, &job.TransientError{Err: err}
		}
		// Admitted or ended meanwhile.
	}
	if h.Tasks == nil {
		return Output{}, errors.New("park: no way to resume the execution (Handlers.Tasks is nil)")
	}
	if err := h.Tasks.SendTaskSuccess(ctx, in.ParkToken, json.RawMessage(`{}`)); err != nil {
		return Output{}, &job.TransientError{Err: fmt.Errorf("resume own execution: %w", err)}
	}
	return Output{JobID: j.ID, Status: j.Status, Submitted: j.UpstreamID != ""}, nil
}

func (h *Handlers) submit(ctx context.Context, in Input, again bool, t *turn) (Output, error) {
	j, err := h.load(ctx, in.JobID)
	if err != nil {
		return Output{}, err
	}
	ctx = logCtx(ctx, j, in.Execution)
	t.deadline = j.Deadline
	now := h.Clock.Now()
	switch {
	case j.Status.Terminal():
		return h.done(j), nil
	case j.UpstreamID != "":
		// Submitted already: the earlier answer was lost after it was recorded.
		return Output{JobID: j.ID, Status: j.Status, Submitted: true, WaitSeconds: h.Policy.First(j, now, h.times(ctx, j))}, nil
	case j.SubmitStarted != nil:
		return h.end(ctx, j, job.ErrNameSubmitUncertain,
			"an earlier submit attempt did not report back; the upstream may have accepted (and charged for) it, so vidgen did not submit again")
	case !now.Before(j.Deadline) && j.Waiting:
		return h.end(ctx, j, job.ErrNameTimedOut,
			"the job was not admitted within its queue timeout (caps on generations in flight); it was never submitted")
	case !now.Before(j.Deadline):
		return h.end(ctx, j, job.ErrNameTimedOut, "the job's deadline passed before the upstream accepted it")
	case j.Waiting:
		// Held back by the caps on generations in flight (a job started
		// directly has its execution already): the machine parks it.
		return Output{JobID: j.ID, Status: j.Status, Waiting: true}, nil
	}
	if err := h.SpendCap.Check(ctx, j.Tenant, now); err != nil {
		var reached *admission.CapReachedError
		if errors.As(err, &reached) {
			told := *reached
			told.Resets = admission.WallReset(reached.Resets, h.Stamp)
			return h.end(ctx, j, job.ErrNameSpendCap, told.Error()+"; this job was not submitted and costs nothing")
		}
		return Output{}, &job.TransientError{Err: err}
	}
	// Restore offloaded images before claiming the submit: a failure here
	// sends nothing upstream, so it must not leave a claim that would end
	// the job as SubmitOutcomeUnknown.
	req, err := blob.Restore(ctx, h.Blobs, j.Request)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		h.Log.ErrorContext(ctx, "offloaded media missing", "model", j.Request.Model, "media", blob.DescribeMedia(j.Request), "err", err)
		return h.end(ctx, j, job.ErrNameInternal, "vidgen lost the job's media before submitting it")
	case errors.As(err, new(*catalog.UnknownModelError)):
		// A model the catalogue no longer has: the upstream client would
		// refuse it unsent too, and retrying cannot help.
		return h.end(ctx, j, job.ErrNameRejected, err.Error())
	case err != nil:
		return Output{}, &job.TransientError{Err: err}
	}
	if _, err := h.Store.Update(ctx, j.ID, job.Change{At: now, ClaimSubmit: true}); err != nil {
		if errors.Is(err, job.ErrConflict) && again {
			// Someone else claimed it or ended the job meanwhile: go by the
			// record, once (it can only have moved forward).
			return h.submit(ctx, Input{JobID: j.ID, Execution: in.Execution}, false, t)
		}
		return Output{}, &job.TransientError{Err: err}
	}

	gen, err := h.Upstream.Submit(ctx, req)
	now = h.Clock.Now()
	if fail, ok := keyFailure(err); ok {
		h.Log.ErrorContext(ctx, "submit refused: fix the upstream key", "err", err)
		return h.end(ctx, j, fail.Name, fail.Message)
	}
	if err != nil {
		switch outcome, ue := classifySubmit(err); outcome {
		case notAccepted:
			// Losing the release would make the retry end the job as
			// SubmitOutcomeUnknown although the upstream surely refused it.
			if _, err := h.persist(ctx, j.ID, job.Change{At: now, ReleaseSubmit: true}); err != nil && !errors.Is(err, job.ErrConflict) {
				return Output{}, &job.TransientError{Err: err}
			}
			wait := h.backoff(in.Failures, ue.RetryAfter, j, now)
			// No connection at all is a problem of address or network,
			// which a person must fix; 429 and 503 are the upstream's load.
			level := slog.LevelWarn
			if ue.Kind == upstream.KindUnreachable {
				level = slog.LevelError
			}
			h.Log.Log(ctx, level, "submit not accepted, will retry", "kind", ue.Kind.String(), "err", err, "wait_s", wait)
			return Output{JobID: j.ID, Status: j.Status, WaitSeconds: wait, Failures: in.Failures + 1}, nil
		case rejected:
			return h.end(ctx, j, job.ErrNameRejected, "the upstream rejected the request: "+ue.Message)
		default:
			h.Log.ErrorContext(ctx, "submit outcome unknown", "err", err)
			return h.end(ctx, j, job.ErrNameSubmitUncertain,
				"the submit's outcome is unknown ("+err.Error()+"); the upstream may have accepted (and charged for) it, so vidgen did not submit again")
		}
	}
	status := job.Queued
	if gen.Status == job.Generating {
		status = job.Generating
	}
	// The create's answer carries the credits the generation costs
	// (meta.usage.credits_used), recorded and counted with its id.
	j, err = h.persist(ctx, j.ID, job.Change{At: now, Status: status, UpstreamID: gen.ID, CreditsUsed: gen.CreditsUsed})
	if err != nil {
		if errors.Is(err, job.ErrConflict) {
			// Ended meanwhile (cancelled or timed out): report the final record.
			if j, gerr := h.load(ctx, in.JobID); gerr == nil && j.Status.Terminal() {
				return h.done(j), nil
			}
		}
		return Output{}, &job.TransientError{Err: fmt.Errorf("record upstream id %s: %w", gen.ID, err)}
	}
	h.Metrics.JobSubmitted()
	h.Log.InfoContext(ctx, "submitted", "upstream_id", gen.ID)
	return Output{JobID: j.ID, Status: j.Status, Submitted: true, WaitSeconds: h.Policy.First(j, now, h.times(ctx, j))}, nil
}

// persist writes what a submit learned about the upstream: its id after an
// accept, or the release of the claim after a sure refusal. Losing either
// would end the job as SubmitOutcomeUnknown, so the write survives the
// caller giving up and is tried a few times (the SDK backs off between its
// own retries of each).
func (h *Handlers) persist(ctx context.Context, id string, c job.Change) (job.Job, error) {
	ctx = context.WithoutCancel(ctx)
	var err error
	for range 3 {
		var j job.Job
		if j, err = h.Store.Update(ctx, id, c); err == nil || errors.Is(err, job.ErrConflict) || errors.Is(err, job.ErrNotFound) {
			return j, err
		}
	}
	return job.Job{}, err
}

// Poll reads the record, asks the upstream, asks the policy once what to
// do (pollpolicy.Decide), does it and writes the record. Transient
// upstream failures never fail the job before its deadline.
//
// A Poll that finds its job ended (not a follower's) does the Finish step's
// work too, with Finisher: it announces the job and returns the
// execution's result, which saves video_job two states per job (Finish,
// and Callback? after it). Announcing is idempotent (the record's claim
// and mark), so a retried Poll announces nothing twice. If announcing
// fails (AnnouncementBusyError included) the Poll still succeeds, with no
// result: the machine runs the Finish state, whose retries deal with it.
func (h *Handlers) Poll(ctx context.Context, in Input) (Output, error) {
	t := turn{start: h.Clock.Now()}
	out, err := h.poll(ctx, in, &t)
	if err == nil && out.Status.Terminal() && h.Finisher != nil && !in.Follow && !in.LegacyFollow {
		res, ferr := h.Finisher.Finish(ctx, notify.FinishInput{JobID: out.JobID, Execution: in.Execution})
		if ferr != nil {
			h.Log.WarnContext(logs.With(ctx, slog.String(logs.JobID, out.JobID)), "announce the ended job: left to the Finish step", "err", ferr)
		} else {
			out.Result = &res
		}
	}
	return h.fullTurn(out, t), err
}

func (h *Handlers) poll(ctx context.Context, in Input, t *turn) (Output, error) {
	j, err := h.load(ctx, in.JobID)
	if err != nil {
		return Output{}, err
	}
	ctx = logCtx(ctx, j, in.Execution)
	t.deadline = j.Deadline
	if j.Status.Terminal() {
		return h.done(j), nil
	}
	follow := in.Follow || in.LegacyFollow
	o := pollpolicy.Observation{Now: h.Clock.Now(), Follow: follow, Failures: in.Failures, NotFound: in.NotFound, Rand: h.rand}
	if !follow { // a follower waits by the job's age alone
		o.Times = h.times(ctx, j)
	}
	carried := 0 // asks of earlier Polls not written yet
	if p := in.Prev; p != nil && p.Unrecorded > 0 && !follow {
		carried = p.Unrecorded
		// The record's updated_at predates the asks not written: the last
		// of them is the previous ask a single one here follows.
		o.PrevAsk = p.LastAsk
	}
	var askErr error
	recorded := 0 // asks a write within the window counted already
	if pollpolicy.ShouldAsk(j, o.Now, follow) {
		recorded, askErr = h.ask(ctx, j, &o)
	}
	d := h.Policy.Decide(j, o)
	now := o.Now

	switch d.Action {
	case pollpolicy.Wait:
		if d.Note != "" {
			attrs := []any{"wait_s", d.Seconds}
			if askErr != nil {
				attrs = append([]any{"err", askErr}, attrs...)
			}
			h.Log.WarnContext(ctx, d.Note, attrs...)
		}
		// A follower reports what the record says; a Poll that asked has
		// submitted.
		submitted := !o.Follow || j.UpstreamID != ""
		out := Output{JobID: j.ID, Status: j.Status, Submitted: submitted, WaitSeconds: d.Seconds, Failures: d.Failures, NotFound: d.NotFound}
		if carried > 0 {
			out.Unrecorded, out.LastAsk = carried, in.Prev.LastAsk
		}
		return out, nil
	case pollpolicy.End:
		if o.Refused != nil {
			h.Log.ErrorContext(ctx, "poll refused: fix the upstream key", "err", askErr)
		}
		return h.endCounting(ctx, j, carried+o.Asks-recorded, d.Error.Name, d.Error.Message)
	case pollpolicy.Archive:
		if h.Archiver != nil {
			video := *d.Video
			key, retry := h.archive(ctx, j, video.URL, d.Retry)
			if retry != nil {
				return *retry, nil
			}
			video.Key = key
			d.Video = &video
		}
	}
	if d.Note != "" {
		h.Log.WarnContext(ctx, d.Note, "status", o.Answer.RawStatus)
	}

	change := job.Change{At: now, Polls: o.Asks - recorded + carried, CreditsUsed: o.Answer.CreditsUsed, Status: d.Status, Error: d.Error, Video: d.Video}
	if learnedNothing(j, change, now) {
		h.Log.DebugContext(ctx, "nothing new: the record is not written", "asks", change.Polls)
		return Output{JobID: j.ID, Status: j.Status, Submitted: true, WaitSeconds: d.Seconds,
			Unrecorded: change.Polls, LastAsk: now}, nil
	}
	if c := change.CreditsUsed; c != nil && j.CreditsUsed != nil && *c == *j.CreditsUsed {
		change.CreditsUsed = nil // recorded (and counted) already
	}
	before := j
	j, err = h.Store.Update(ctx, j.ID, change)
	if err != nil {
		if errors.Is(err, job.ErrConflict) {
			if cur, gerr := h.load(ctx, in.JobID); gerr == nil && cur.Status.Terminal() {
				return h.done(cur), nil
			}
		}
		return Output{}, &job.TransientError{Err: err}
	}
	if j.Status == job.Completed && h.Learned != nil {
		// This Poll's own write completed the job (a job another writer
		// ended failed it above), so the time is one it measured.
		var err error
		switch {
		case d.Learned > 0:
			err = h.Learned.Record(ctx, j.ID, j.Request.Model, j.Request.Duration, d.Learned)
		case d.LearnedAtMost > 0:
			err = h.Learned.RecordAtMost(ctx, j.ID, j.Request.Model, j.Request.Duration, d.LearnedAtMost)
		}
		if err != nil {
			h.Log.WarnContext(ctx, "record the generation time", "err", err)
		}
	}
	if j.Status.Terminal() {
		h.Metrics.JobEnded(j, detectionLag(before, o.PrevAsk, now))
		h.Log.InfoContext(ctx, "job finished", "status", j.Status, "polls", j.Polls)
		return h.done(j), nil
	}
	return Output{JobID: j.ID, Status: j.Status, Submitted: true, WaitSeconds: d.Seconds}, nil
}

// learnedNothing reports whether c, a Poll's record of its asks, would
// change nothing on j but its polls and checked_at, while j's last check
// is younger than ProgressEvery: then the Poll need not write.
func learnedNothing(j job.Job, c job.Change, now time.Time) bool {
	if c.Status != "" && c.Status != j.Status || c.Video != nil || c.Error != nil {
		return false
	}
	if c.CreditsUsed != nil && (j.CreditsUsed == nil || *j.CreditsUsed != *c.CreditsUsed) {
		return false
	}
	checked := j.UpdatedAt
	if j.CheckedAt != nil {
		checked = *j.CheckedAt
	}
	return now.Sub(checked) < ProgressEvery
}

// ask asks the upstream about j's generation and notes the answers in o:
// once, or, while the policy's window for j lasts (pollpolicy.Window), again
// and again within this invocation until the generation ends. A failed ask
// within the window ends the asking: the Poll records the answers it had,
// and the next one deals with the failure, after any Retry-After the
// upstream sent. It returns how many of the asks it recorded already (see
// progress), and the error of a failed ask, for the log line.
func (h *Handlers) ask(ctx context.Context, j job.Job, o *pollpolicy.Observation) (int, error) {
	gen, err := h.Upstream.Get(ctx, j.UpstreamID)
	o.Now = h.Clock.Now()
	if err != nil {
		o.Failed = true
		if fail, ok := keyFailure(err); ok {
			o.Refused = fail
		}
		if ue, ok := errors.AsType[*upstream.Error](err); ok {
			o.NotFoundErr = ue.Kind == upstream.KindNotFound
			o.RetryAfter = ue.RetryAfter
		}
		return 0, err
	}
	o.Asks, o.Answer = 1, gen
	start := o.Now
	window, every := h.Policy.Window(j, start, o.Times)
	if window <= 0 || every <= 0 {
		return 0, nil
	}
	last, recorded, status, looked := start, 0, j.Status, start
	for gen.Status != job.Completed && gen.Status != job.Failed {
		if gen.Status == job.Generating && status == job.Queued {
			if h.progress(ctx, j.ID, o.Asks-recorded, last) {
				recorded, status = o.Asks, job.Generating
			} else {
				status = job.Generating // tried once: the Poll's own write follows
			}
		}
		now := h.Clock.Now()
		if now.Add(every).After(start.Add(window)) || !now.Add(every).Before(j.Deadline) {
			break
		}
		if left, ok := clock.Remaining(ctx); ok && left < windowReserve {
			break // leave the invocation time to archive what it finds
		}
		if h.Clock.Sleep(ctx, every) != nil {
			break
		}
		if window > recordLook && h.Clock.Now().Sub(looked) >= recordLook {
			// A long window records its asks every recordLook, as a
			// short one did at its end, and so notices a job that ended
			// meanwhile (a cancel): the write conflicts.
			looked = h.Clock.Now()
			_, err := h.Store.Update(ctx, j.ID, job.Change{At: last, Polls: o.Asks - recorded})
			if errors.Is(err, job.ErrConflict) {
				break
			}
			if err == nil {
				recorded = o.Asks
			}
		}
		asked := h.Clock.Now()
		next, err := h.Upstream.Get(ctx, j.UpstreamID)
		if err != nil {
			if ue, ok := errors.AsType[*upstream.Error](err); ok {
				o.RetryAfter = ue.RetryAfter
			}
			if fail, ok := keyFailure(err); ok {
				o.Refused = fail
			}
			h.Log.WarnContext(ctx, "ask within the window failed", "err", err)
			o.Now = h.Clock.Now()
			return recorded, err
		}
		gen, o.PrevAsk, last = next, last, asked
		o.Asks++
		o.Answer = gen
	}
	o.Now = h.Clock.Now()
	return recorded, nil
}

// progress records, within a window of asks, that the upstream is
// generating the job, with the asks so far (the last answered at at), so
// that clients see the job move while the window lasts (up to
// pollpolicy.Adaptive.Window) rather than only at the Poll's own write.
// It writes only when the status changes, once per job, so a job costs at
// most one write more than before. A failed write is logged and left to
// the Poll's own write; it reports whether the asks were recorded.
func (h *Handlers) progress(ctx context.Context, id string, asks int, at time.Time) bool {
	_, err := h.Store.Update(ctx, id, job.Change{At: at, Status: job.Generating, Polls: asks})
	if err != nil {
		h.Log.WarnContext(ctx, "record generating within the window", "err", err)
		return false
	}
	return true
}

// detectionLag estimates how long the upstream's end of j's generation
// went unnoticed, the upstream telling no time: half the span between the
// last ask that found it unfinished (prevAsk, within this Poll) and now,
// when the answer finding it ended is recorded. A job ended at its first
// ask has no such span: 0, unknown.
func detectionLag(j job.Job, prevAsk, now time.Time) time.Duration {
	prev := prevAsk
	if prev.IsZero() {
		if j.Polls == 0 {
			return 0
		}
		prev = j.UpdatedAt // the previous Poll's last ask
	}
	return now.Sub(prev) / 2
}

// archive copies the finished video and returns its key, or the Output of
// a retry. A failure that may pass (the CDN unavailable or slow, vidgen's
// own store failing) is retried on the poll loop's backoff, asking the
// upstream again, which may hand out a fresh URL, while the next try still
// comes before the deadline. Past that, or after a failure that will not
// pass (404, a refused host, not a video), the job completes with the
// upstream's URL alone, as it did before archiving: the result stays
// reachable until that link expires, where failing the job would lose a
// generation the upstream has charged for.
func (h *Handlers) archive(ctx context.Context, j job.Job, sourceURL string, retry pollpolicy.Retry) (string, *Output) {
	key, size, err := h.Archiver.Archive(ctx, j.ID, sourceURL)
	if err == nil {
		h.Log.InfoContext(ctx, "video archived", "key", key, "bytes", size)
		return key, nil
	}
	// The error names the source without its query, which holds the CDN
	// signature, so it is safe to log.
	if fe, ok := errors.AsType[*archive.FetchError](err); !ok || fe.Retryable {
		if wait, ok := retry.Wait(h.rand); ok {
			h.Log.WarnContext(ctx, "archiving the video failed, will retry", "err", err, "wait_s", wait)
			return "", &Output{JobID: j.ID, Status: j.Status, Submitted: true, WaitSeconds: wait, Failures: retry.Failures() + 1}
		}
	}
	h.Log.ErrorContext(ctx, "video not archived; the job keeps only the upstream's expiring URL", "err", err)
	return "", nil
}

// recordLook is how often a window of asks records them (the job's polls
// and last_checked_at stay at most this old, docs/api.md) and so learns
// whether the job ended meanwhile (a cancel), since windows may last
// minutes (pollpolicy.LongPoll).
const recordLook = 30 * time.Second

// windowReserve is the time a window of asks leaves before its
// invocation's deadline: enough to download and store a video found done.
// The time left is the function's, measured as Lambda measures its
// Timeout (clock.Remaining), also on the local runtime's scaled clock.
const windowReserve = archive.DefaultTimeout + 15*time.Second

// FailInput is what the state machine's Catch hands to Fail.
type FailInput struct {
	JobID     string `json:"job_id"`
	Execution string `json:"execution,omitempty"` // as in Input
	Error     string `json:"error"`
	Cause     string `json:"cause"`
}

// Fail records a failure the state machine caught, so the job ends even
// when a step could not finish. A terminal job is left as it is.
func (h *Handlers) Fail(ctx context.Context, in FailInput) (Output, error) {
	j, err := h.load(ctx, in.JobID)
	if err != nil {
		return Output{}, err
	}
	ctx = logCtx(ctx, j, in.Execution)
	if j.Status.Terminal() {
		return h.done(j), nil
	}
	name, msg := job.ErrNameInternal, "vidgen could not finish the job: "+in.Error
	if in.Error == "States.Timeout" {
		msg = "a step of the job kept timing out"
	}
	h.Log.ErrorContext(ctx, "step failed", "err", in.Error, "cause", truncate(in.Cause, 500))
	return h.end(ctx, j, name, msg)
}

// end fails the job and reports the final record; if the job ended
// meanwhile, the earlier end stands.
func (h *Handlers) end(ctx context.Context, j job.Job, name, msg string) (Output, error) {
	return h.endCounting(ctx, j, 0, name, msg)
}

// endCounting is end that also records asks not written yet.
func (h *Handlers) endCounting(ctx context.Context, j job.Job, asks int, name, msg string) (Output, error) {
	c := job.Fail(h.Clock.Now(), name, msg)
	c.Polls = asks
	out, err := h.Store.Update(ctx, j.ID, c)
	if err == nil {
		h.Metrics.JobEnded(out, 0)
	}
	if errors.Is(err, job.ErrConflict) {
		out, err = h.load(ctx, j.ID)
	}
	if err != nil {
		return Output{}, &job.TransientError{Err: err}
	}
	if out.Status == job.Failed {
		h.Log.InfoContext(ctx, "job failed", "error", out.Error.Name)
	}
	return h.done(out), nil
}

func (h *Handlers) done(j job.Job) Output {
	return Output{JobID: j.ID, Status: j.Status, Submitted: j.UpstreamID != ""}
}

// logCtx is ctx whose log lines name j and the execution running the
// step: the one its input names, or else the job's own.
func logCtx(ctx context.Context, j job.Job, execution string) context.Context {
	return logs.Job(ctx, j.ID, j.Tenant, cmp.Or(execution, j.ExecutionName()))
}

func (h *Handlers) load(ctx context.Context, id string) (job.Job, error) {
	return job.Load(ctx, h.Store.Get, id)
}

// backoff is the policy's jittered backoff after failures failures in a
// row (pollpolicy.Policy.Backoff).
func (h *Handlers) backoff(failures int, retryAfter time.Duration, j job.Job, now time.Time) int {
	return h.Policy.Backoff(failures, retryAfter, j, now, h.rand)
}

// turn is one step of a loop: when it began, and the deadline of its job
// once read.
type turn struct{ start, deadline time.Time }

// fullTurn stretches out's wait so that its turn lasts at least
// pollpolicy.MinTurn,
// never past a second after the job's deadline.
func (h *Handlers) fullTurn(out Output, t turn) Output {
	if out.WaitSeconds <= 0 || t.deadline.IsZero() {
		return out
	}
	now := h.Clock.Now()
	if rest := t.start.Add(pollpolicy.MinTurn).Sub(now); rest > time.Duration(out.WaitSeconds)*time.Second {
		out.WaitSeconds = max(out.WaitSeconds, pollpolicy.ClampToDeadline(rest, job.Job{Deadline: t.deadline}, now))
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
