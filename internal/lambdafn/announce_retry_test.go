package lambdafn_test

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
)

// retrier is one entry of a Task's Retry.
type retrier struct {
	ErrorEquals     []string
	IntervalSeconds *float64
	MaxAttempts     *int
	BackoffRate     *float64
	MaxDelaySeconds float64
	JitterStrategy  string
}

// minWait is the least time the retrier's attempts can take in all, with
// AWS's defaults (1 s, 3 attempts, rate 2.0) where a field is absent. Full
// jitter draws each delay from 0 up, so its least is nothing.
func (r retrier) minWait() time.Duration {
	if r.JitterStrategy == "FULL" {
		return 0
	}
	interval, attempts, rate := 1.0, 3, 2.0
	if r.IntervalSeconds != nil {
		interval = *r.IntervalSeconds
	}
	if r.MaxAttempts != nil {
		attempts = *r.MaxAttempts
	}
	if r.BackoffRate != nil {
		rate = *r.BackoffRate
	}
	var total float64
	for i := range attempts {
		d := interval * math.Pow(rate, float64(i))
		if r.MaxDelaySeconds > 0 {
			d = min(d, r.MaxDelaySeconds)
		}
		total += d
	}
	return time.Duration(total * float64(time.Second))
}

// A Finish that finds the announcement claimed by a step that died holding
// it cannot succeed until the claim's lease expires: the retrier that
// catches its AnnouncementBusyError (the first whose ErrorEquals names it,
// as Step Functions picks) must keep trying past the lease whatever the
// jitter draws, or the execution fails with the job ended and unannounced.
func TestAnnouncementRetryOutlastsLease(t *testing.T) {
	name := reflect.TypeFor[notify.AnnouncementBusyError]().Name() // the error name aws-lambda-go reports
	def, err := os.ReadFile("../../statemachine/video_job.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		States map[string]struct {
			Resource string
			Retry    []retrier
		}
	}
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatal(err)
	}
	finish, ok := m.States["Finish"]
	if !ok || finish.Resource != "${FinishFunctionArn}" {
		t.Fatalf("video_job has no Finish Task invoking FinishFunction: %+v", finish)
	}
	i := slices.IndexFunc(finish.Retry, func(r retrier) bool {
		return slices.Contains(r.ErrorEquals, name) || slices.Contains(r.ErrorEquals, "States.ALL")
	})
	if i < 0 {
		t.Fatalf("Finish does not retry %s", name)
	}
	if got := finish.Retry[i].minWait(); got <= job.AnnounceLease {
		t.Errorf("Finish's retrier for %s (%+v) may give up after %v, within the %v lease of a dead claimant",
			name, finish.Retry[i].ErrorEquals, got, job.AnnounceLease)
	}
}
