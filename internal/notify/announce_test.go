package notify_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/notify"
)

// faultyPublisher fails its first fails publishes: before publishing, or,
// with published set, after (the event went out, the answer was lost).
type faultyPublisher struct {
	notify.Publisher
	fails     int
	published bool
}

func (p *faultyPublisher) Publish(ctx context.Context, e notify.Event) error {
	if p.fails == 0 {
		return p.Publisher.Publish(ctx, e)
	}
	p.fails--
	if p.published {
		if err := p.Publisher.Publish(ctx, e); err != nil {
			return err
		}
	}
	return errors.New("eventbridge: connection reset")
}

// A job's end is announced once, whatever happens to the Finish steps
// around it; each case counts the events after the steps settled.
func TestFinishAnnouncesOnce(t *testing.T) {
	const hook = "https://hooks.example.com/v"
	for _, tc := range []struct {
		name string
		// run drives Finish on e's job the way the fault has the state
		// machine drive it, on the manual clock.
		run        func(t *testing.T, e *finishEnv, clk *clock.Manual, id string)
		wantEvents int
	}{
		{name: "retried after its answer was lost", wantEvents: 1, run: func(t *testing.T, e *finishEnv, _ *clock.Manual, id string) {
			first := finish(t, e, id)
			if again := finish(t, e, id); !reflect.DeepEqual(again, first) {
				t.Errorf("retry's result %+v, want the first's %+v", again, first)
			}
		}},
		{name: "two executions of the job at once", wantEvents: 1, run: func(t *testing.T, e *finishEnv, _ *clock.Manual, id string) {
			// Each execution's Finish is retried, as the state machine does,
			// until it succeeds; the loser waits for the winner's mark.
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for {
						res, err := e.n.Finish(t.Context(), notify.FinishInput{JobID: id})
						if err == nil {
							if !res.Callback {
								t.Error("an execution that did not publish was not told to start the webhook")
							}
							return
						}
						if !isTransient(err) && !isBusy(err) {
							t.Errorf("Finish: %v, want success, a TransientError or an AnnouncementBusyError", err)
							return
						}
					}
				})
			}
			wg.Wait()
		}},
		{name: "claimant died before publishing", wantEvents: 1, run: func(t *testing.T, e *finishEnv, clk *clock.Manual, id string) {
			if _, err := e.store.ClaimAnnouncement(t.Context(), id, clk.Now(), job.AnnounceLease); err != nil {
				t.Fatal(err)
			}
			clk.Advance(job.AnnounceLease - time.Second)
			wantRetry(t, e, id, 0, isBusy)
			clk.Advance(time.Second)
			finish(t, e, id)
			finish(t, e, id)
		}},
		{name: "publish failed", wantEvents: 1, run: func(t *testing.T, e *finishEnv, clk *clock.Manual, id string) {
			e.n.Publisher = &faultyPublisher{Publisher: e.n.Publisher, fails: 1}
			wantRetry(t, e, id, 0, isTransient)
			wantRetry(t, e, id, 0, isBusy) // the claim holds until its lease expires
			clk.Advance(job.AnnounceLease)
			finish(t, e, id)
			finish(t, e, id)
		}},
		// The one window PutEvents leaves open: the event went out, the
		// step died before its mark. The next claimant publishes again,
		// with the same detail.id.
		{name: "died after publishing, before marking", wantEvents: 2, run: func(t *testing.T, e *finishEnv, clk *clock.Manual, id string) {
			e.n.Publisher = &faultyPublisher{Publisher: e.n.Publisher, fails: 1, published: true}
			wantRetry(t, e, id, 1, isTransient)
			wantRetry(t, e, id, 1, isBusy)
			clk.Advance(job.AnnounceLease)
			finish(t, e, id)
			finish(t, e, id)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFinishEnv(t, false)
			clk := clock.NewManual(finishStart.Add(time.Hour))
			e.n.Clock = clk
			j := e.ended(t, "job-once", job.Completed, "", hook)
			tc.run(t, e, clk, j.ID)

			events := e.published(t)
			if len(events) != tc.wantEvents {
				t.Fatalf("%d events, want %d", len(events), tc.wantEvents)
			}
			want, err := notify.NewEvent(j)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range events {
				if !reflect.DeepEqual(ev, want) {
					t.Errorf("event %+v, want %+v: every copy is the same", ev, want)
				}
			}
			if got := e.get(t, j.ID); got.AnnouncedAt == nil {
				t.Error("the record is not marked announced")
			}
		})
	}
}

// A follower's Finish makes sure the job it followed was announced before
// its execution ends: the job's own execution announces in the Poll that
// records the end, but one cut off in between announces only at its retry
// (or never, if that execution is gone). So the follower announces a job
// nobody announced, by the same claim; waits (AnnouncementBusyError) while
// another step holds the claim; and publishes nothing, leaving the record
// alone, once the job is marked announced. Any way, one event.
func TestFinishFollower(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, e *finishEnv, clk *clock.Manual, id string)
	}{
		{name: "nobody announced", run: func(t *testing.T, e *finishEnv, _ *clock.Manual, id string) {
			follow(t, e, id)
			follow(t, e, id)
		}},
		{name: "announced already", run: func(t *testing.T, e *finishEnv, _ *clock.Manual, id string) {
			finish(t, e, id)
			before := e.get(t, id)
			follow(t, e, id)
			if got := e.get(t, id); !reflect.DeepEqual(got, before) {
				t.Errorf("record changed: %+v, want %+v", got, before)
			}
		}},
		{name: "its own execution announcing", run: func(t *testing.T, e *finishEnv, clk *clock.Manual, id string) {
			if _, err := e.store.ClaimAnnouncement(t.Context(), id, clk.Now(), job.AnnounceLease); err != nil {
				t.Fatal(err)
			}
			if res, err := e.n.Finish(t.Context(), notify.FinishInput{JobID: id, Follow: true}); !isBusy(err) {
				t.Fatalf("follower's Finish = %+v, %v; want AnnouncementBusyError while the claim holds", res, err)
			}
			// The claimant died; the job's own Finish takes over once the
			// lease expired, and the follower's next attempt finds it marked.
			clk.Advance(job.AnnounceLease)
			finish(t, e, id)
			follow(t, e, id)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFinishEnv(t, false)
			clk := clock.NewManual(finishStart.Add(time.Hour))
			e.n.Clock = clk
			j := e.ended(t, "job-followed", job.Completed, "", "https://hooks.example.com/v")
			tc.run(t, e, clk, j.ID)
			if n := len(e.published(t)); n != 1 {
				t.Errorf("%d events, want 1", n)
			}
			if got := e.get(t, j.ID); got.AnnouncedAt == nil {
				t.Error("the record is not marked announced")
			}
		})
	}
}

// follow runs a follower's Finish, which must succeed.
func follow(t *testing.T, e *finishEnv, id string) {
	t.Helper()
	res, err := e.n.Finish(t.Context(), notify.FinishInput{JobID: id, Follow: true})
	if err != nil {
		t.Fatalf("follower's Finish: %v", err)
	}
	if !res.Callback {
		t.Error("Result.Callback = false for a job with a callback_url")
	}
}

func finish(t *testing.T, e *finishEnv, id string) notify.Result {
	t.Helper()
	res, err := e.n.Finish(t.Context(), notify.FinishInput{JobID: id})
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if !res.Callback {
		t.Error("Result.Callback = false for a job with a callback_url")
	}
	return res
}

// wantRetry checks that Finish fails with an error the state machine
// retries, of the kind is accepts, having published wantEvents events in
// all so far.
func wantRetry(t *testing.T, e *finishEnv, id string, wantEvents int, is func(error) bool) {
	t.Helper()
	res, err := e.n.Finish(t.Context(), notify.FinishInput{JobID: id})
	if !is(err) {
		t.Fatalf("Finish = %+v, %v; want a retried error of the other kind", res, err)
	}
	if n := len(e.published(t)); n != wantEvents {
		t.Fatalf("%d events so far, want %d", n, wantEvents)
	}
}

func isBusy(err error) bool {
	var b *notify.AnnouncementBusyError
	return errors.As(err, &b)
}

func (e *finishEnv) get(t *testing.T, id string) job.Job {
	t.Helper()
	j, err := e.store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
