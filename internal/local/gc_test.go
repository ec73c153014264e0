package local

import (
	"runtime/debug"
	"testing"
)

// SetGC sets GCPercent and puts the old target back, and leaves a GOGC
// the environment sets alone.
func TestSetGC(t *testing.T) {
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	restore := SetGC(func(string) string { return "" })
	if got := debug.SetGCPercent(GCPercent); got != GCPercent {
		t.Errorf("target %d after SetGC, want %d", got, GCPercent)
	}
	restore()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("target %d after restore, want 150", got)
	}
	SetGC(func(k string) string {
		if k == "GOGC" {
			return "80"
		}
		return ""
	})()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("target %d with GOGC set, want 150 left alone", got)
	}
}
