package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/vidgen/vidgen"
)

// jobBar shows a waited job on stderr: its status, the time since the
// wait began and, when the API gives an eta, the expected time left and
// the share of the expected run done. It redraws on every change Wait
// reports and on a ticker in between, so the clock keeps moving while the
// job does not change.
type jobBar struct {
	bar  *progressbar.ProgressBar
	w    io.Writer
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	last *vidgen.Generation
}

// redraw is how often the bar moves while the job does not change.
const redraw = 250 * time.Millisecond

func (r *runner) newJobBar(id string) *jobBar {
	b := &jobBar{w: r.env.Stderr, stop: make(chan struct{}), done: make(chan struct{})}
	if r.json || r.env.NoProgress {
		close(b.done)
		return b // reports nothing
	}
	b.bar = progressbar.NewOptions(100,
		progressbar.OptionSetWriter(r.env.Stderr),
		progressbar.OptionSetDescription(id+" submitted"),
		progressbar.OptionSetWidth(24),
		progressbar.OptionSetPredictTime(false), // the eta comes from the API's model, not the bar's rate
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionThrottle(0),
	)
	go func() {
		defer close(b.done)
		t := time.NewTicker(redraw)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.render()
			}
		}
	}()
	return b
}

// update is Wait's progress callback.
func (b *jobBar) update(g vidgen.Generation) {
	b.mu.Lock()
	b.last = &g
	b.mu.Unlock()
	b.render()
}

func (b *jobBar) render() {
	if b.bar == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		return
	}
	desc, pct := describe(*b.last, time.Now())
	b.bar.Describe(desc)
	if err := b.bar.Set(pct); err != nil {
		return // a bar that cannot draw is no reason to stop waiting
	}
}

// finish draws the final state and ends the line.
func (b *jobBar) finish(g vidgen.Generation) {
	if b.bar == nil {
		return
	}
	close(b.stop)
	<-b.done
	if g.ID != "" {
		b.update(g)
	}
	if g.Status == vidgen.Completed {
		_ = b.bar.Finish()
	}
	_ = b.bar.Exit()
	fmt.Fprintln(b.w)
}

// describe is the bar's text and percentage for a job at now.
func describe(g vidgen.Generation, now time.Time) (string, int) {
	switch {
	case g.Status == vidgen.Completed:
		return g.ID + " completed", 100
	case g.Status == vidgen.Failed:
		return g.ID + " error", 0
	}
	desc := g.ID + " " + string(g.Status)
	if g.QueuePosition != nil {
		desc += fmt.Sprintf(" (#%d in line)", *g.QueuePosition)
	}
	if g.ETA == nil {
		return desc, 0
	}
	switch left, hi := g.ETA.At.Sub(now), g.ETA.Latest.Sub(now); {
	case left > 0:
		desc += ", ETA " + clockText(left)
	case hi > 0:
		desc += fmt.Sprintf(", ETA any moment (%.0f%% within %s)", 100*g.ETA.Confidence, clockText(hi))
	default:
		desc += ", taking longer than expected"
	}
	pct := 0
	if g.StartedAt != nil {
		if total := g.ETA.At.Sub(*g.StartedAt); total > 0 {
			pct = int(100 * now.Sub(*g.StartedAt) / total)
		}
	}
	return desc, min(max(pct, 0), 99) // 100 % means completed
}

// clockText is a duration as m:ss.
func clockText(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// newBytesBar counts the bytes of a download on stderr; done ends its
// line.
func (r *runner) newBytesBar() (w io.Writer, done func()) {
	if r.json || r.env.NoProgress {
		return io.Discard, func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(r.env.Stderr),
		progressbar.OptionSetDescription("downloading"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(100*time.Millisecond),
		// No spinner ticker: a bar of unknown length otherwise renders from
		// its own goroutine, which may write once more after Exit returned,
		// to a stderr the caller owns again. It renders as bytes arrive.
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(r.env.Stderr) }),
	)
	return bar, func() { _ = bar.Exit() }
}
