package dynamokeys

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/dynamotable"
)

// CreateTable creates a key table with the schema template.yaml declares,
// billed per request, and waits until it is active. It is for tests and
// local tooling; the deployed table comes from the template.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	return dynamotable.Create(ctx, client, &dynamodb.CreateTableInput{
		TableName: &table,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: new(attrHash), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: new(attrTenant), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: new(attrHash), KeyType: types.KeyTypeHash},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  new(TenantIndex),
			KeySchema:  []types.KeySchemaElement{{AttributeName: new(attrTenant), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
}
