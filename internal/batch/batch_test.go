package batch_test

import (
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
			want: batch.Summary{Counts: map[string]int{}, Failed: []batch.Failure{}},
		},
		{
			name: "all completed",
			in: []batch.Result{
				{Item: 1, ID: "j1", Status: job.Completed},
				{Item: 0, ID: "j0", Status: job.Completed},
			},
			want: batch.Summary{Total: 2, Counts: map[string]int{"completed": 2}, Failed: []batch.Failure{}},
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
				Counts: map[string]int{"completed": 2, "error": 3, batch.NotRegistered: 3},
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
				Total: 1, Counts: map[string]int{"error": 1},
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
			want: batch.Summary{Total: 2, Counts: map[string]int{"queued": 1, "generating": 1}, Failed: []batch.Failure{}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := batch.Input{BatchID: "nightly-2026-05-06", Results: tc.in}
			orig := append([]batch.Result(nil), tc.in...)

			got, err := batch.Summarize(t.Context(), in)
			if err != nil {
				t.Fatalf("Summarize: %v", err)
			}
			want := tc.want
			want.BatchID = in.BatchID
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Errorf("summary:\n got  %s\n want %s", g, w)
			}
			if !reflect.DeepEqual(in.Results, orig) {
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
	got, err := batch.Summarize(t.Context(), batch.Input{BatchID: "b", Results: results})
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != n || got.FailedTotal != n || got.Counts["error"] != n || len(got.Counts) != 1 {
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
	got, err := batch.Summarize(t.Context(), batch.Input{BatchID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"batch_id":"b","total":0,"counts":{},"failed":[],"failed_total":0}`; string(data) != want {
		t.Errorf("JSON = %s, want %s", data, want)
	}
	// The input arrives as the Map's results.
	var in batch.Input
	if err := json.Unmarshal([]byte(`{"batch_id":"b","results":[{"item":0,"error":"ValidationError","cause":`+
		strconvQuote(lambdaCause)+`},{"item":1,"id":"j1","status":"completed"}]}`), &in); err != nil {
		t.Fatal(err)
	}
	s, err := batch.Summarize(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts[batch.NotRegistered] != 1 || s.Counts["completed"] != 1 || len(s.Failed) != 1 ||
		s.Failed[0].Error.Name != "ValidationError" || !strings.HasPrefix(s.Failed[0].Error.Message, "invalid request: prompt:") {
		t.Errorf("summary of decoded input = %+v", s)
	}
}

// A cause cut to size stays valid UTF-8, so the message reads as sent.
func TestSummarizeTruncatesOnRuneBoundary(t *testing.T) {
	cause := strings.Repeat("€", 400) // 3 bytes each: 500 bytes fall inside a rune
	got, err := batch.Summarize(t.Context(), batch.Input{Results: []batch.Result{{Item: 0, Error: "States.Runtime", Cause: cause}}})
	if err != nil {
		t.Fatal(err)
	}
	msg := got.Failed[0].Error.Message
	if !utf8.ValidString(msg) {
		t.Errorf("message of %d bytes is not valid UTF-8: ends %q", len(msg), msg[len(msg)-6:])
	}
	if !strings.HasPrefix(cause, strings.TrimSuffix(msg, "…")) || len(msg) > 500+len("…") {
		t.Errorf("message of %d bytes is not a prefix of the cause cut to at most 500 bytes", len(msg))
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
