// Command finish is the video_job step that announces an ended job on
// EventBridge and shapes the execution's result.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/finishfn"
)

func main() {
	lambdafn.ExitOnHelp("finish")
	h, err := finishfn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
