// Package states plays AWS Step Functions for the local runtime: Engine runs
// the real state-machine files on the ASL interpreter and persists each
// execution before every state, so executions resume after a crash;
// Services runs the startExecution integrations (.sync, .sync:2) on the
// same engine; callbacks and task tokens go through asl.Tasks.
package states
