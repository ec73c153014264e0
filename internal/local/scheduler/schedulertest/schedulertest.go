// Package schedulertest gives the tests of the local scheduler and of what
// drives it (the admin API) one set of schedules, covering every case a
// schedule can be in, and a namer for the executions they fire.
package schedulertest

import (
	"fmt"
	"sync"

	"github.com/vidgen/vidgen/internal/samtemplate"
)

// Schedules are schedules on the machine Echo (statestest.Echo), keyed by
// logical id: three ENABLED rate() ones, a DISABLED one, a cron() one, and
// three that cannot fire (a Lambda target, an input that did not resolve, a
// deleted machine). Each call makes a new map the test may change.
func Schedules() map[string]samtemplate.Schedule {
	in := `{"at": "<aws.scheduler.scheduled-time>", "from": "<aws.scheduler.schedule-arn>"}`
	return map[string]samtemplate.Schedule{
		"Every20": {LogicalID: "Every20", Expression: "rate(20 minutes)", State: "ENABLED", Target: "Echo", InputTemplate: in},
		"Hourly":  {LogicalID: "Hourly", Expression: "rate(1 hour)", State: "ENABLED", Target: "Echo", InputTemplate: in},
		"Off":     {LogicalID: "Off", Expression: "rate(1 minute)", State: "DISABLED", Target: "Echo", InputTemplate: in},
		"Nightly": {LogicalID: "Nightly", Expression: "cron(0 6 * * ? *)", State: "ENABLED", Target: "Echo", InputTemplate: in},
		"Lambda":  {LogicalID: "Lambda", Expression: "rate(1 minute)", State: "ENABLED", TargetNote: "the target Fn is not a state machine"},
		"Regional": {LogicalID: "Regional", Expression: "rate(1 minute)", State: "ENABLED", Target: "Echo",
			InputError: "${AWS::Region}: no local value"},
		"Gone": {LogicalID: "Gone", Expression: "rate(1 day)", State: "ENABLED", Target: "Deleted"},
	}
}

// Names names firings e-1, e-2, … in the order they ask; its zero value
// is ready.
type Names struct {
	mu sync.Mutex
	n  int
}

// Next is the next name.
func (c *Names) Next() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return fmt.Sprintf("e-%d", c.n)
}
