package apifn

import (
	"reflect"
	"testing"

	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/pollpolicy"
)

// The steps (submit, register's submit, poll) run design (c),
// pollpolicy.LongPoll, with the template's poll interval, and the api
// function estimates with the very same schedule: both take it from
// lambdafn.Policy.
func TestEstimatesFollowTheStepsPolicy(t *testing.T) {
	h := lambdafn.Steps(nil, nil, nil)
	env := map[string]string{lambdafn.EnvPollInterval: "7", lambdafn.EnvUpstreamURL: "http://127.0.0.1:1"}
	if err := lambdafn.UpstreamSteps(h, env, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := pollpolicy.LongPoll()
	if h.Policy.Adaptive == nil || *h.Policy.Adaptive != *want.Adaptive || h.Policy.Interval.Seconds() != 7 {
		t.Errorf("the steps run %+v (adaptive %+v), want pollpolicy.LongPoll with a 7-s interval", h.Policy, h.Policy.Adaptive)
	}
	est := estimator(nil, nil).Policy
	est.Interval = h.Policy.Interval // the one field estimates do not read
	if !reflect.DeepEqual(est, h.Policy) {
		t.Errorf("the api function estimates by %+v (adaptive %+v), the steps decide by %+v (adaptive %+v)",
			est, est.Adaptive, h.Policy, h.Policy.Adaptive)
	}
}
