// Package samtemplate reads a SAM template (template.yaml) the way the local
// runtime deploys it: the functions with their timeouts and environments,
// the state machines with their definition substitutions, the schedules and
// the parameters' defaults. It resolves intrinsic functions as far as a
// local run can and refuses what would fail to deploy. It runs nothing.
package samtemplate
