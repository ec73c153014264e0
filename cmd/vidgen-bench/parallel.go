package main

import (
	"fmt"
	"log"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// parallel runs f for 0…n-1, as many at once as Go has processors, and
// returns the results in order. Each simulation is independent and
// deterministic (its own discrete-event clock, store and simulator), so
// running them side by side changes no figure, only how long the run takes.
func parallel[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = f(i)
		})
	}
	wg.Wait()
	return out
}

// timed runs one section of the benchmark and reports on stderr how long
// it took, in wall-clock time and in CPU time of the whole process (on a
// shared machine the wall time grows with others' load, the CPU time
// much less).
func timed(section string, f func()) {
	wall, cpu := time.Now(), cpuTime()
	f()
	fmt.Fprintf(os.Stderr, "time: %s: %s wall, %s CPU\n", section,
		time.Since(wall).Round(100*time.Millisecond), (cpuTime() - cpu).Round(100*time.Millisecond))
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// inTempDir runs run in a new temporary directory, removed after it, and
// ends the benchmark if run fails; what names the run in that message.
func inTempDir[T any](what string, run func(dir string) (T, error)) T {
	dir, err := os.MkdirTemp("", "vidgen-bench-")
	if err != nil {
		log.Fatal(err)
	}
	v, err := run(dir)
	os.RemoveAll(dir)
	if err != nil {
		log.Fatalf("%s: %v", what, err)
	}
	return v
}
