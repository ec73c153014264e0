// Package lambdas plays AWS Lambda for the local runtime: it invokes the
// very handler functions the deployed functions run, by function ARN,
// through aws-lambda-go's JSON handling, within each function's Timeout,
// and names their errors as Lambda and aws-lambda-go do. Faults injects
// Lambda's own failures (Sandbox.Timedout, Lambda.ServiceException, …) for
// tests.
package lambdas
