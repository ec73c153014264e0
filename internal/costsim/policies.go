package costsim

import (
	"time"

	"github.com/vidgen/vidgen/internal/pollpolicy"
)

// Baseline is the reference client's loop: a poll every 10 s.
func Baseline() Policy {
	return Policy{Name: "fixed 10 s (baseline)", New: func() pollpolicy.Policy {
		p := pollpolicy.Fixed()
		p.FirstPoll = map[int]time.Duration{5: 10 * time.Second, 10: 10 * time.Second}
		p.Interval = 10 * time.Second
		return p
	}}
}

// Policies are the ones make bench compares: the baseline, vidgen's fixed
// schedule before adaptive polling, the adaptive policy and variants of it
// that lost (kept to show why the chosen one won).
func Policies() []Policy {
	adaptive := func(name string, edit func(a *pollpolicy.Adaptive)) Policy {
		return Policy{Name: name, New: func() pollpolicy.Policy {
			p := pollpolicy.Learning()
			if edit != nil {
				edit(p.Adaptive)
			}
			return p
		}}
	}
	return []Policy{
		Baseline(),
		{Name: "fixed 20/35 s, then 5 s", New: pollpolicy.Fixed},
		adaptive("adaptive (default)", nil),
		adaptive("adaptive, ask every 1 s", func(a *pollpolicy.Adaptive) { a.Every = time.Second }),
		adaptive("adaptive, 120 s windows", func(a *pollpolicy.Adaptive) { a.Window = 120 * time.Second }),
		adaptive("adaptive, tail waits ≤ 30 s", func(a *pollpolicy.Adaptive) { a.MaxTail = 30 * time.Second }),
	}
}
