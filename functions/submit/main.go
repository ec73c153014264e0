// Command submit is the video_job step that submits a job to the upstream at most once.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/submitfn"
)

func main() {
	lambdafn.ExitOnHelp("submit")
	h, err := submitfn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
