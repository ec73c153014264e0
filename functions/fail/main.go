// Command fail is the video_job step that records why a job failed (the state machine's Catch-all).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/failfn"
)

func main() {
	lambdafn.ExitOnHelp("fail")
	h, err := failfn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
