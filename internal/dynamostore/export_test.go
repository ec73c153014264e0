package dynamostore

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/job"
)

// SetSlotCountsForTest overwrites the slot counters with f and keeps their
// version, as a drift would leave them: the contract (storetest) corrupts
// the counts with it to see RepairSlots mend them.
func (s *Store) SetSlotCountsForTest(ctx context.Context, f job.InFlight) error {
	_, version, err := s.counts(ctx)
	if err != nil {
		return err
	}
	item := map[string]types.AttributeValue{
		attrID:    &types.AttributeValueMemberS{Value: countsID},
		attrTotal: &types.AttributeValueMemberN{Value: strconv.Itoa(f.Total)},
	}
	if version != 0 {
		item[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(version, 10)}
	}
	for tenant, n := range f.ByTenant {
		item[tenantAttr(tenant)] = &types.AttributeValueMemberN{Value: strconv.Itoa(n)}
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return err
}

// IndexShards is how many shards each sparse index has: each listing
// queries them all.
const IndexShards = indexShards
