package lambdafn

import (
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/archive"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/upstream"
)

// AWSCallAllowance is what Budget counts for one AWS SDK call. Those calls
// have no timeout of their own but the invocation's (the SDK honours the
// context); DynamoDB, S3 and Step Functions answer in milliseconds, and
// the allowance covers the SDK's own retries, whose backoff load caps at
// sdkMaxBackoff.
const AWSCallAllowance = 2 * time.Second

// sdkMaxBackoff caps the SDK's backoff between its attempts of one call.
const sdkMaxBackoff = 500 * time.Millisecond

// ArchiveStoreAllowance is what Budget counts for storing a finished video
// in S3: up to archive's 200 MiB, which the upload bounds only by the
// invocation's context.
const ArchiveStoreAllowance = 30 * time.Second

// A budget is the work of one invocation on its longest path: AWS calls,
// and the HTTP timeouts and waits of everything else, each already
// multiplied by the in-function retries that repeat it.
type budget struct {
	awsCalls int
	other    time.Duration
}

func (b budget) total() time.Duration { return time.Duration(b.awsCalls)*AWSCallAllowance + b.other }

// budgets lists each function's longest path. A loop that the invocation's
// deadline bounds (admission's rounds, the reconciler's pass) counts one
// round: it stops early enough to finish that round.
func budgets() map[string]budget {
	// One admission round (internal/admission): in-flight counts, the
	// waiting index, the conditional admit and its read, and the start or
	// resume of the admitted job.
	const admitRound = 5
	return map[string]budget{
		// The key's hash lookup.
		"authorizer": {awsCalls: 1},
		// A submit: two offloaded images, the record (with its idempotency
		// claim), an admission round, the job read back, and the
		// execution's start with the API's own retries, which
		// api.DefaultStartBudget bounds — the longest route.
		// A long-poll (api.MaxWait) is a loop its deadline bounds: it
		// answers api.LongPollReserve before it at the latest, which covers
		// its last round (a read and a queue position).
		"api": {awsCalls: 2 + 1 + admitRound + 1, other: api.DefaultStartBudget},
		// Read, the upstream key, an offloaded image, the claim, the POST
		// (never retried in-function: at most once), then recording its
		// outcome, which persist tries three times.
		"submit": {awsCalls: 4 + 3, other: upstream.DefaultTimeout},
		// Read, the upstream key, a GET, a window of asks (the policy's
		// longest, plus a last ask), archiving the video found done
		// (download, then upload) and the record's update with a read
		// after a conflict; then, for a job it saw end, the finish
		// function's work (steps.Handlers.Finisher).
		"poll": {awsCalls: 5 + 4 + admitRound, other: upstream.DefaultTimeout +
			Policy().Adaptive.Window + upstream.DefaultTimeout +
			archive.DefaultTimeout + ArchiveStoreAllowance},
		// Read, end the job, read it back after a conflict.
		"fail": {awsCalls: 3},
		// Read, the announcement's claim, the event, its mark, an
		// admission round.
		"finish": {awsCalls: 4 + admitRound},
		// The record with its claim, two offloaded images, an admission
		// round; then the submit function's work (steps.Registrar.Submitter).
		"register": {awsCalls: 3 + admitRound + 4 + 3, other: upstream.DefaultTimeout},
		// Read, the webhook secret, one delivery attempt.
		"webhook": {awsCalls: 2, other: notify.DefaultTimeout},
		// A batch's results in S3: the manifest and its result files.
		"summarize": {awsCalls: 3},
		// One pass over the open jobs, bounded by its own deadline; one
		// job's repair (read, describe, end or start) and a round.
		"reconcile": {awsCalls: 4 + admitRound},
	}
}

// Budget is the longest one invocation of function fn (a directory under
// functions/) may take for its work to end on its own terms — an HTTP
// client's timeout, a Poll's window of asks, a retry loop's last try — rather
// than be cut off by Lambda's timeout as Sandbox.Timedout. template.yaml
// gives each function a Timeout above it and each Task state that invokes
// the function a TimeoutSeconds above that (TestTimeoutBudgets). Zero for
// an unknown function.
func Budget(fn string) time.Duration { return budgets()[fn].total() }
