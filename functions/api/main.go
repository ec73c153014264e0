// Command api is the HTTP API Lambda behind API Gateway: submit and query.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
)

func main() {
	lambdafn.ExitOnHelp("api")
	h, err := lambdafn.API(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
