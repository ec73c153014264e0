package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"

	"github.com/vidgen/vidgen/internal/blob"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
)

// An execution's input may name an existing job only when vidgen itself
// started the execution for that job: the API, the admission and the
// reconciler start executions with exactly {"job_id": id}, named after the
// job (job.Job.RunBy). The state machine sends every input with a job_id
// to Register's resume check before the loop touches the job, on AWS as
// locally, so a direct start, another workflow or a batch line cannot
// submit, poll, end or announce another tenant's job by naming it.

// namesJob reports whether input is an object with a job_id field, which
// no request has: Register takes it for a resume, and refuses it unless it
// is exactly vidgen's own {"job_id"} (resumeOf). video_job's Registered?
// Choice made the same test before issue 17 (IsPresent on $.job_id).
func namesJob(input json.RawMessage) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(input, &fields) != nil {
		return false
	}
	_, ok := fields["job_id"]
	return ok
}

// resumeOf returns the job id of an input of exactly {"job_id": "<id>"}.
func resumeOf(input json.RawMessage) (string, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(input, &fields); err != nil || len(fields) != 1 {
		return "", false
	}
	raw, ok := fields["job_id"]
	if !ok {
		return "", false
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return "", false
	}
	return id, true
}

// errNotRunBy refuses an execution that names a job it does not run. It
// reads the same whether the job exists or not, so it tells nothing about
// other tenants' jobs.
func errNotRunBy(execution string) error {
	return &job.ValidationError{Fields: []job.FieldError{{Field: "job_id",
		Message: fmt.Sprintf("names no job that execution %q runs: only the executions vidgen starts for a job it recorded "+
			"may pass job_id; start an execution with the request itself to register a new job", execution)}}}
}

// resume checks that input is exactly {"job_id": id} and that execution
// runs the recorded job id, and reports where the record stands.
func (r *Registrar) resume(ctx context.Context, input json.RawMessage, execution string) (Registration, error) {
	id, ok := resumeOf(input)
	if !ok {
		return Registration{}, &job.ValidationError{Fields: []job.FieldError{{Field: "job_id",
			Message: "is not a field of a request: only vidgen's own input {\"job_id\"} names a job it recorded"}}}
	}
	j, err := r.Store.Get(ctx, id)
	switch {
	case errors.Is(err, job.ErrNotFound):
		return Registration{}, errNotRunBy(execution)
	case err != nil:
		return Registration{}, &job.TransientError{Err: err}
	case !j.RunBy(execution):
		r.Log.WarnContext(logs.Job(ctx, id, j.Tenant, execution), "execution named a job it does not run; refused")
		return Registration{}, errNotRunBy(execution)
	}
	return Registration{JobID: j.ID, Step: Output{JobID: j.ID, Status: j.Status, Submitted: j.UpstreamID != ""}}, nil
}

// errNameTaken refuses a direct start whose name is the id of a job it did
// not record.
func errNameTaken() error {
	return &job.ValidationError{Fields: []job.FieldError{{Field: "execution name",
		Message: "is the id of an existing job: start the execution under another name"}}}
}

// foreign reports whether a job other than the one this execution would
// record holds the id already: another tenant's, or another request's.
// A job this execution recorded before (an attempt whose answer was lost)
// is its own.
func (r *Registrar) foreign(ctx context.Context, mine job.Job) (bool, error) {
	cur, found, err := r.recorded(ctx, mine.ID)
	if err != nil || !found {
		return false, err
	}
	same := cur.Tenant == mine.Tenant && cur.CallbackURL == mine.CallbackURL &&
		reflect.DeepEqual(cur.Batch, mine.Batch) && sameRequest(cur.Request, mine.Request)
	return !same, nil
}

// otherTenant reports whether another tenant's job holds mine's id: checked
// before images are written under keys named after the id, which would
// replace that job's.
func (r *Registrar) otherTenant(ctx context.Context, mine job.Job) (bool, error) {
	cur, found, err := r.recorded(ctx, mine.ID)
	return found && cur.Tenant != mine.Tenant, err
}

// recorded reads the job recorded under id, if any.
func (r *Registrar) recorded(ctx context.Context, id string) (job.Job, bool, error) {
	cur, err := r.Store.Get(ctx, id)
	switch {
	case errors.Is(err, job.ErrNotFound):
		return job.Job{}, false, nil
	case err != nil:
		return job.Job{}, false, &job.TransientError{Err: err}
	}
	return cur, true, nil
}

// sameRequest compares requests as recorded: images offloaded to the blob
// store by reference, whose keys derive from the job id. It compares the
// JSON values, numbers by value: the store normalises them (DynamoDB
// writes 10.0 and 1e1 as 10), so a retried Register must not take its own
// recorded job for another's because of the digits.
func sameRequest(a, b job.Request) bool {
	x, errA := decodeJSON(a)
	y, errB := decodeJSON(b)
	return errA == nil && errB == nil && sameJSON(x, y)
}

// decodeJSON is v's JSON encoding decoded, numbers as json.Number.
func decodeJSON(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// sameJSON reports whether two decoded JSON values are equal, numbers
// compared exactly by value whatever their digits.
func sameJSON(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		x, okA := new(big.Rat).SetString(a.String())
		y, okB := new(big.Rat).SetString(b.String())
		return okA && okB && x.Cmp(y) == 0
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, x := range a {
			y, ok := b[k]
			if !ok || !sameJSON(x, y) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	default: // string, bool, nil
		return a == b
	}
}

// offloads reports whether Register would write req's media to the blob
// store, under keys named after the job id.
func offloads(req job.Request) bool { return blob.Offloads(req) }
