package api

import (
	"errors"
	"testing"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/metrics"
)

// The ends the API writes are recorded once each, by error name.
func TestAPIRecordsEnds(t *testing.T) {
	h, st, _ := newHandler(t)
	reg := metrics.NewRegistry()
	h.Metrics = metrics.New("test", reg, nil)
	ended := func(name string) float64 {
		v, _ := reg.Value(metrics.JobsEnded, "test",
			metrics.Label{Key: metrics.DimStatus, Value: string(job.Failed)}, metrics.Label{Key: metrics.DimError, Value: name})
		return v
	}

	h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody))
	cancel := request("DELETE", PathGenerations, "keyA", "", "")
	cancel.QueryStringParameters = map[string]string{"generation_id": "job-1"}
	for range 2 { // the repeat changes nothing
		if resp, _ := h.Handle(t.Context(), cancel); resp.StatusCode != 200 {
			t.Fatalf("cancel: %d %s", resp.StatusCode, resp.Body)
		}
	}
	if got := ended(job.ErrNameCancelled); got != 1 {
		t.Errorf("JobsEnded{Cancelled} = %v after a cancel and its repeat, want 1", got)
	}

	st.err = errors.New("throttled")
	if resp, _ := h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody)); resp.StatusCode != 503 {
		t.Fatalf("submit whose start fails: %d %s", resp.StatusCode, resp.Body)
	}
	if got := ended(job.ErrNameInternal); got != 1 {
		t.Errorf("JobsEnded{InternalError} = %v after a job that could not start, want 1", got)
	}
}
