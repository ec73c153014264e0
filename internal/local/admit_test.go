package local

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/vidgen/vidgen/internal/job"
)

// rounds is a passer that records each round's fresh jobs, admits as
// scripted, and holds the rounds it is told to until released.
type rounds struct {
	mu     sync.Mutex
	fresh  [][]string            // ids per round, sorted; nil for a round over the whole queue
	admits []int                 // what round i admits; none past the end
	errs   map[int]error         // what round i fails with
	hold   map[int]chan struct{} // round i waits until its channel closes
	passes int                   // passes begun
	ends   int                   // passes ended by End
}

func (r *rounds) Enabled() bool { return true }

func (r *rounds) Pass() roundPass {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.passes++
	return r
}

func (r *rounds) Round(_ context.Context, fresh ...job.Job) (int, error) {
	r.mu.Lock()
	i := len(r.fresh)
	var ids []string
	for _, j := range fresh {
		ids = append(ids, j.ID)
	}
	slices.Sort(ids)
	r.fresh = append(r.fresh, ids)
	n := 0
	if i < len(r.admits) {
		n = r.admits[i]
	}
	hold, err := r.hold[i], r.errs[i]
	r.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return n, err
}

func (r *rounds) End() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ends++
}

// seen is what r has recorded: each round's fresh jobs, the passes begun
// and ended.
func (r *rounds) seen() ([][]string, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.fresh), r.passes, r.ends
}

// waitRound waits until round i has begun.
func waitRound(r *rounds, i int) {
	for {
		if f, _, _ := r.seen(); len(f) > i {
			return
		}
		runtime.Gosched()
	}
}

// waitRunning waits until a round runs, or until none does.
func waitRunning(o *oneAdmission, running bool) {
	for {
		o.mu.Lock()
		now := o.running
		o.mu.Unlock()
		if now == running {
			return
		}
		runtime.Gosched()
	}
}

// waitQueued waits until n calls wait for the next round.
func waitQueued(o *oneAdmission, n int) {
	for {
		o.mu.Lock()
		queued := 0
		if o.next != nil {
			queued = len(o.next.fresh)
			if o.next.all {
				queued++ // the one that passed none
			}
		}
		o.mu.Unlock()
		if queued >= n {
			return
		}
		runtime.Gosched()
	}
}

// Calls that come during a round share the next, which is given all of
// their fresh jobs; each gets the count of the jobs admitted while it
// waited. The pass goes on while its rounds admit, and ends (End) at the
// first that admits none; an idle call then runs a round of a new pass at
// once.
func TestOneAdmissionSharesTheNextRound(t *testing.T) {
	hold := make(chan struct{})
	r := &rounds{admits: []int{10, 30}, hold: map[int]chan struct{}{0: hold}}
	o := &oneAdmission{passes: r}
	ctx := context.Background()
	first := make(chan int)
	go func() { n, _ := o.Admit(ctx, job.Job{ID: "a"}); first <- n }()
	waitRound(r, 0)
	var wg sync.WaitGroup
	counts := make([]int, 3)
	for i, id := range []string{"b", "c", "d"} {
		wg.Go(func() { counts[i], _ = o.Admit(ctx, job.Job{ID: id}) })
	}
	waitQueued(o, 3)
	close(hold)
	if n := <-first; n != 10 {
		t.Errorf("the first caller got %d, want its own round's 10", n)
	}
	wg.Wait()
	if !slices.Equal(counts, []int{40, 40, 40}) {
		t.Errorf("the second round's callers got %v, want the 10 + 30 admitted while they waited", counts)
	}
	waitRunning(o, false)
	fresh, passes, ends := r.seen()
	want := [][]string{{"a"}, {"b", "c", "d"}, {"b", "c", "d"}} // the third: the pass goes on after 30
	if !slices.EqualFunc(fresh, want, slices.Equal) || passes != 1 || ends != 1 {
		t.Fatalf("rounds %v in %d passes, %d ended; want %v in one, ended", fresh, passes, ends, want)
	}
	if n, _ := o.Admit(ctx, job.Job{ID: "e"}); n != 0 {
		t.Errorf("an idle call got %d, want its round's 0", n)
	}
	if fresh, passes, ends = r.seen(); len(fresh) != 4 || !slices.Equal(fresh[3], []string{"e"}) || passes != 2 || ends != 2 {
		t.Errorf("after an idle call: rounds %v, %d passes, %d ended", fresh, passes, ends)
	}
}

// A call waits for one round, not for the pass: the pass goes on after
// the round, on another goroutine, while the caller has its answer, and a
// call that comes meanwhile waits for the round after.
func TestOneAdmissionCallWaitsForOneRound(t *testing.T) {
	hold := make(chan struct{})
	r := &rounds{admits: []int{10, 5}, hold: map[int]chan struct{}{1: hold}}
	o := &oneAdmission{passes: r}
	ctx := context.Background()
	if n, err := o.Admit(ctx, job.Job{ID: "a"}); n != 10 || err != nil {
		t.Fatalf("got %d, %v; want the 10 of its round", n, err)
	}
	waitRound(r, 1) // the pass's next round, held
	second := make(chan int)
	go func() { n, _ := o.Admit(ctx, job.Job{ID: "b"}); second <- n }()
	waitQueued(o, 1)
	close(hold)
	if n := <-second; n != 5 {
		t.Errorf("the second caller got %d, want the 5 admitted while it waited", n)
	}
	waitRunning(o, false)
	fresh, passes, ends := r.seen()
	want := [][]string{{"a"}, {"a"}, {"b"}}
	if !slices.EqualFunc(fresh, want, slices.Equal) || passes != 1 || ends != 1 {
		t.Fatalf("rounds %v in %d passes, %d ended; want %v in one, ended", fresh, passes, ends, want)
	}
}

// A caller that passes no fresh jobs (a job's end) makes the shared round
// read the whole queue: with fresh jobs only, the Dispatcher would skip
// the queue when none of theirs fits, and the freed slot would stay empty.
func TestOneAdmissionRoundWithoutFreshReadsAll(t *testing.T) {
	hold := make(chan struct{})
	r := &rounds{hold: map[int]chan struct{}{0: hold}}
	o := &oneAdmission{passes: r}
	ctx := context.Background()
	done := make(chan struct{})
	go func() { o.Admit(ctx, job.Job{ID: "a"}); close(done) }()
	waitRound(r, 0)
	var wg sync.WaitGroup
	wg.Go(func() { o.Admit(ctx, job.Job{ID: "b"}) })
	wg.Go(func() { o.Admit(ctx) })
	waitQueued(o, 2)
	close(hold)
	<-done
	wg.Wait()
	if fresh, _, _ := r.seen(); len(fresh) != 2 || fresh[1] != nil {
		t.Fatalf("rounds %v, want [a] and then one over the whole queue", fresh)
	}
}

// A waiting caller whose context ends stops waiting; its round still runs.
func TestOneAdmissionCallerGivesUp(t *testing.T) {
	hold := make(chan struct{})
	r := &rounds{hold: map[int]chan struct{}{0: hold}}
	o := &oneAdmission{passes: r}
	done := make(chan struct{})
	go func() { o.Admit(context.Background(), job.Job{ID: "a"}); close(done) }()
	waitRound(r, 0)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() { _, err := o.Admit(ctx, job.Job{ID: "b"}); gaveUp <- err }()
	waitQueued(o, 1)
	cancel()
	if err := <-gaveUp; err != context.Canceled {
		t.Errorf("gave up with %v, want context.Canceled", err)
	}
	close(hold)
	<-done
	waitRunning(o, false)
	if fresh, _, _ := r.seen(); len(fresh) != 2 || !slices.Equal(fresh[1], []string{"b"}) {
		t.Errorf("rounds %v, want b's too", fresh)
	}
}

// A round that fails ends its pass, unrecorded (as Dispatcher.Admit
// returns a failure without its metrics), and its callers get the error;
// the next call begins a new pass.
func TestOneAdmissionFailedRoundEndsThePass(t *testing.T) {
	boom := errors.New("boom")
	r := &rounds{admits: []int{3}, errs: map[int]error{0: boom}}
	o := &oneAdmission{passes: r}
	ctx := context.Background()
	if n, err := o.Admit(ctx, job.Job{ID: "a"}); !errors.Is(err, boom) || n != 3 {
		t.Fatalf("got %d, %v; want the round's 3 and its error", n, err)
	}
	waitRunning(o, false)
	if n, err := o.Admit(ctx, job.Job{ID: "b"}); n != 0 || err != nil {
		t.Fatalf("next call: %d, %v", n, err)
	}
	if fresh, passes, ends := r.seen(); len(fresh) != 2 || passes != 2 || ends != 1 {
		t.Errorf("rounds %v in %d passes, %d ended; want 2 rounds, 2 passes, the second ended", fresh, passes, ends)
	}
}
