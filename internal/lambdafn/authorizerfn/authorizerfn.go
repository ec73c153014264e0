// Package authorizerfn builds the authorizer function's handler: it links
// the DynamoDB client alone.
package authorizerfn

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/dynamokeys"
	"github.com/vidgen/vidgen/internal/authorizer"
	"github.com/vidgen/vidgen/internal/lambdafn"
)

// New builds the authorizer function's handler: it resolves each request's
// bearer key through the keys table, remembering each answer for
// apikey.DefaultTTL, so a warm function reads a key once in that time.
func New(ctx context.Context, getenv func(string) string) (lambdafn.Handler[events.APIGatewayV2CustomAuthorizerV2Request, events.APIGatewayV2CustomAuthorizerSimpleResponse], error) {
	env, cfg, log, err := lambdafn.Load(ctx, "authorizer", getenv)
	if err != nil {
		return nil, err
	}
	keys := &apikey.Resolver{Store: dynamokeys.New(dynamodb.NewFromConfig(cfg), env[lambdafn.EnvKeysTable])}
	return (&authorizer.Authorizer{Keys: keys, Log: log}).Handle, nil
}
