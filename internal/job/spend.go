package job

import (
	"fmt"
	"time"
)

// Filter narrows a tenant's listing: a field left "" matches every job.
type Filter struct {
	Status Status
	Model  string
}

// Matches reports whether j passes f.
func (f Filter) Matches(j Job) bool {
	return (f.Status == "" || j.Status == f.Status) && (f.Model == "" || j.Request.Model == f.Model)
}

// ErrNameSpendCap is the error name of a job that waited (for a slot, or
// in a batch) and was not submitted because its tenant had reached its
// daily spend cap meanwhile: nothing was charged for it.
const ErrNameSpendCap = "SpendCapReached"

// dayLayout names a UTC day, the period a spend counter sums.
const dayLayout = "2006-01-02"

// Day is the UTC day t falls on, as spend counters name it.
func Day(t time.Time) string { return t.UTC().Format(dayLayout) }

// ParseDay reads a day as Day writes it.
func ParseDay(s string) (time.Time, error) {
	t, err := time.Parse(dayLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: want YYYY-MM-DD: %w", s, err)
	}
	return t, nil
}

// Spend is what a tenant's jobs cost on one UTC day: the credits the
// upstream reported, counted on the day the job's record first carried
// them (a later change of a job's credits counts its difference on the
// day of that change). Stores keep it in counters updated by the write
// that records a job's credits, so reading it costs one read however many
// jobs ran.
type Spend struct {
	Day     string             `json:"day"`
	Credits float64            `json:"credits_used"`
	ByModel map[string]float64 `json:"by_model"`
}

// NextDay is when the UTC day of t ends: when a daily spend count starts
// again from zero.
func NextDay(t time.Time) time.Time {
	d := t.UTC()
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, time.UTC)
}

// CreditsDelta is what c adds to the credits recorded on j: the
// difference when c carries credits other than j's, else 0 and false.
func CreditsDelta(j Job, c Change) (float64, bool) {
	if c.CreditsUsed == nil || j.CreditsUsed != nil && *j.CreditsUsed == *c.CreditsUsed {
		return 0, false
	}
	prev := 0.0
	if j.CreditsUsed != nil {
		prev = *j.CreditsUsed
	}
	return *c.CreditsUsed - prev, true
}
