package catalog

import "time"

// DefaultDeadline is the deadline of a job whose model the catalogue does
// not hold (a record from before it, a test's): gen3a_turbo's, the
// deadline every job had before deadlines were per model.
const DefaultDeadline = 30 * time.Minute

// JobDeadline is how long a job of model may run, once it may be
// submitted, before it ends TimedOut: override when it is positive (an
// operator's VIDGEN_JOB_DEADLINE_SECONDS, template.yaml's
// JobDeadlineSeconds, for every model alike), else the model's catalogued
// Deadline (Kling master 45 min, most others 30 min), else
// DefaultDeadline.
func JobDeadline(model string, override time.Duration) time.Duration {
	if override > 0 {
		return override
	}
	if t, ok := TimingOf(model); ok {
		return t.Deadline
	}
	return DefaultDeadline
}
