package main

import (
	"fmt"
	"io"
)

// A target is one figure an issue set a goal for, with what this run
// measured. Every section of the benchmark adds its figures to one list so
// that the run ends with all of them side by side.
type target struct {
	figure   string // what is measured, e.g. "cost per 1,000 jobs"
	measured string // the figure, with its ratio to the baseline where the goal is one
	goal     string // the target, e.g. "≤ $0.27 (≤ 0.4× baseline)"
	met      bool
}

// targets collects the figures of one run.
type targets []target

// add records one figure.
func (ts *targets) add(figure, measured, goal string, met bool) {
	*ts = append(*ts, target{figure: figure, measured: measured, goal: goal, met: met})
}

// write prints every figure as a table row and one "target:" line each,
// the form scripts grep for.
func (ts targets) write(w io.Writer) {
	fmt.Fprintln(w, "| figure | measured | target | |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, t := range ts {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.figure, t.measured, t.goal, verdict(t.met))
	}
	fmt.Fprintln(w)
	for _, t := range ts {
		fmt.Fprintf(w, "target: %s: %s, target %s: %s\n", t.figure, t.measured, t.goal, verdict(t.met))
	}
}

// missed counts the figures that did not meet their targets.
func (ts targets) missed() int {
	n := 0
	for _, t := range ts {
		if !t.met {
			n++
		}
	}
	return n
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}
