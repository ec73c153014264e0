// Command register is the video_job step that records the job of an
// execution started directly, by another workflow or a batch.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/registerfn"
)

func main() {
	lambdafn.ExitOnHelp("register")
	h, err := registerfn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
