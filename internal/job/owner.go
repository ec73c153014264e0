package job

// RunBy reports whether the execution named execution may drive j: its
// current execution (ExecutionName: the job id, or "<id>-r<n>" for the n-th
// the reconciler started, n = Resumes), or, once j ended, the execution
// that only announces the end (AnnounceName). Only vidgen starts executions
// under these names with {"job_id"} as input, so a workflow's input cannot
// steer a job it does not run: any other execution naming j is refused.
//
// An execution a resume superseded is refused too (one that was only slow
// to start when the reconciler gave the job a new one): two executions
// driving one job could end it as SubmitOutcomeUnknown, each taking the
// other's submit for one whose outcome was lost.
func (j Job) RunBy(execution string) bool {
	return execution == j.ExecutionName() || (j.Status.Terminal() && execution == j.AnnounceName())
}
