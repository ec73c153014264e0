// Command summarize is the batch state machine's last step: counts per
// status and the failed items, read from the files the batch's Map wrote.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/summarizefn"
)

func main() {
	lambdafn.ExitOnHelp("summarize")
	h, err := summarizefn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
