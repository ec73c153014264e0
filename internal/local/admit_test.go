package local

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/vidgen/vidgen/internal/job"
)

// passes is an inner Admitter that records each pass's fresh jobs and
// holds the first pass until released.
type passes struct {
	mu      sync.Mutex
	fresh   [][]string // ids per pass; nil for a pass over the whole queue
	release chan struct{}
}

func (p *passes) Enabled() bool { return true }

func (p *passes) Admit(_ context.Context, fresh ...job.Job) (int, error) {
	p.mu.Lock()
	first := len(p.fresh) == 0
	var ids []string
	for _, j := range fresh {
		ids = append(ids, j.ID)
	}
	p.fresh = append(p.fresh, ids)
	p.mu.Unlock()
	if first {
		<-p.release
	}
	return len(fresh) * 10, nil
}

// waitRunning waits until a pass runs, or until none does.
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

// waitQueued waits until n calls wait for the next pass.
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

// Calls that come while a pass runs share the next pass, which admits for
// all of their fresh jobs and gives each the count; the first pass is the
// first caller's own.
func TestOneAdmissionSharesThePassAfter(t *testing.T) {
	inner := &passes{release: make(chan struct{})}
	o := &oneAdmission{inner: inner}
	ctx := context.Background()
	first := make(chan int)
	go func() { n, _ := o.Admit(ctx, job.Job{ID: "a"}); first <- n }()
	waitRunning(o, true)
	var wg sync.WaitGroup
	counts := make([]int, 3)
	for i, id := range []string{"b", "c", "d"} {
		wg.Go(func() { counts[i], _ = o.Admit(ctx, job.Job{ID: id}) })
	}
	waitQueued(o, 3)
	close(inner.release)
	if n := <-first; n != 10 {
		t.Errorf("the first caller got %d, want its own pass's 10", n)
	}
	wg.Wait()
	if len(inner.fresh) != 2 || !slices.Equal(inner.fresh[0], []string{"a"}) {
		t.Fatalf("passes %v, want [a] and then one for b, c and d", inner.fresh)
	}
	second := slices.Sorted(slices.Values(inner.fresh[1]))
	if !slices.Equal(second, []string{"b", "c", "d"}) {
		t.Errorf("second pass for %v, want b, c and d", second)
	}
	if !slices.Equal(counts, []int{30, 30, 30}) {
		t.Errorf("the second pass's callers got %v, want its 30 each", counts)
	}
	// Idle again: the next call runs its own pass at once.
	if n, _ := o.Admit(ctx, job.Job{ID: "e"}); n != 10 || len(inner.fresh) != 3 {
		t.Errorf("an idle call got %d after passes %v", n, inner.fresh)
	}
}

// A caller that passes no fresh jobs (a job's end) makes the shared pass
// read the whole queue: with fresh jobs only, the Dispatcher would skip
// the queue when none of theirs fits, and the freed slot would stay empty.
func TestOneAdmissionPassWithoutFreshReadsAll(t *testing.T) {
	inner := &passes{release: make(chan struct{})}
	o := &oneAdmission{inner: inner}
	ctx := context.Background()
	done := make(chan struct{})
	go func() { o.Admit(ctx, job.Job{ID: "a"}); close(done) }()
	waitRunning(o, true)
	var wg sync.WaitGroup
	wg.Go(func() { o.Admit(ctx, job.Job{ID: "b"}) })
	wg.Go(func() { o.Admit(ctx) })
	waitQueued(o, 2)
	close(inner.release)
	<-done
	wg.Wait()
	if len(inner.fresh) != 2 || inner.fresh[1] != nil {
		t.Fatalf("passes %v, want [a] and then one over the whole queue", inner.fresh)
	}
}

// A waiting caller whose context ends stops waiting; the pass still runs.
func TestOneAdmissionCallerGivesUp(t *testing.T) {
	inner := &passes{release: make(chan struct{})}
	o := &oneAdmission{inner: inner}
	done := make(chan struct{})
	go func() { o.Admit(context.Background(), job.Job{ID: "a"}); close(done) }()
	waitRunning(o, true)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() { _, err := o.Admit(ctx, job.Job{ID: "b"}); gaveUp <- err }()
	waitQueued(o, 1)
	cancel()
	if err := <-gaveUp; err != context.Canceled {
		t.Errorf("gave up with %v, want context.Canceled", err)
	}
	close(inner.release)
	<-done
	waitRunning(o, false)
	if len(inner.fresh) != 2 || !slices.Equal(inner.fresh[1], []string{"b"}) {
		t.Errorf("passes %v, want b's too", inner.fresh)
	}
}
