// Command poll is the video_job step that polls the upstream once and decides the next wait.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/pollfn"
)

func main() {
	lambdafn.ExitOnHelp("poll")
	h, err := pollfn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
