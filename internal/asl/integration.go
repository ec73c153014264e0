package asl

import (
	"encoding/json"
	"strings"
)

// Service integration patterns: the suffix of an optimized integration's
// Resource, arn:<partition>:states:::<service>:<action>[<pattern>].
const (
	patternRequestResponse = ""
	patternSync            = ".sync"
	patternSync2           = ".sync:2"
	patternCallback        = ".waitForTaskToken"
)

// lambdaInvoke is the optimized Lambda integration's service:action.
const lambdaInvoke = "lambda:invoke"

// An integration is a Task's Resource as Step Functions reads it.
type integration struct {
	service bool   // arn:<partition>:states:::…, an optimized integration
	action  string // "lambda:invoke", "states:startExecution", …; "" for other resources
	pattern string // one of the pattern constants
	base    string // the Resource the Invoker gets: a callback's request-response call
}

// parseResource splits a Task's Resource. Anything that is not an
// arn:<partition>:states:::<service>:<action> resource (a Lambda function
// ARN, an activity, a placeholder in tests) is a plain resource the Invoker
// runs as it is.
func parseResource(resource string) integration {
	partition, rest, ok := strings.Cut(strings.TrimPrefix(resource, "arn:"), ":states:::")
	if !ok || !strings.HasPrefix(resource, "arn:") || partition == "" || strings.Contains(partition, ":") {
		return integration{base: resource}
	}
	in := integration{service: true, base: resource}
	for _, p := range []string{patternCallback, patternSync2, patternSync} {
		if r, ok := strings.CutSuffix(rest, p); ok {
			in.pattern, rest = p, r
			break
		}
	}
	in.action = rest
	if in.pattern == patternCallback {
		in.base = strings.TrimSuffix(resource, patternCallback)
	}
	return in
}

// lambdaParams are the Parameters of arn:aws:states:::lambda:invoke that
// the interpreter supports.
var lambdaParams = []string{"FunctionName", "Payload"}

// lambdaResult is the task result of lambda:invoke: Lambda's Invoke
// response, with the Payload parsed from JSON text into a JSON value, as
// the optimized integration gives it. The fields are in the order AWS
// renders them.
type lambdaResult struct {
	ExecutedVersion     string          `json:"ExecutedVersion"`
	Payload             json.RawMessage `json:"Payload"`
	SdkHTTPMetadata     sdkHTTPMetadata `json:"SdkHttpMetadata"`
	SdkResponseMetadata sdkResponseMeta `json:"SdkResponseMetadata"`
	StatusCode          int             `json:"StatusCode"`
}

type sdkHTTPMetadata struct {
	AllHTTPHeaders map[string][]string `json:"AllHttpHeaders"`
	HTTPHeaders    map[string]string   `json:"HttpHeaders"`
	HTTPStatusCode int                 `json:"HttpStatusCode"`
}

type sdkResponseMeta struct {
	RequestID string `json:"RequestId"`
}

// newLambdaResult wraps a function's response as lambda:invoke returns it;
// the HTTP metadata is what a synchronous Invoke of $LATEST answers.
func newLambdaResult(payload json.RawMessage, requestID string) lambdaResult {
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	headers := map[string]string{
		"Connection":                     "keep-alive",
		"Content-Type":                   "application/json",
		"X-Amz-Executed-Version":         "$LATEST",
		"x-amzn-Remapped-Content-Length": "0",
		"x-amzn-RequestId":               requestID,
	}
	all := make(map[string][]string, len(headers))
	for k, v := range headers {
		all[k] = []string{v}
	}
	return lambdaResult{
		ExecutedVersion:     "$LATEST",
		Payload:             payload,
		SdkHTTPMetadata:     sdkHTTPMetadata{AllHTTPHeaders: all, HTTPHeaders: headers, HTTPStatusCode: 200},
		SdkResponseMetadata: sdkResponseMeta{RequestID: requestID},
		StatusCode:          200,
	}
}
