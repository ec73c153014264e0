// Package scheduler plays EventBridge Scheduler for the local runtime: it
// fires the template's ENABLED rate() schedules on the virtual clock, and
// any schedule on demand, by starting executions on the local engine.
package scheduler
