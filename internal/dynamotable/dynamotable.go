// Package dynamotable is what the stores that own a DynamoDB table
// (dynamostore, apikey/dynamokeys) share: creating it for tests and local
// tooling (each store describes its schema, this waits the same way for
// each to become usable; deployed tables come from template.yaml), and
// writing an item only where none has its key.
package dynamotable

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Create creates the table in describes, billed per request, and waits
// until it is active.
func Create(ctx context.Context, client *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	in.BillingMode = types.BillingModePayPerRequest
	table := *in.TableName
	if _, err := client.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	// Poll from every second rather than every 20 s: a new on-demand table
	// is active within moments, a local one at once.
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &table}, 5*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	return nil
}
