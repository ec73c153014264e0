package admission

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// SpendReader reads a tenant's credits on a UTC day (the stores' Spend).
type SpendReader interface {
	Spend(ctx context.Context, tenant, day string) (job.Spend, error)
}

// ParseCredits reads a daily cap's credits as its setting gives them: a
// finite number ≥ 0, 0 meaning no cap. Both runtimes read it so, so that
// NaN (which compares false with everything, so would cap nothing) or a
// negative cap stops either's start.
func ParseCredits(s string) (float64, error) {
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("must be a number of credits ≥ 0 (0: no cap), got %q", s)
	}
	return n, nil
}

// SpendCap is the per-tenant daily spend cap: once the credits recorded on
// a tenant's jobs today (UTC) reach Credits, none of its jobs is admitted,
// that is submitted upstream, until the day ends. The API refuses new
// jobs with 429; a job accepted earlier that has not been submitted yet
// (waiting for a slot, a batch's item, a direct start) ends with
// job.ErrNameSpendCap, without being charged.
//
// The upstream reports a job's credits only once it accepted the job, so
// the cap is "no new admission once today's recorded credits reach it":
// the jobs submitted before that may pass it, by their own credits.
type SpendCap struct {
	// Credits per tenant per UTC day; 0 or less is no cap.
	Credits float64
	Store   SpendReader
}

// Enabled reports whether a cap applies; a nil cap is none.
func (c *SpendCap) Enabled() bool { return c != nil && c.Credits > 0 && c.Store != nil }

// CapReachedError says that tenant's spend today reached its cap.
type CapReachedError struct {
	Cap, Spent float64
	Day        string    // the UTC day counted, YYYY-MM-DD
	Resets     time.Time // when the count starts again: the next UTC midnight
}

func (e *CapReachedError) Error() string {
	return fmt.Sprintf("the daily spend cap of %s credits is reached: %s credits recorded on %s (UTC); new jobs are admitted again from %s",
		credits(e.Cap), credits(e.Spent), e.Day, e.Resets.Format(time.RFC3339))
}

func credits(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// WallReset is reset, the end of a day on a clock that may run scaled, as
// the wall-clock time people read: stamp maps the clock's times to wall
// times (nil: the clock is the wall clock). It is in UTC and rounded up to
// a whole second: a message or answer shows it without a fraction (a scaled
// clock's midnight falls between wall seconds), and whoever waits until
// the time shown must find the day over.
func WallReset(reset time.Time, stamp func(time.Time) time.Time) time.Time {
	if stamp != nil {
		reset = stamp(reset)
	}
	w := reset.UTC()
	if s := w.Truncate(time.Second); s.Before(w) {
		return s.Add(time.Second)
	}
	return w
}

// Check returns a *CapReachedError when tenant may not have a job admitted
// at now, nil when it may (always without a cap), or the store's error.
func (c *SpendCap) Check(ctx context.Context, tenant string, now time.Time) error {
	if !c.Enabled() {
		return nil
	}
	day := job.Day(now)
	sp, err := c.Store.Spend(ctx, tenant, day)
	if err != nil {
		return fmt.Errorf("check spend cap: %w", err)
	}
	if sp.Credits < c.Credits {
		return nil
	}
	return &CapReachedError{Cap: c.Credits, Spent: sp.Credits, Day: day, Resets: job.NextDay(now)}
}
