package api

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/job"
)

// MaxWait is the longest long-poll a query may ask for (wait, in seconds):
// with the reads around it, it stays under API Gateway's 30-s integration
// timeout (the api function's Timeout is 29 s).
const MaxWait = 25

// WaitInterval is how often a long-poll reads the job again. The record
// changes at most every few seconds (a Poll step's write, at least
// pollpolicy.MinTurn apart, or a window's one status write), so reading
// every second answers within a second of a change while costing one
// read per waiting second: in DynamoDB one strongly consistent GetItem of
// an item under 4 KB, 1 read unit (and, for a job waiting for a slot, one
// query of the waiting index: half a unit per ~40 jobs ahead of it).
const WaitInterval = time.Second

// LongPollReserve is the real time a long-poll leaves before its
// invocation's deadline, for its last read and the answer, so that a long
// wait never ends as Lambda's Sandbox.Timedout.
const LongPollReserve = 3 * time.Second

// parseWait reads the query's wait: absent is 0, otherwise a whole number
// of seconds from 0 to MaxWait.
func parseWait(q map[string]string) (time.Duration, events.APIGatewayV2HTTPResponse, bool) {
	v, ok := q["wait"]
	if !ok {
		return 0, events.APIGatewayV2HTTPResponse{}, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > MaxWait {
		return 0, validationResponse(&job.ValidationError{Fields: []job.FieldError{{Field: "wait",
			Message: "must be a whole number of seconds from 0 to " + strconv.Itoa(MaxWait)}}}), false
	}
	return time.Duration(n) * time.Second, events.APIGatewayV2HTTPResponse{}, true
}

// progress is what a long-poll watches: an answer differing in any of it
// ends the wait. The eta is left out: it moves on its own as time passes.
type progress struct {
	status       vidgen.Status
	polls, place int // place 0: no queue position
	video, error bool
}

func progressOf(g Generation) progress {
	p := progress{status: g.Status, polls: g.Polls, video: g.Video != nil, error: g.Error != nil}
	if g.QueuePosition != nil {
		p.place = *g.QueuePosition
	}
	return p
}

// longPoll waits up to wait, on the handler's Waiter, for j's progress to
// differ from g's (what the request found), reading the job every
// WaitInterval, and answers the job as last read: changed, ended, or as
// it was when the wait ran out, the client went away or the invocation's
// deadline neared. A failed read is retried at the next interval.
func (h *Handler) longPoll(ctx context.Context, j job.Job, g Generation, wait time.Duration) Generation {
	seen := progressOf(g)
	clk := h.Waiter
	if clk == nil {
		clk = h.Clock
	}
	until := clk.Now().Add(wait)
	for {
		step := min(WaitInterval, until.Sub(clk.Now()))
		if step <= 0 {
			return g
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < LongPollReserve+step {
			return g
		}
		if clk.Sleep(ctx, step) != nil {
			return g
		}
		cur, err := h.Store.Get(ctx, j.ID)
		if err != nil {
			if errors.Is(err, job.ErrNotFound) || ctx.Err() != nil {
				return g
			}
			h.Log.WarnContext(ctx, "long-poll read", "err", err)
			continue
		}
		g = h.generation(ctx, cur)
		if cur.Status.Terminal() || progressOf(g) != seen {
			return g
		}
	}
}
