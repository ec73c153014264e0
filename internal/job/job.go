// Package job is vidgen's domain: a video-generation job, its request, its
// statuses and the rules by which its record may change. It imports no AWS
// package; stores and handlers build on it.
package job

import (
	"errors"
	"fmt"
	"time"
)

// Model is the only upstream model vidgen serves.
const Model = "gen3a_turbo"

// Status is where a job stands. The values are exactly the upstream's.
type Status string

// The statuses a job moves through, in order. Completed and Failed are
// terminal; Failed is reported as "error" like the upstream does.
const (
	Queued     Status = "queued"
	Generating Status = "generating"
	Completed  Status = "completed"
	Failed     Status = "error"
)

// Error names vidgen itself gives to failed jobs. Upstream errors keep the
// upstream's own name.
const (
	ErrNameTimedOut         = "TimedOut"
	ErrNameCancelled        = "Cancelled"
	ErrNameRejected         = "UpstreamRejected"
	ErrNameSubmitUncertain  = "SubmitOutcomeUnknown"
	ErrNameUpstreamNotFound = "UpstreamNotFound"
	ErrNameGenerationFailed = "GenerationFailed"
	ErrNameInternal         = "InternalError"
	// ErrNameUpstreamAuth: the upstream refused vidgen's key (401/403),
	// so no job can run until an operator fixes the key.
	ErrNameUpstreamAuth = "UpstreamAuth"
	// ErrNameConfiguration: vidgen itself is not configured to run the
	// job (the upstream key secret is empty or missing).
	ErrNameConfiguration = "ConfigurationError"
)

// Terminal reports whether s is final: a terminal record never changes.
func (s Status) Terminal() bool { return s == Completed || s == Failed }

// rank orders statuses so that state only moves forward.
func (s Status) rank() int {
	switch s {
	case Queued:
		return 0
	case Generating:
		return 1
	case Completed, Failed:
		return 2
	}
	return -1
}

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool { return s.rank() >= 0 }

// Video is a finished job's result.
type Video struct {
	// URL is the upstream's link, a signed CDN URL that expires within
	// hours.
	URL      string   `json:"url"`
	Duration *float64 `json:"duration,omitempty"`
	// Key names vidgen's own copy of the video in the blob store
	// (internal/archive), empty if it could not be made. Clients never see
	// it: the API answers with a fresh link to the copy in place of URL.
	Key string `json:"key,omitempty"`
}

// Error says why a job failed.
type Error struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// Job is the durable record of one generation request.
type Job struct {
	ID      string  `json:"id"`
	Tenant  string  `json:"tenant"`
	Status  Status  `json:"status"`
	Request Request `json:"request"`

	// UpstreamID is the upstream generation id once the submit succeeded.
	UpstreamID string `json:"upstream_id,omitempty"`
	// SubmitStarted records the intent to submit, written before the POST.
	// An intent without an UpstreamID means a submit may be in flight or may
	// have been lost after the upstream accepted it; see internal/steps.
	SubmitStarted *time.Time `json:"submit_started,omitempty"`

	Video       *Video   `json:"video,omitempty"`
	Error       *Error   `json:"error,omitempty"`
	CreditsUsed *float64 `json:"credits_used,omitempty"`
	Polls       int      `json:"polls"`
	// CheckedAt is when the upstream last answered a poll (recorded with
	// the Polls it counts); nil before the first answer.
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	// Resumes counts the executions the reconciler started after the first
	// one was lost; execution n > 0 is named "<id>-r<n>".
	Resumes int `json:"resumes,omitempty"`

	// CallbackURL receives a signed webhook when the job ends. It may hold
	// the receiver's own token in its query, so it is never logged whole
	// nor shown in events.
	CallbackURL string `json:"callback_url,omitempty"`
	// Batch is set for a job that came from a scheduled batch.
	Batch *BatchItem `json:"batch,omitempty"`

	// Waiting is set while the job is held back by the caps on generations
	// in flight (Limits): it is not submitted until admitted.
	Waiting bool `json:"waiting,omitempty"`
	// Slot is set while the job counts against the caps: from its admission
	// until it ends, when the store gives the slot back in the same write.
	Slot bool `json:"slot,omitempty"`
	// ParkToken is the Step Functions task token of the execution parked
	// while the job waits for a slot (a job started directly or by a
	// batch has its execution already): whoever admits the job sends it,
	// which resumes the execution at once instead of it polling for the
	// slot. It is a credential for that execution, never shown to clients.
	ParkToken string `json:"park_token,omitempty"`
	// GenerationSeconds is how long the job may take once admitted. A job
	// that waits for a slot has Deadline bound its wait until it is
	// admitted; admission then moves Deadline to this many seconds on.
	GenerationSeconds int `json:"generation_seconds,omitempty"`

	// AnnounceClaimed and AnnouncedAt guard the announcement of the job's
	// end (its event): the first is when a Finish claimed it, the second
	// when the event went out. See ClaimAnnouncement.
	AnnounceClaimed *time.Time `json:"announce_claimed,omitempty"`
	AnnouncedAt     *time.Time `json:"announced_at,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Deadline is when the job is ended as TimedOut if it has not finished.
	Deadline time.Time `json:"deadline"`
}

// Store errors, shared by every store so callers can use errors.Is.
var (
	ErrNotFound = errors.New("job not found")
	ErrExists   = errors.New("job already exists")
	// ErrConflict means a change's condition did not hold: the job is
	// terminal, the change would move it backwards, or a submit claim is
	// already taken.
	ErrConflict = errors.New("job change conflicts with its current state")
	// ErrBadCursor means a list cursor was not one the store returned for
	// the same tenant.
	ErrBadCursor = errors.New("bad list cursor")
	// ErrFull means admitting a job would exceed a cap on generations in
	// flight.
	ErrFull = errors.New("no free slot for a generation")
)

// Limits cap the generations in flight: in all, and per tenant. Zero means
// no cap.
type Limits struct {
	Global, PerTenant int
}

// Enabled reports whether any cap applies.
func (l Limits) Enabled() bool { return l.Global > 0 || l.PerTenant > 0 }

// InFlight counts the jobs holding a slot.
type InFlight struct {
	Total    int
	ByTenant map[string]int
}

// Admits reports whether one more job of tenant fits under l.
func (f InFlight) Admits(l Limits, tenant string) bool {
	return (l.Global <= 0 || f.Total < l.Global) && (l.PerTenant <= 0 || f.ByTenant[tenant] < l.PerTenant)
}

// Change is a conditional update of a job record. It is declarative so that
// each store can apply it atomically: the embedded store in a transaction,
// DynamoDB as an update with a condition expression. The conditions are:
// the job is not terminal; Status (if set) does not move it backwards; a
// ClaimSubmit finds no earlier claim and no upstream id.
type Change struct {
	At          time.Time // becomes UpdatedAt
	Status      Status    // "" leaves the status as it is
	UpstreamID  string
	Video       *Video
	Error       *Error
	CreditsUsed *float64
	Polls       int  // added to Polls: the upstream answered this many times, the last at At (CheckedAt)
	CountResume bool // increments Resumes

	ClaimSubmit   bool // records SubmitStarted = At; fails if already claimed
	ReleaseSubmit bool // clears SubmitStarted after a submit that surely failed

	// Park records the task token of the execution parked until the job
	// is admitted; it fails unless the job still waits for a slot, so a
	// token written after the admission cannot be missed by its admitter.
	Park string
}

// Check reports whether c may be applied to j, returning ErrConflict (wrapped
// with the reason) when it may not.
func (c Change) Check(j Job) error {
	if j.Status.Terminal() {
		return fmt.Errorf("%w: job is %s", ErrConflict, j.Status)
	}
	if c.Status != "" {
		if !c.Status.Valid() {
			return fmt.Errorf("%w: unknown status %q", ErrConflict, c.Status)
		}
		if c.Status.rank() < j.Status.rank() {
			return fmt.Errorf("%w: %s cannot go back to %s", ErrConflict, j.Status, c.Status)
		}
	}
	if c.ClaimSubmit && (j.SubmitStarted != nil || j.UpstreamID != "") {
		return fmt.Errorf("%w: submit already claimed", ErrConflict)
	}
	if c.ClaimSubmit && j.Waiting {
		return fmt.Errorf("%w: job is waiting for a slot", ErrConflict)
	}
	if c.Park != "" && !j.Waiting {
		return fmt.Errorf("%w: job is not waiting for a slot", ErrConflict)
	}
	return nil
}

// Apply checks c against j and, when allowed, returns the changed job.
func (c Change) Apply(j Job) (Job, error) {
	if err := c.Check(j); err != nil {
		return j, err
	}
	if c.Status != "" {
		j.Status = c.Status
	}
	if c.UpstreamID != "" {
		j.UpstreamID = c.UpstreamID
	}
	if c.Video != nil {
		j.Video = c.Video
	}
	if c.Error != nil {
		j.Error = c.Error
	}
	if c.CreditsUsed != nil {
		j.CreditsUsed = c.CreditsUsed
	}
	j.Polls += c.Polls
	if c.Polls > 0 {
		at := c.At
		j.CheckedAt = &at
	}
	if c.CountResume {
		j.Resumes++
	}
	if c.ClaimSubmit {
		at := c.At
		j.SubmitStarted = &at
	}
	if c.ReleaseSubmit {
		j.SubmitStarted = nil
	}
	if c.Park != "" {
		j.ParkToken = c.Park
	}
	if j.Status.Terminal() {
		// An ended job waits for nothing and gives its slot back; the store
		// uncounts it in the same write.
		j.Waiting, j.Slot = false, false
	}
	j.UpdatedAt = c.At
	return j, nil
}

// Admit is the change that lets a waiting job be submitted, counting it
// against the caps; the store checks the caps in the same write. The
// generation's deadline runs from here: time spent waiting for a slot is
// not taken from it.
func Admit(j Job, at time.Time) (Job, error) {
	if j.Status.Terminal() || !j.Waiting {
		return j, fmt.Errorf("%w: job is not waiting for a slot", ErrConflict)
	}
	j.Waiting, j.Slot, j.UpdatedAt = false, true, at
	if j.GenerationSeconds > 0 {
		j.Deadline = at.Add(time.Duration(j.GenerationSeconds) * time.Second)
	}
	return j, nil
}

// Timeouts bound a job's life. Generation runs from the moment the job may
// be submitted: its registration, or its admission when it had to wait
// for a slot. Queue bounds that wait: a job not admitted within it ends
// TimedOut without ever being submitted.
type Timeouts struct {
	Generation, Queue time.Duration
}

// DefaultQueueTimeout is how long a job may wait for a slot when no queue
// timeout is configured.
const DefaultQueueTimeout = 6 * time.Hour

// Schedule sets the deadline of j, registered at now: Generation from now
// for a job that may be submitted at once; for one that waits for a slot,
// Queue from now, and Generation from its admission (Admit).
func (t Timeouts) Schedule(j *Job, now time.Time) {
	if !j.Waiting {
		j.Deadline, j.GenerationSeconds = now.Add(t.Generation), 0
		return
	}
	queue := t.Queue
	if queue <= 0 {
		queue = DefaultQueueTimeout
	}
	j.Deadline = now.Add(queue)
	j.GenerationSeconds = int(t.Generation.Round(time.Second) / time.Second)
}

// ExecutionName is the name of the job's current execution: the job id for
// the first, then "<id>-r<n>" for each the reconciler started.
func (j Job) ExecutionName() string {
	if j.Resumes == 0 {
		return j.ID
	}
	return fmt.Sprintf("%s-r%d", j.ID, j.Resumes)
}

// AnnounceName names the execution the reconciler starts only to announce
// the end of a job it ended itself, when no execution of the job ran.
func (j Job) AnnounceName() string { return j.ID + "-end" }

// MaxIDLength bounds a job id, which names its executions: Step Functions
// allows 80 characters, and vidgen appends "-r<n>" or "-end".
const MaxIDLength = 72

// CheckID says what is wrong with a job id chosen by a caller (the name of
// an execution started directly), or "". Ids name executions, blob keys and
// URLs, so they keep to letters, digits, '.', '_' and '-'.
func CheckID(id string) string {
	if len(id) > MaxIDLength {
		return fmt.Sprintf("must be at most %d characters: it becomes the job id", MaxIDLength)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "must use only letters, digits, '.', '_' and '-': it becomes the job id"
		}
	}
	return ""
}

// Fail is the change that ends a job as failed.
func Fail(at time.Time, name, message string) Change {
	return Change{At: at, Status: Failed, Error: &Error{Name: name, Message: message}}
}
