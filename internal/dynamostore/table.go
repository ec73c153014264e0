package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/dynamotable"
)

// CreateTable creates a job table with the schema template.yaml declares,
// billed per request, waits until it is active and turns on its TTL. It is
// for tests and local tooling; deployed tables come from the template.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	err := dynamotable.Create(ctx, client, &dynamodb.CreateTableInput{
		TableName: &table,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: new(attrID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: new(attrTenant), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: new(attrCreatedAt), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: new(attrOpen), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: new(attrDeadline), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: new(attrWaiting), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: new(attrID), KeyType: types.KeyTypeHash},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: new(tenantIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: new(attrTenant), KeyType: types.KeyTypeHash},
				{AttributeName: new(attrCreatedAt), KeyType: types.KeyTypeRange},
			},
			// Keys only: List reads the records by key (see List).
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}, {
			IndexName: new(openIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: new(attrOpen), KeyType: types.KeyTypeHash},
				{AttributeName: new(attrDeadline), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}, {
			// Sparse: only jobs waiting for a slot carry "waiting". It
			// carries the tenant, so that Waiting reads the index alone.
			IndexName: new(waitingIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: new(attrWaiting), KeyType: types.KeyTypeHash},
				{AttributeName: new(attrCreatedAt), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{attrTenant}},
		}},
	})
	if err != nil {
		return err
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: &table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: new(attrExpiresAt),
			Enabled:       new(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on table %s: %w", table, err)
	}
	return nil
}
