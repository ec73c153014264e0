package costsim

import (
	"context"
	"testing"
	"time"
)

// A fresh deployment whose upstream is slower than the prior says learns
// it: the poll function records a time per completed job that taught one
// (a write each), every function reads the stored times at most once per
// invocation, and the lag of later jobs falls below that of the first
// ones, which the prior scheduled.
func TestConvergeLearnsAndBillsTheModel(t *testing.T) {
	w := ConvergeWorkload(300, 40*time.Second, 75*time.Second)
	c, err := Converge(context.Background(), w, 100, "../../template.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	u := c.Result.Usage
	completed := c.Result.Statuses["completed"]
	t.Logf("%d jobs, %d completed: %d model writes, %d model reads in %d invocations over %s", w.Jobs, completed,
		u.ModelWrites, u.ModelReads, u.Invocations, c.Result.Simulated)
	if u.ModelWrites == 0 || u.ModelWrites > completed {
		t.Errorf("%d model writes for %d completed jobs; want some, at most one each", u.ModelWrites, completed)
	}
	if u.ModelReads == 0 || u.ModelReads > u.Invocations {
		t.Errorf("%d model reads in %d invocations; want some, at most one each", u.ModelReads, u.Invocations)
	}
	// Two keys (5-s and 10-s videos), two functions, a read per 30 s at
	// most: 300 jobs arrive over about 150 s, and the last ends within
	// the 30-minute deadline.
	if limit := 2 * 2 * int((c.Result.Simulated/(30*time.Second))+1); u.ModelReads > limit {
		t.Errorf("%d model reads over %s; the cache allows %d", u.ModelReads, c.Result.Simulated, limit)
	}
	if len(c.Blocks) != 3 || c.Blocks[0].From != 1 || c.Blocks[2].To != 300 {
		t.Fatalf("blocks %+v", c.Blocks)
	}
	first, last := c.Blocks[0].Mean, c.Blocks[2].Mean
	if first <= 0 || last <= 0 || last >= first {
		t.Errorf("mean lag of jobs 1–100 %v, of 201–300 %v; want it to fall as the model learns", first, last)
	}
}

// Usual keeps the lags of usual jobs only, and MeanLag averages the
// completed ones of a range.
func TestUsualAndMeanLag(t *testing.T) {
	w := Reference()
	w.Jobs = 400
	jobs := w.Generate()
	res := Result{JobLags: make([]time.Duration, len(jobs))}
	for i := range res.JobLags {
		res.JobLags[i] = time.Second
	}
	u := Usual(res, w)
	unusual := 0
	for i, j := range jobs {
		if j.Kind != Normal {
			unusual++
			if u.JobLags[i] != -1 {
				t.Errorf("job %d (%v) kept", i, j.Kind)
			}
		}
	}
	if unusual == 0 || res.JobLags[0] != time.Second {
		t.Fatalf("%d unusual jobs; the input was changed: %v", unusual, res.JobLags[0])
	}
	res.JobLags[0], res.JobLags[1], res.JobLags[2] = 3*time.Second, -1, 2*time.Second
	if got := MeanLag(res, 1, 3); got != 2500*time.Millisecond {
		t.Errorf("MeanLag(1, 3) = %v, want 2.5s", got)
	}
	if got := MeanLag(res, 401, 1000); got != 0 {
		t.Errorf("MeanLag past the jobs = %v, want 0", got)
	}
}
