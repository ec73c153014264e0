// Package apigw plays API Gateway's HTTP API (payload format 2.0) for the
// local runtime: each HTTP request becomes the event API Gateway would
// send, the api function runs through the local Lambda emulation, and its
// response is written back as API Gateway writes it.
package apigw
