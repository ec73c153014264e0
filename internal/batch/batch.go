// Package batch sums up a scheduled batch. The batch itself is
// statemachine/video_batch.asl.json: a distributed Map runs one video_job
// execution per item (at most MaxConcurrency at once) and collects one small
// result per item; Summarize turns those into counts and the failures.
package batch

import (
	"context"
	"encoding/json"
	"sort"
	"unicode/utf8"

	"github.com/vidgen/vidgen/internal/job"
)

// MaxListed bounds the failed items a summary lists, so that a batch where
// everything failed still ends with an output Step Functions accepts; the
// rest are counted, and each is a job to query.
const MaxListed = 100

// Input is what the batch machine hands Summarize.
type Input struct {
	BatchID string   `json:"batch_id"`
	Results []Result `json:"results"`
}

// Result is one item's outcome, as the Map's item processor renders it:
// the ended job's id and status, or, for an execution that failed, its
// error name and cause. For a job that failed the cause is the job record
// as JSON text; for a request that was refused it is the Lambda error
// document naming the bad fields.
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
	// Counts has one entry per job status, plus "not_registered" for items
	// that never became a job (a refused request).
	Counts      map[string]int `json:"counts"`
	Failed      []Failure      `json:"failed"`
	FailedTotal int            `json:"failed_total"`
}

// Failure is one item that did not complete.
type Failure struct {
	Item  int       `json:"item"`
	ID    string    `json:"id,omitempty"` // "" when no job was made
	Error job.Error `json:"error"`
}

// NotRegistered counts items that never became a job.
const NotRegistered = "not_registered"

// Summarize counts the items per status and lists the failures in item
// order. It never fails on a result it cannot read fully: the batch has
// run by now, and its summary must not be lost to one odd cause.
func Summarize(_ context.Context, in Input) (Summary, error) {
	s := Summary{BatchID: in.BatchID, Total: len(in.Results), Counts: map[string]int{}, Failed: []Failure{}}
	results := append([]Result(nil), in.Results...)
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
	return s, nil
}

// failure reads what went wrong from a result's cause.
func failure(r Result) Failure {
	f := Failure{Item: r.Item, ID: r.ID, Error: job.Error{Name: r.Error, Message: truncate(r.Cause, 500)}}
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
