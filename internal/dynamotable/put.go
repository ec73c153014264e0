package dynamotable

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrTaken reports that an item with the key was there already.
var ErrTaken = errors.New("an item with this key exists")

// Putter is the part of the DynamoDB client PutNew uses.
type Putter interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// PutNew writes item to table where no item has its key (keyAttr, the
// partition key's name). Where one has, it returns ErrTaken and the item
// that is there: the SDK retries a put whose answer was lost, and that
// retry finds the item its first attempt wrote, which the caller compares
// with its own to tell a retry from a taken key.
func PutNew(ctx context.Context, client Putter, table, keyAttr string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	expr, err := expression.NewBuilder().WithCondition(expression.Name(keyAttr).AttributeNotExists()).Build()
	if err != nil {
		return nil, err
	}
	_, err = client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &table,
		Item:                                item,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if failed, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return failed.Item, ErrTaken
	}
	if err != nil {
		return nil, fmt.Errorf("put into %s: %w", table, err)
	}
	return nil, nil
}
