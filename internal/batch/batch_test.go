package batch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/job"
)

// recordCause is a failed job's cause as video_job's Fail state gives it:
// the job's public record as JSON text.
func recordCause(id, name, message string) string {
	return fmt.Sprintf(`{"id":%q,"tenant":"team-a","status":"error","video":null,"error":{"name":%q,"message":%q},"meta":null}`, id, name, message)
}

// lambdaCause is the cause of a Register that refused the request: the
// Lambda error document.
const lambdaCause = `{"errorMessage":"invalid request: prompt: must be at most 1000 characters, got 1200","errorType":"ValidationError"}`

func TestSummarize(t *testing.T) {
	long := strings.Repeat("x", 700)
	for _, tc := range []struct {
		name string
		in   []batch.Result
		want batch.Summary // BatchID filled in
	}{
		{
			name: "no items",
			want: batch.Summary{Counts: counts(0, 0, 0, 0, 0), Failed: []batch.Failure{}},
		},
		{
			name: "all completed",
			in: []batch.Result{
				{Item: 1, ID: "j1", Status: job.Completed},
				{Item: 0, ID: "j0", Status: job.Completed},
			},
			want: batch.Summary{Total: 2, Counts: counts(0, 0, 2, 0, 0), Failed: []batch.Failure{}},
		},
		{
			name: "every kind of outcome, failures in item order",
			in: []batch.Result{
				// An execution that ended without error and cause (aborted) carries
				// no job id, so it counts as not registered.
				{Item: 5, Error: "ABORTED"},
				{Item: 4, Error: "States.Runtime", Cause: "not json: " + long},
				{Item: 3, Error: "ValidationError", Cause: lambdaCause},
				{Item: 2, Error: job.ErrNameTimedOut, Cause: recordCause("j2", job.ErrNameTimedOut, "the deadline passed")},
				{Item: 1, ID: "j1", Status: job.Completed},
				{Item: 0, ID: "j0", Status: job.Completed},
				{Item: 6, ID: "j6", Status: job.Failed},
				{Item: 7, Error: "GenerationFailed", Cause: recordCause("j7", "ContentModeration", "flagged")},
			},
			want: batch.Summary{
				Total:  8,
				Counts: counts(0, 0, 2, 3, 3),
				Failed: []batch.Failure{
					{Item: 2, ID: "j2", Error: job.Error{Name: job.ErrNameTimedOut, Message: "the deadline passed"}},
					{Item: 3, Error: job.Error{Name: "ValidationError", Message: "invalid request: prompt: must be at most 1000 characters, got 1200"}},
					{Item: 4, Error: job.Error{Name: "States.Runtime", Message: ("not json: " + long)[:500] + "…"}},
					{Item: 5, Error: job.Error{Name: "ABORTED"}},
					{Item: 6, ID: "j6", Error: job.Error{Name: "Failed"}},
					// The record's own error name wins over the execution's.
					{Item: 7, ID: "j7", Error: job.Error{Name: "ContentModeration", Message: "flagged"}},
				},
				FailedTotal: 6,
			},
		},
		{
			name: "a record cause without an error keeps the execution's name and the raw cause",
			in:   []batch.Result{{Item: 0, Error: "Cancelled", Cause: `{"id":"j0","status":"error"}`}},
			want: batch.Summary{
				Total: 1, Counts: counts(0, 0, 0, 1, 0),
				Failed:      []batch.Failure{{Item: 0, ID: "j0", Error: job.Error{Name: "Cancelled", Message: `{"id":"j0","status":"error"}`}}},
				FailedTotal: 1,
			},
		},
		{
			name: "a queued or generating item counts under its status",
			in: []batch.Result{
				{Item: 0, ID: "j0", Status: job.Queued},
				{Item: 1, ID: "j1", Status: job.Generating},
			},
			want: batch.Summary{Total: 2, Counts: counts(1, 1, 0, 0, 0), Failed: []batch.Failure{}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const batchID = "nightly-2026-05-06"
			orig := append([]batch.Result(nil), tc.in...)

			got := batch.Summarize(batchID, tc.in)
			want := tc.want
			want.BatchID = batchID
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("summary:\n got  %s\n want %s", g, w)
			}
			if !reflect.DeepEqual(tc.in, orig) {
				t.Error("Summarize reordered its input")
			}
			sum := 0
			for _, n := range got.Counts {
				sum += n
			}
			if sum != got.Total {
				t.Errorf("counts %v add up to %d, not the total %d", got.Counts, sum, got.Total)
			}
		})
	}
}

// A batch where everything failed still ends with an output of bounded
// size: the lowest MaxListed items are listed, all are counted.
func TestSummarizeCapsTheList(t *testing.T) {
	const n = batch.MaxListed + 50
	var results []batch.Result
	for i := n - 1; i >= 0; i-- {
		id := fmt.Sprintf("j%d", i)
		results = append(results, batch.Result{Item: i, Error: job.ErrNameTimedOut, Cause: recordCause(id, job.ErrNameTimedOut, "late")})
	}
	got := batch.Summarize("b", results)
	if got.Total != n || got.FailedTotal != n || !reflect.DeepEqual(got.Counts, counts(0, 0, 0, n, 0)) {
		t.Errorf("total %d, failed_total %d, counts %v; want %d failed", got.Total, got.FailedTotal, got.Counts, n)
	}
	if len(got.Failed) != batch.MaxListed {
		t.Fatalf("listed %d failures, want %d", len(got.Failed), batch.MaxListed)
	}
	for i, f := range got.Failed {
		if f.Item != i || f.ID != fmt.Sprintf("j%d", i) || f.Error.Name != job.ErrNameTimedOut {
			t.Fatalf("failure %d = %+v, want item %d", i, f, i)
		}
	}
}

// The summary's JSON is what the batch execution outputs: empty lists and
// maps are [] and {}, not null.
func TestSummaryJSON(t *testing.T) {
	got := batch.Summarize("b", nil)
	data, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	// Every status is listed, zeros included.
	if want := `{"batch_id":"b","total":0,"counts":{"completed":0,"error":0,"generating":0,"not_registered":0,"queued":0},"failed":[],"failed_total":0}`; string(data) != want {
		t.Errorf("JSON = %s, want %s", data, want)
	}
}

// A cause cut to size stays valid UTF-8, so the message reads as sent.
func TestSummarizeTruncatesOnRuneBoundary(t *testing.T) {
	cause := strings.Repeat("€", 400) // 3 bytes each: 500 bytes fall inside a rune
	got := batch.Summarize("", []batch.Result{{Item: 0, Error: "States.Runtime", Cause: cause}})
	msg := got.Failed[0].Error.Message
	if !utf8.ValidString(msg) {
		t.Errorf("message of %d bytes is not valid UTF-8: ends %q", len(msg), msg[len(msg)-6:])
	}
	if !strings.HasPrefix(cause, strings.TrimSuffix(msg, "…")) || len(msg) > 500+len("…") {
		t.Errorf("message of %d bytes is not a prefix of the cause cut to at most 500 bytes", len(msg))
	}
}

// counts is a summary's counts: queued, generating, completed, error and
// not registered.
func counts(queued, generating, completed, failed, notRegistered int) map[string]int {
	return map[string]int{"queued": queued, "generating": generating, "completed": completed, "error": failed,
		batch.NotRegistered: notRegistered}
}

// objects is an in-memory bucket.
type objects map[string]string

func (o objects) Get(_ context.Context, bucket, key string) ([]byte, error) {
	v, ok := o[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("no object %s/%s", bucket, key)
	}
	return []byte(v), nil
}

// childEntry is one child execution as a ResultWriter writes it.
func childEntry(t *testing.T, index int, status string, output any, errName, cause string) map[string]any {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"index": index, "request": map[string]any{"prompt": "p"}})
	e := map[string]any{"Input": string(in), "InputDetails": map[string]bool{"Included": true}, "Status": status,
		"Name": fmt.Sprintf("child-%d", index)}
	if output != nil {
		out, _ := json.Marshal(output)
		e["Output"], e["OutputDetails"] = string(out), map[string]bool{"Included": true}
	}
	if errName != "" {
		e["Error"], e["Cause"] = errName, cause
	}
	return e
}

// TestSummarizerReadsResultWriterFiles: Summarize reads the manifest the
// Map's ResultWriter wrote, then each results file, and sums them up: a
// job that failed is told from its child's description, a refused request
// from its Lambda error, a child never started is not registered.
func TestSummarizerReadsResultWriterFiles(t *testing.T) {
	jsonText := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	failedChild := jsonText(map[string]any{"Status": "FAILED", "Error": job.ErrNameTimedOut,
		"Cause": recordCause("j2", job.ErrNameTimedOut, "the deadline passed"), "Input": "{}"})
	refusedChild := jsonText(map[string]any{"Status": "FAILED", "Error": "ValidationError", "Cause": lambdaCause})
	succeeded := []any{
		childEntry(t, 1, "SUCCEEDED", map[string]any{"item": 1, "id": "j1", "status": "completed"}, "", ""),
		childEntry(t, 0, "SUCCEEDED", map[string]any{"item": 0, "id": "j0", "status": "completed"}, "", ""),
	}
	failed := []any{
		childEntry(t, 2, "FAILED", nil, "States.TaskFailed", failedChild),
		childEntry(t, 3, "FAILED", nil, "States.TaskFailed", refusedChild),
		childEntry(t, 4, "FAILED", nil, "StepFunctions.ExecutionLimitExceededException", "too many executions"),
	}
	pending := []any{childEntry(t, 5, "", nil, "", "")}
	bucket := objects{
		"b/results/run-1/manifest.json": jsonText(map[string]any{"DestinationBucket": "b", "MapRunArn": "arn:map-run",
			"ResultFiles": map[string]any{
				"SUCCEEDED": []any{map[string]any{"Key": "results/run-1/SUCCEEDED_0.json", "Size": 1}},
				"FAILED":    []any{map[string]any{"Key": "results/run-1/FAILED_0.json", "Size": 1}},
				"PENDING":   []any{map[string]any{"Key": "results/run-1/PENDING_0.json", "Size": 1}},
			}}),
		"b/results/run-1/SUCCEEDED_0.json": jsonText(succeeded),
		"b/results/run-1/FAILED_0.json":    jsonText(failed),
		"b/results/run-1/PENDING_0.json":   jsonText(pending),
	}
	var in batch.Input
	if err := json.Unmarshal([]byte(`{"batch_id":"nightly","results":{"MapRunArn":"arn:map-run",`+
		`"ResultWriterDetails":{"Bucket":"b","Key":"results/run-1/manifest.json"}}}`), &in); err != nil {
		t.Fatal(err)
	}
	got, err := (&batch.Summarizer{Objects: bucket}).Summarize(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := batch.Summary{BatchID: "nightly", Total: 6, Counts: counts(0, 0, 2, 1, 3), FailedTotal: 4,
		Failed: []batch.Failure{
			{Item: 2, ID: "j2", Error: job.Error{Name: job.ErrNameTimedOut, Message: "the deadline passed"}},
			{Item: 3, Error: job.Error{Name: "ValidationError", Message: "invalid request: prompt: must be at most 1000 characters, got 1200"}},
			{Item: 4, Error: job.Error{Name: "StepFunctions.ExecutionLimitExceededException", Message: "too many executions"}},
			{Item: 5, Error: job.Error{Name: "NotStarted"}},
		}}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("summary:\n got  %s\n want %s", g, w)
	}

	// A file the manifest names but the bucket lacks fails the step, which
	// the state machine retries.
	delete(bucket, "b/results/run-1/FAILED_0.json")
	if _, err := (&batch.Summarizer{Objects: bucket}).Summarize(t.Context(), in); err == nil {
		t.Error("Summarize with a results file missing succeeded")
	}
	if _, err := (&batch.Summarizer{Objects: bucket}).Summarize(t.Context(), batch.Input{BatchID: "b"}); err == nil {
		t.Error("Summarize without a manifest succeeded")
	}
}

// A summary is the Summarize state's output, which Step Functions holds to
// 256 KiB: MaxListed failures with long messages (an unknown model's names
// every catalogued model) must fit, whichever shape their causes take.
func TestSummaryFitsAStateOutput(t *testing.T) {
	long := strings.Repeat("model-id, ", 900) // 9,000 bytes
	lambda, _ := json.Marshal(map[string]string{"errorMessage": long, "errorType": "ValidationError"})
	var results []batch.Result
	for i := range batch.MaxListed + 20 {
		cause := [...]string{string(lambda), recordCause(fmt.Sprintf("j%d", i), "UpstreamRejected", long), long}[i%3]
		results = append(results, batch.Result{Item: i, Error: "ValidationError", Cause: cause})
	}
	s := batch.Summarize("b", results)
	for _, f := range s.Failed {
		if len(f.Error.Message) > batch.MaxMessage+len("…") {
			t.Fatalf("item %d: message of %d bytes, want at most %d and an ellipsis", f.Item, len(f.Error.Message), batch.MaxMessage)
		}
	}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > 256*1024 {
		t.Fatalf("summary of %d bytes, over a state's 262,144", len(out))
	}
}
