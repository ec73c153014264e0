// Command submit is the video_job step that submits a job to the upstream at most once.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
)

func main() {
	lambdafn.ExitOnHelp("submit")
	h, err := lambdafn.Submit(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
