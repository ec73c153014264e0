package local

import (
	"encoding/json"
	"os"
	"slices"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
)

// runsFile, in the data dir, lists the scaled clock's runs, one per start
// of the runtime: how each run's virtual time maps to wall time.
const runsFile = "clock-runs.json"

// wallTimes maps the scaled clock's times, which records keep, to the wall
// times they were read at, across restarts: a time falls in the last run
// that started at or before it. A time from before every known run maps
// at the wall clock's pace back from the first run's start: the clock ran
// no faster before it ran at all. That is exact for the times no run read,
// such as the end of a day before the data dir's first start (a list's
// usage.resets_at for a past usage_day), which scaled through the first
// run would land between the day's end and the start; a data dir older
// than runsFile has records whose mapping was never kept, and those it
// keeps in order.
type wallTimes []clock.Run

func (w wallTimes) Wall(t time.Time) time.Time {
	i, _ := slices.BinarySearchFunc(w, t, func(r clock.Run, t time.Time) int { return r.From.Compare(t) })
	// i is the first run starting after t (or at it, for an exact match).
	if i < len(w) && w[i].From.Equal(t) {
		return w[i].Wall(t)
	}
	if i == 0 {
		first := w[0]
		return first.At.Add(t.Sub(first.From))
	}
	return w[i-1].Wall(t)
}

// recordRun adds this start's run to the data dir's list and returns the
// list. The clock never runs backwards across restarts (NewScaledFrom), so
// the runs stay in order of their virtual start. A list that cannot be read
// starts over with this run; one that cannot be written costs only the
// exactness of later runs' answers for this run's times.
func recordRun(path string, run clock.Run) wallTimes {
	var runs wallTimes
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &runs)
	}
	runs = append(runs, run)
	if b, err := json.Marshal(runs); err == nil {
		tmp := path + ".tmp"
		if os.WriteFile(tmp, b, 0o600) == nil {
			os.Rename(tmp, path)
		}
	}
	return runs
}
