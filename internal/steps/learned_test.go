package steps_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/steps"
)

// The learned times are the deployment's, not a function's: a Poll
// records what it measured in the store, and the Submit function, with a
// cache of its own, decides its first wait from it once its cached read
// is older than the TTL. The simulator queues 3 s.
func TestSubmitReadsWhatPollsLearned(t *testing.T) {
	e := newEnv(t)
	e.h.Policy = windowPolicy(nil)
	poller := *e.h
	poller.Learned = &gentime.Cache{Store: e.store, Clock: e.clk, Log: e.h.Log}
	submitter := *e.h
	submitter.Learned = &gentime.Cache{Store: e.store, Clock: e.clk, Log: e.h.Log, TTL: time.Minute}

	// Nothing learned: the prior's From, 12.183 s.
	j := e.newJob(validRequest("sim:gen=30 a cat", 5), jobDeadline)
	if out := e.submit(&submitter, steps.Input{JobID: j.ID}); out.WaitSeconds != 13 {
		t.Fatalf("first Submit waits %d s, want the prior's 13", out.WaitSeconds)
	}
	e.clk.Advance(20 * time.Second)
	// Asks at 20, 22, …, 34 s (the prior's window); done at 33 s.
	if out := e.poll(&poller, steps.Input{JobID: j.ID}); out.Status != job.Completed {
		t.Fatalf("Poll = %+v, want completed", out)
	}
	got, err := e.store.GenTimes(t.Context(), job.Model, 5)
	if err != nil {
		t.Fatal(err)
	}
	if slot := gentime.Slot(j.ID); got[slot] != 33*time.Second {
		t.Fatalf("slot %d of the stored sample = %v, want 33s (the middle of 32 s and 34 s)", slot, got[slot])
	}

	// Other Polls fill the sample with windowTimes.
	for i, d := range windowTimes() {
		if err := e.store.RecordGenTime(t.Context(), job.Model, 5, i, d); err != nil {
			t.Fatal(err)
		}
	}
	// The first read found nothing (the prior): it is read again after
	// gentime.PriorTTL, not the whole TTL.
	k := e.newJob(validRequest("a cat", 5), jobDeadline)
	if out := e.submit(&submitter, steps.Input{JobID: k.ID}); out.WaitSeconds != 18 {
		t.Errorf("Submit after PriorTTL waits %d s, want the learned From's 18 (17.405 s)", out.WaitSeconds)
	}
	// A learned snapshot holds for the TTL.
	for i := range 10 {
		if err := e.store.RecordGenTime(t.Context(), job.Model, 5, i, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Advance(time.Minute - time.Second)
	k = e.newJob(validRequest("a cat", 5), jobDeadline)
	if out := e.submit(&submitter, steps.Input{JobID: k.ID}); out.WaitSeconds != 18 {
		t.Errorf("Submit within the TTL waits %d s, want the cached 18", out.WaitSeconds)
	}
	e.clk.Advance(time.Second)
	k = e.newJob(validRequest("a cat", 5), jobDeadline)
	if out := e.submit(&submitter, steps.Input{JobID: k.ID}); out.WaitSeconds != 5 {
		t.Errorf("Submit after the TTL waits %d s, want 5 (the new sample's From, 0.75 s, stretched to pollpolicy.MinTurn)", out.WaitSeconds)
	}
}

// A job another writer ended (cancelled while the Poll asked) teaches
// nothing: the Poll's write conflicts, and the time it measured is not
// recorded.
func TestPollLearnsNothingFromAJobEndedElsewhere(t *testing.T) {
	e := windowEnv(t, nil)
	j := e.submitted(validRequest("sim:gen=30 a cat", 5), jobDeadline) // done at 33 s
	e.clk.Advance(20 * time.Second)
	e.tr.setAfter(func(r *http.Request, _ *http.Response) {
		if r.Method == http.MethodGet && e.clk.Now().Sub(t0) >= 34*time.Second {
			e.update(j.ID, job.Fail(e.clk.Now(), job.ErrNameCancelled, "cancelled by the client"))
		}
	})
	out := e.poll(e.h, steps.Input{JobID: j.ID})
	if out.Status != job.Failed {
		t.Fatalf("Poll = %+v, want the cancellation's end", out)
	}
	if got := e.get(j.ID); got.Error == nil || got.Error.Name != job.ErrNameCancelled {
		t.Fatalf("record = %+v, want the cancellation", got)
	}
	e.wantLearned(j.ID, 0)
}
