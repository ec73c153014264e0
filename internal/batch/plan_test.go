package batch_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vidgen/vidgen/internal/batch"
	"github.com/vidgen/vidgen/internal/job"
)

// TestItemsPerChild: each lane gets ten chunks at least, a chunk 1 to 24
// items: a small batch keeps one item per child (every lane busy), the
// batch of 10,000 with max_concurrency 25 takes 24.
func TestItemsPerChild(t *testing.T) {
	for _, tc := range []struct{ n, lanes, want int }{
		{0, 3, 1}, {8, 3, 1}, {150, 25, 1}, {500, 25, 2}, {1000, 25, 4}, {10000, 25, 24}, {10000, 50, 20}, {20000, 1000, 2}, {5, 0, 1},
	} {
		if got := batch.ItemsPerChild(tc.n, tc.lanes); got != tc.want {
			t.Errorf("%d items, %d lanes: %d per child, want %d", tc.n, tc.lanes, got, tc.want)
		}
	}
}

// TestPlan: Plan counts an inline list by the length it is given and a
// manifest by its non-blank lines, and refuses an input without either.
func TestPlan(t *testing.T) {
	var manifest []byte
	for range 1000 {
		manifest = append(manifest, "{\"prompt\":\"p\"}\n"...)
	}
	manifest = append(manifest, "\n  \n"...)
	s := &batch.Summarizer{Objects: objects{"b/batches/m.jsonl": string(manifest)}}
	hundred := 100
	for _, tc := range []struct {
		name string
		in   batch.PlanInput
		want int
	}{
		{"inline list", batch.PlanInput{MaxConcurrency: 2, Items: &hundred}, 5},
		{"manifest", batch.PlanInput{MaxConcurrency: 10, Manifest: &batch.Manifest{Bucket: "b", Key: "batches/m.jsonl"}}, 10},
	} {
		got, err := s.Handle(t.Context(), batch.Request{Plan: &tc.in})
		if err != nil || got != (batch.Plan{ItemsPerChild: tc.want}) {
			t.Errorf("%s: %+v %v, want %d per child", tc.name, got, err, tc.want)
		}
	}
	for _, in := range []batch.PlanInput{{MaxConcurrency: 5}, {Items: &hundred},
		{MaxConcurrency: 5, Manifest: &batch.Manifest{Bucket: "b", Key: "batches/none.jsonl"}}} {
		if _, err := s.Plan(t.Context(), in); err == nil {
			t.Errorf("plan %+v: no error", in)
		}
	}
}

// chunkEntry is a chunk's child execution as a ResultWriter writes it: its
// input holds the items (the ItemBatcher's Items), its output each item's
// outcome, or it has none when the child failed or never started.
func chunkEntry(t *testing.T, indexes []int, status string, outcomes []any, errName, cause string) map[string]any {
	t.Helper()
	items := make([]any, len(indexes))
	for i, n := range indexes {
		items[i] = map[string]any{"index": n, "request": map[string]any{"prompt": "p"}}
	}
	in, _ := json.Marshal(map[string]any{"Items": items})
	e := map[string]any{"Input": string(in), "Status": status}
	if outcomes != nil {
		out, _ := json.Marshal(outcomes)
		e["Output"] = string(out)
	}
	if errName != "" {
		e["Error"], e["Cause"] = errName, cause
	}
	return e
}

// TestSummarizerReadsChunks: a chunk's child reports each of its items, a
// job that failed (caught in the chunk) as the failed execution's error
// and cause; the items of a chunk whose child failed or never started get
// its error; and the batch's thresholds count items, not chunks.
func TestSummarizerReadsChunks(t *testing.T) {
	jsonText := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	failedExe := jsonText(map[string]any{"Status": "FAILED", "Error": job.ErrNameTimedOut,
		"Cause": recordCause("j2", job.ErrNameTimedOut, "the deadline passed")})
	refused := jsonText(map[string]any{"Status": "FAILED", "Error": "ValidationError", "Cause": lambdaCause})
	bucket := objects{
		"b/r/manifest.json": jsonText(map[string]any{"DestinationBucket": "b", "ResultFiles": map[string]any{
			"SUCCEEDED": []any{map[string]any{"Key": "r/SUCCEEDED_0.json"}},
			"FAILED":    []any{map[string]any{"Key": "r/FAILED_0.json"}},
			"PENDING":   []any{map[string]any{"Key": "r/PENDING_0.json"}},
		}}),
		"b/r/SUCCEEDED_0.json": jsonText([]any{
			chunkEntry(t, []int{0, 1, 2, 3}, "SUCCEEDED", []any{
				map[string]any{"item": 0, "id": "j0", "status": "completed"},
				map[string]any{"item": 1, "id": "j1", "status": "completed"},
				map[string]any{"item": 2, "error": "States.TaskFailed", "cause": failedExe},
				map[string]any{"item": 3, "error": "States.TaskFailed", "cause": refused},
			}, "", ""),
		}),
		"b/r/FAILED_0.json":  jsonText([]any{chunkEntry(t, []int{4, 5}, "FAILED", nil, "States.Runtime", "broken")}),
		"b/r/PENDING_0.json": jsonText([]any{chunkEntry(t, []int{6}, "", nil, "", "")}),
	}
	in := batch.Input{BatchID: "chunks"}
	in.Results.ResultWriterDetails.Bucket, in.Results.ResultWriterDetails.Key = "b", "r/manifest.json"
	s := &batch.Summarizer{Objects: bucket}
	got, err := s.Summarize(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := batch.Summary{BatchID: "chunks", Total: 7, Counts: counts(0, 0, 2, 1, 4), FailedTotal: 5,
		Failed: []batch.Failure{
			{Item: 2, ID: "j2", Error: job.Error{Name: job.ErrNameTimedOut, Message: "the deadline passed"}},
			{Item: 3, Error: job.Error{Name: "ValidationError", Message: "invalid request: prompt: must be at most 1000 characters, got 1200"}},
			{Item: 4, Error: job.Error{Name: "States.Runtime", Message: "broken"}},
			{Item: 5, Error: job.Error{Name: "States.Runtime", Message: "broken"}},
			{Item: 6, Error: job.Error{Name: "NotStarted"}},
		}}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("summary:\n got  %s\n want %s", g, w)
	}

	// 5 of 7 items failed: 71.4 %.
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name       string
		pct, count *float64
		want       bool
	}{
		{"no thresholds", nil, nil, false},
		{"72 %", f(72), nil, false},
		{"71 %", f(71), nil, true},
		{"5 items", nil, f(5), false},
		{"4 items", f(100), f(4), true},
	} {
		in.ToleratedPercentage, in.ToleratedCount = tc.pct, tc.count
		got, err := s.Handle(t.Context(), batch.Request{Input: in})
		if sum, ok := got.(batch.Summary); err != nil || !ok || sum.Exceeded != tc.want || sum.FailedTotal != 5 {
			t.Errorf("%s: %+v %v, want exceeded %v", tc.name, got, err, tc.want)
		}
	}
}
