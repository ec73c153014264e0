package costsim

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func smallRun(t *testing.T, p Policy, jobs int) Result {
	t.Helper()
	w := Reference()
	w.Jobs = jobs
	res, err := Run(context.Background(), Config{Workload: w, Policy: p, Latencies: ModelLatencies(),
		Template: "../../template.yaml", Deadline: 30 * time.Minute, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRunIsDeterministic runs the same workload twice: a discrete-event
// run must give the same figures, whatever the machine did meanwhile.
func TestRunIsDeterministic(t *testing.T) {
	p := Policies()[2]
	a, b := smallRun(t, p, 150), smallRun(t, p, 150)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs differ:\n%+v\n%+v", a.Usage, b.Usage)
	}
}

// TestBaselineFigures checks a baseline run against what its schedule
// implies: every job ends, none is lost; a completed job is noticed within
// one poll interval plus a GET; every job costs at least the states of a
// submit, one poll and the end.
func TestBaselineFigures(t *testing.T) {
	res := smallRun(t, Baseline(), 300)
	ended := 0
	for _, n := range res.Statuses {
		ended += n
	}
	if ended != 300 || res.Statuses["queued"] != 0 || res.Statuses["generating"] != 0 {
		t.Fatalf("statuses %v", res.Statuses)
	}
	if len(res.Lags) < 270 {
		t.Fatalf("%d completed of 300", len(res.Lags))
	}
	limit := 10*time.Second + ModelLatencies().UpstreamGet + ModelLatencies().Dynamo*4
	if res.Lags[0] < 0 || res.Lags[len(res.Lags)-1] > limit {
		t.Fatalf("lags from %s to %s, want within [0, %s]", res.Lags[0], res.Lags[len(res.Lags)-1], limit)
	}
	f := res.Figures(PublishedPrices())
	if f.Transitions < 12 || f.Invocations < 4 || f.UpstreamRequests < 2 || f.WRU < 4 {
		t.Fatalf("per job: %+v", f)
	}
}

// TestWorkloadMix checks the drawn workload against its shares.
func TestWorkloadMix(t *testing.T) {
	w := Reference()
	jobs := w.Generate()
	count := map[Kind]int{}
	tens := 0
	for _, j := range jobs {
		count[j.Kind]++
		if j.Duration == 10 {
			tens++
		}
		if j.Kind == LongTail && (j.GenTime < w.TailMin || j.GenTime > w.TailMax) {
			t.Fatalf("long tail of %s", j.GenTime)
		}
	}
	near := func(got int, share float64) bool {
		want := share * float64(len(jobs))
		return float64(got) > want*0.8 && float64(got) < want*1.2
	}
	if !near(count[Never], w.Never) || !near(count[LongTail], w.LongTails) || !near(count[Error], w.Errors) || !near(tens, w.Share10s) {
		t.Fatalf("mix %v, 10-s %d of %d", count, tens, len(jobs))
	}
	if !reflect.DeepEqual(jobs[:50], w.Generate()[:50]) {
		t.Fatal("the same seed drew another workload")
	}
}
