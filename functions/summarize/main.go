// Command summarize is the batch state machine's last step: counts per
// status and the failed items.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/vidgen/vidgen/internal/batch"
)

func main() {
	lambda.Start(batch.Summarize)
}
