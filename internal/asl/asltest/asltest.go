// Package asltest gives tests state machines parsed from definitions they
// write inline.
package asltest

import (
	"testing"

	"github.com/vidgen/vidgen/internal/asl"
)

// Machines parses the definitions (logical id → ASL), failing t on the
// first that does not parse.
func Machines(t testing.TB, defs map[string]string) map[string]*asl.Machine {
	t.Helper()
	machines := map[string]*asl.Machine{}
	for id, def := range defs {
		m, err := asl.Parse([]byte(def))
		if err != nil {
			t.Fatalf("parse %s: %v", id, err)
		}
		machines[id] = m
	}
	return machines
}
