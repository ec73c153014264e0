// Package batch plans and sums up a batch. The batch itself is
// statemachine/video_batch.asl.json: a distributed Map hands chunks of
// items to child executions (Plan sizes them), each of which runs one
// video_job execution per item, one after another (at most MaxConcurrency
// children at once), and writes every chunk's outcomes to S3 with its
// ResultWriter, so that no state's payload grows with the batch; Summarize
// reads those files back and turns them into counts and the failures, and
// checks them against the batch's tolerated failures.
package batch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/vidgen/vidgen/internal/job"
)

// MaxListed bounds the failed items a summary lists, so that a batch where
// everything failed still ends with an output Step Functions accepts; the
// rest are counted, and each is a job to query.
const MaxListed = 100

// MaxMessage is the most bytes of a listed failure's message the summary
// keeps (then "…"), so that MaxListed failures stay far within a state's
// 256 KiB output whatever their causes say.
const MaxMessage = 500

// Objects reads the objects the batch's Map wrote: S3 in AWS, the data dir
// locally.
type Objects interface {
	Get(ctx context.Context, bucket, key string) ([]byte, error)
}

// Summarizer is the batch machine's last step.
type Summarizer struct{ Objects Objects }

// Input is what the batch machine hands Summarize: the Map state's result,
// which names the manifest of the files its ResultWriter wrote.
type Input struct {
	BatchID string `json:"batch_id"`
	Results MapRun `json:"results"`
	// The batch's thresholds: more failed items than either allows fails
	// the batch. Unset, any number may fail.
	ToleratedPercentage *float64 `json:"tolerated_failure_percentage,omitempty"`
	ToleratedCount      *float64 `json:"tolerated_failure_count,omitempty"`
}

// MapRun is a distributed Map state's result when it writes its results to
// S3.
type MapRun struct {
	MapRunArn           string `json:"MapRunArn"`
	ResultWriterDetails struct {
		Bucket string `json:"Bucket"`
		Key    string `json:"Key"`
	} `json:"ResultWriterDetails"`
}

// manifest is the manifest.json a ResultWriter writes: where the results
// of the children that succeeded, failed and never started are.
type manifest struct {
	DestinationBucket string `json:"DestinationBucket"`
	ResultFiles       map[string][]struct {
		Key string `json:"Key"`
	} `json:"ResultFiles"`
}

// child is one child execution (one item) in a results file. Input and
// Output are JSON text.
type child struct {
	Status string  `json:"Status"`
	Input  string  `json:"Input"`
	Output *string `json:"Output"`
	Error  string  `json:"Error"`
	Cause  string  `json:"Cause"`
}

// itemInput is the part of an item's input (the Map's ItemSelector) that
// says which item it is; a chunk's child has them in Items (the Map's
// ItemBatcher).
type itemInput struct {
	Index int         `json:"index"`
	Items []itemInput `json:"Items"`
}

// outcome is one item's output in a chunk's output: {"item", "id",
// "status"}, or {"item", "error", "cause"} for an item whose video_job
// execution failed (its error and cause).
type outcome struct {
	Item   int        `json:"item"`
	ID     string     `json:"id"`
	Status job.Status `json:"status"`
	Error  string     `json:"error"`
	Cause  string     `json:"cause"`
}

// Result is one item's outcome: the ended job's id and status (an item's
// output when its job completed), or, for an item whose job failed or was
// never made, the error name and cause of its child execution. For a job
// that failed the cause is the job record as JSON text; for a request that
// was refused it is the Lambda error document naming the bad fields.
type Result struct {
	Item   int        `json:"item"`
	ID     string     `json:"id,omitempty"`
	Status job.Status `json:"status,omitempty"`
	Error  string     `json:"error,omitempty"`
	Cause  string     `json:"cause,omitempty"`
}

// Summary is the batch execution's output.
type Summary struct {
	BatchID string `json:"batch_id"`
	Total   int    `json:"total"`
	// Counts has one entry per job status and one for "not_registered"
	// (items that never became a job: a refused request), zeros included.
	Counts      map[string]int `json:"counts"`
	Failed      []Failure      `json:"failed"`
	FailedTotal int            `json:"failed_total"`
	// Exceeded says more items failed than the batch tolerates; the batch
	// machine then fails with job.StateErrTooManyItemsFailed.
	Exceeded bool `json:"tolerated_failures_exceeded,omitempty"`
}

// Failure is one item that did not complete.
type Failure struct {
	Item  int       `json:"item"`
	ID    string    `json:"id,omitempty"` // "" when no job was made
	Error job.Error `json:"error"`
}

// NotRegistered counts items that never became a job.
const NotRegistered = "not_registered"

// Summarize reads the Map's results from its manifest on and sums them up.
// A results file it cannot read fails the step (the state machine retries
// it); an item it cannot make sense of counts as not registered, with what
// it could read: the batch has run by now, and its summary must not be lost
// to one odd entry.
func (s *Summarizer) Summarize(ctx context.Context, in Input) (Summary, error) {
	d := in.Results.ResultWriterDetails
	if d.Key == "" {
		return Summary{}, errors.New("input has no results.ResultWriterDetails.Key: the Map state must write its results with a ResultWriter")
	}
	raw, err := s.Objects.Get(ctx, d.Bucket, d.Key)
	if err != nil {
		return Summary{}, fmt.Errorf("read the manifest s3://%s/%s: %w", d.Bucket, d.Key, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Summary{}, fmt.Errorf("manifest s3://%s/%s: %w", d.Bucket, d.Key, err)
	}
	bucket := cmp.Or(m.DestinationBucket, d.Bucket)
	var results []Result
	for _, group := range []string{"SUCCEEDED", "FAILED", "PENDING"} {
		for _, f := range m.ResultFiles[group] {
			raw, err := s.Objects.Get(ctx, bucket, f.Key)
			if err != nil {
				return Summary{}, fmt.Errorf("read results s3://%s/%s: %w", bucket, f.Key, err)
			}
			var children []child
			if err := json.Unmarshal(raw, &children); err != nil {
				return Summary{}, fmt.Errorf("results s3://%s/%s: %w", bucket, f.Key, err)
			}
			for _, c := range children {
				results = append(results, c.results()...)
			}
		}
	}
	sum := Summarize(in.BatchID, results)
	sum.Exceeded = exceeded(sum.FailedTotal, sum.Total, in.ToleratedPercentage, in.ToleratedCount)
	return sum, nil
}

// exceeded reports whether failed items of total pass either threshold,
// as a distributed Map's ToleratedFailureCount and
// ToleratedFailurePercentage would if each item were its own child.
func exceeded(failed, total int, percentage, count *float64) bool {
	return count != nil && float64(failed) > *count ||
		percentage != nil && float64(failed)*100 > *percentage*float64(total)
}

// results reads the outcomes of a child execution's items: a chunk's
// (its input has Items), or a single item's.
func (c child) results() []Result {
	var in itemInput
	_ = json.Unmarshal([]byte(c.Input), &in) // a missing index reads as item 0
	if in.Items == nil {
		return []Result{c.result(in)}
	}
	var outs []outcome
	if c.Status == "SUCCEEDED" && c.Output != nil && json.Unmarshal([]byte(*c.Output), &outs) == nil && len(outs) == len(in.Items) {
		results := make([]Result, len(outs))
		for i, o := range outs {
			results[i] = o.result(in.Items[i].Index)
		}
		return results
	}
	// The chunk's child did not run all of its items to an outcome (it
	// failed, was aborted or never started): each item gets its error.
	results := make([]Result, len(in.Items))
	for i, it := range in.Items {
		results[i] = c.result(it) // a chunk's output read as an item's is Unexplained
	}
	return results
}

// result reads one item's outcome from a chunk's output.
func (o outcome) result(index int) Result {
	switch {
	case o.Error != "":
		return failedExecution(Result{Item: index}, o.Error, o.Cause)
	case o.ID != "":
		return Result{Item: index, ID: o.ID, Status: o.Status}
	}
	return Result{Item: index, Error: "Unexplained"}
}

// failedExecution fills in r from the error and cause of an item's failed
// video_job execution (States.TaskFailed of startExecution.sync:2, whose
// cause describes the execution: the job's error name, and its record, or
// the refusal, as the cause).
func failedExecution(r Result, name, cause string) Result {
	if name == "States.TaskFailed" {
		var exe struct{ Error, Cause, Status string }
		if json.Unmarshal([]byte(cause), &exe) == nil && exe.Error != "" {
			r.Error, r.Cause = exe.Error, exe.Cause
			return r
		}
		if exe.Status != "" {
			r.Error = exe.Status
			return r
		}
	}
	r.Error, r.Cause = name, cause
	return r
}

// result reads the outcome of the item in from a child execution that ran
// it alone, or that did not run its chunk through.
func (c child) result(in itemInput) Result {
	r := Result{Item: in.Index}
	switch {
	case c.Status == "SUCCEEDED" && c.Output != nil:
		// The item processor's own output: {"item", "id", "status"}.
		if json.Unmarshal([]byte(*c.Output), &r) == nil && r.ID != "" {
			r.Item = in.Index
			return r
		}
		return Result{Item: in.Index, Error: "Unexplained", Cause: truncate(*c.Output, 500)}
	case c.Status == "":
		return Result{Item: in.Index, Error: "NotStarted"}
	}
	return failedExecution(r, cmp.Or(c.Error, c.Status), c.Cause)
}

// Summarize counts the items per status and lists the failures in item
// order.
func Summarize(batchID string, results []Result) Summary {
	s := Summary{BatchID: batchID, Total: len(results), Failed: []Failure{}, Counts: map[string]int{
		string(job.Queued): 0, string(job.Generating): 0, string(job.Completed): 0, string(job.Failed): 0, NotRegistered: 0,
	}}
	results = append([]Result(nil), results...)
	sort.SliceStable(results, func(i, j int) bool { return results[i].Item < results[j].Item })
	for _, r := range results {
		if r.Error == "" && r.Status != job.Failed {
			s.Counts[string(r.Status)]++
			continue
		}
		f := failure(r)
		if f.ID == "" {
			s.Counts[NotRegistered]++
		} else {
			s.Counts[string(job.Failed)]++
		}
		s.FailedTotal++
		if len(s.Failed) < MaxListed {
			s.Failed = append(s.Failed, f)
		}
	}
	return s
}

// failure reads what went wrong from a result's cause.
func failure(r Result) Failure {
	f := Failure{Item: r.Item, ID: r.ID, Error: job.Error{Name: r.Error, Message: r.Cause}}
	var record struct {
		ID    string     `json:"id"`
		Error *job.Error `json:"error"`
	}
	var lambdaErr struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	switch {
	case json.Unmarshal([]byte(r.Cause), &record) == nil && record.ID != "":
		f.ID = record.ID
		if record.Error != nil {
			f.Error = *record.Error
		}
	case json.Unmarshal([]byte(r.Cause), &lambdaErr) == nil && lambdaErr.Message != "":
		f.Error.Message = lambdaErr.Message
	}
	if f.Error.Name == "" {
		f.Error.Name = "Failed"
	}
	// Whatever the message came from (a record, a Lambda error, a raw
	// cause), it is cut: the summary is a state's output, held to Step
	// Functions' 256 KiB, and an unknown model's message alone names every
	// catalogued model (4 KB), so MaxListed of them overflowed it.
	f.Error.Message = truncate(f.Error.Message, MaxMessage)
	return f
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
