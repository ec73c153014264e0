// Command authorizer is the API Gateway HTTP API Lambda authorizer: it
// resolves each request's bearer key through the keys table.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/authorizerfn"
)

func main() {
	lambdafn.ExitOnHelp("authorizer")
	h, err := authorizerfn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
