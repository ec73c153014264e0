package dynamostore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/gentime"
)

// The learned generation times (internal/gentime) are one item per model
// and video length in the jobs table, with the id genTimesPrefix + model +
// "#" + duration and one number attribute per filled slot, "s0" … "s99",
// in counts of gentime.Resolution. Such an item has no tenant, open or
// waiting attribute, so no index holds it; it never expires.
//
// The item stays under 1 KB (GenTimesItemSize), so recording a time, an
// unconditional UpdateItem of one attribute, costs one write unit, and an
// eventually consistent GetItem of it half a read unit.
const (
	genTimesPrefix = "gentime#"
	genTimesSlot   = "s"
)

func genTimesID(model string, duration int) string {
	return genTimesPrefix + model + "#" + strconv.Itoa(duration)
}

func isGenTimesID(id string) bool { return strings.HasPrefix(id, genTimesPrefix) }

// GenTimes returns the sample of model and duration by slot
// (gentime.Store): one eventually consistent GetItem, since a sample a
// second old decides as well as the latest.
func (s *Store) GenTimes(ctx context.Context, model string, duration int) ([]time.Duration, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(genTimesID(model, duration))})
	if err != nil {
		return nil, fmt.Errorf("read generation times: %w", err)
	}
	times := make([]time.Duration, gentime.Slots)
	for name, av := range out.Item {
		i, ok := genTimesIndex(name)
		n, isN := av.(*types.AttributeValueMemberN)
		if !ok || !isN {
			continue
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("read generation times: %s: %w", name, err)
		}
		times[i] = time.Duration(v) * gentime.Resolution
	}
	return times, nil
}

// genTimesIndex is the slot of attribute name, if it is one.
func genTimesIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, genTimesSlot)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0 && i < gentime.Slots && strconv.Itoa(i) == rest
}

// RecordGenTime puts took in slot of model and duration's sample
// (gentime.Store): one unconditional UpdateItem of that slot, which
// creates the item if need be.
func (s *Store) RecordGenTime(ctx context.Context, model string, duration int, slot int, took time.Duration) error {
	if slot < 0 || slot >= gentime.Slots || took < gentime.Resolution || took > gentime.MaxValue {
		return fmt.Errorf("record generation time: slot %d, time %v out of range", slot, took)
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(genTimesID(model, duration)),
		UpdateExpression:          new("SET #s = :t"),
		ExpressionAttributeNames:  map[string]string{"#s": genTimesSlot + strconv.Itoa(slot)},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberN{Value: strconv.FormatInt(int64(took/gentime.Resolution), 10)}},
	})
	if err != nil {
		return fmt.Errorf("record generation time: %w", err)
	}
	return nil
}

// GenTimesItemSize is the size DynamoDB bills for model and duration's
// item with every slot holding the largest value: the sum of the attribute
// names' and values' sizes, a number taking a byte per two significant
// digits plus one (DynamoDB's item size rules).
func GenTimesItemSize(model string, duration int) int {
	numberSize := func(v int64) int {
		digits := len(strings.TrimRight(strconv.FormatInt(v, 10), "0"))
		return (digits+1)/2 + 1
	}
	size := len(attrID) + len(genTimesID(model, duration))
	for i := range gentime.Slots {
		size += len(genTimesSlot+strconv.Itoa(i)) + numberSize(int64(gentime.MaxValue/gentime.Resolution))
	}
	return size
}
