package job

// RunBy reports whether the execution named execution may drive j: its
// current execution (ExecutionName: the job id, or "<id>-r<n>" for the n-th
// the reconciler started, n = Resumes), or, once j ended, the execution
// that only announces the end (AnnounceName). Only vidgen starts executions
// under these names with {"job_id"} as input, so a workflow's input cannot
// steer a job it does not run: any other execution naming j is refused.
func (j Job) RunBy(execution string) bool {
	return execution == j.ExecutionName() || (j.Status.Terminal() && execution == j.AnnounceName())
}
