//go:build race

package local_test

// raceEnabled reports a build with the race detector.
const raceEnabled = true
