// Command hellodynamodb is BenchmarkColdStart's second reference: the
// hello-world function (functions/internal/helloworld) that also reads one
// item of VIDGEN_TABLE with the SDK's DynamoDB client on each invocation,
// and nothing else: its AWS configuration is the region, the credentials
// and the endpoint from the environment, as lambdafn.Config reads them.
// Its cold start against the hello-world's is the least any function that
// calls DynamoDB through the SDK can reach: the DynamoDB packages'
// initialisers, the larger binary, and the client's first call.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func main() {
	getenv := os.Getenv
	cfg := aws.Config{
		Region:      getenv("AWS_REGION"),
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))),
	}
	if u := cmp.Or(getenv("AWS_ENDPOINT_URL_DYNAMODB"), getenv("AWS_ENDPOINT_URL")); u != "" {
		cfg.BaseEndpoint = &u
	}
	client, table := dynamodb.NewFromConfig(cfg), getenv("VIDGEN_TABLE")
	lambda.Start(func(ctx context.Context, _ json.RawMessage) (string, error) {
		// The jobs table's key (dynamostore): an id no job has.
		_, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table,
			Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "hellodynamodb"}}})
		return "hello, world", err
	})
}
