// Command helloworld is the reference BenchmarkColdStart compares each
// function's cold start with: the smallest aws-lambda-go function, built
// and run exactly as they are, whose handler answers at once.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (string, error) { return "hello, world", nil })
}
