// Command api is the HTTP API Lambda behind API Gateway: submit and query.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/apifn"
)

func main() {
	lambdafn.ExitOnHelp("api")
	h, err := apifn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
