// Command reconcile is the scheduled Lambda that ends or resumes jobs no
// execution drives any more.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/reconcilefn"
)

func main() {
	lambdafn.ExitOnHelp("reconcile")
	h, err := reconcilefn.New(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(h)
}
