package local

import "runtime/debug"

// GCPercent is make run's garbage-collection target (runtime/debug's
// SetGCPercent, Go's GOGC) unless GOGC is set. The runtime's live heap is
// small, some 10 MB (the jobs live in the bbolt files' maps), and every
// request allocates through the Lambda emulation's JSON, so at Go's
// default of 100 the collector ran some 35 times in the load benchmark's
// 4,000 pairs, scanning every goroutine's stack each time, and its
// stop-the-world pauses, which wait for every thread the machine has
// descheduled, summed to over half a second on a busy machine. At 400 it
// runs about a quarter as often, for some 40 MB more memory.
const GCPercent = 400

// SetGC sets the process's garbage-collection target to GCPercent unless
// getenv("GOGC") sets one, and returns a function that puts back the one
// it replaced. vidgen-local calls it once; benchmarks of make run's
// configuration call it around their runs.
func SetGC(getenv func(string) string) (restore func()) {
	if getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(GCPercent)
	return func() { debug.SetGCPercent(old) }
}
