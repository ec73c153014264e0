// Command webhook is the webhook state machine's step: one signed delivery
// attempt of an ended job to its callback_url.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/webhookfn"
)

func main() {
	lambdafn.ExitOnHelp("webhook")
	h, err := webhookfn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
