package dynamostore

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/job"
)

// SetSlotCountsForTest overwrites the slot counters with f and keeps their
// versions, as a drift would leave them: shard 0 holds f, the other shards
// nothing, and each tenant's item its count in f (the tenants the shards
// named before keep theirs unless f names them). The contract (storetest)
// corrupts the counts with it to see RepairSlots mend them.
func (s *Store) SetSlotCountsForTest(ctx context.Context, f job.InFlight) error {
	shards, err := s.readShards(ctx)
	if err != nil {
		return err
	}
	for k := range shards {
		item := map[string]types.AttributeValue{
			attrID:    &types.AttributeValueMemberS{Value: counterID(k)},
			attrTotal: &types.AttributeValueMemberN{Value: "0"},
		}
		if k == 0 {
			item[attrTotal] = &types.AttributeValueMemberN{Value: strconv.Itoa(f.Total)}
			for tenant, n := range f.ByTenant {
				item[tenantAttr(tenant)] = &types.AttributeValueMemberN{Value: strconv.Itoa(n)}
			}
		}
		if v := shards[k].version; v != 0 {
			item[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
		}
		if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
			return err
		}
	}
	for tenant, n := range f.ByTenant {
		_, v, err := s.tenantCounts(ctx, tenant)
		if err != nil {
			return err
		}
		item := map[string]types.AttributeValue{
			attrID:    &types.AttributeValueMemberS{Value: tenantItemID(tenant)},
			attrCount: &types.AttributeValueMemberN{Value: strconv.Itoa(n)},
		}
		if v != 0 {
			item[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
		}
		if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
			return err
		}
	}
	return nil
}

// IndexShards is how many shards each sparse index has: each listing
// queries them all.
const IndexShards = indexShards

// TenantItemIDForTest is the id of tenant's counter item.
func TenantItemIDForTest(tenant string) string { return tenantItemID(tenant) }

// SpendShard is the spend shard job id counts its credits in.
func SpendShard(id string) int { return spendShard(id) }
