package dynamostore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/job"
)

// A sample's item stays under 1 KB even with every slot at the longest
// time and a model name far longer than any the upstream has, so that
// recording a time costs one write unit (costsim bills it so).
func TestGenTimesItemUnderOneKB(t *testing.T) {
	for _, model := range []string{job.Model, strings.Repeat("m", 80)} {
		if size := dynamostore.GenTimesItemSize(model, 10); size > 1024 {
			t.Errorf("the %q item is %d bytes, over 1 KB", model, size)
		}
	}
	// 100 names s0…s99 (290 bytes), 100 five-digit numbers (4 bytes each),
	// "id" and the id.
	if got, want := dynamostore.GenTimesItemSize("m", 5), 290+400+2+len("gentime#m#5"); got != want {
		t.Errorf("GenTimesItemSize(m, 5) = %d, want %d", got, want)
	}
}

// The item holds one number attribute per filled slot, in tenths of a
// second, under the documented id; GenTimes ignores attributes that are
// not slots.
func TestGenTimesItem(t *testing.T) {
	client, table := newTable(t)
	s := dynamostore.New(client, dynamostore.Config{Table: table})
	ctx := t.Context()
	if err := s.RecordGenTime(ctx, job.Model, 5, 42, 25300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	id := "gentime#" + job.Model + "#5"
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := out.Item["s42"].(*types.AttributeValueMemberN); !ok || n.Value != "253" || len(out.Item) != 2 {
		t.Fatalf("item = %v, want id and s42 = 253", out.Item)
	}
	for name, v := range map[string]types.AttributeValue{
		"s100": &types.AttributeValueMemberN{Value: "5"}, "s07": &types.AttributeValueMemberN{Value: "5"},
		"note": &types.AttributeValueMemberS{Value: "x"}, "s8": &types.AttributeValueMemberS{Value: "x"},
	} {
		if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &table, Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
			UpdateExpression: new("SET #n = :v"), ExpressionAttributeNames: map[string]string{"#n": name},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": v}}); err != nil {
			t.Fatal(err)
		}
	}
	times, err := s.GenTimes(ctx, job.Model, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range times {
		if want := map[int]time.Duration{42: 25300 * time.Millisecond}[i]; d != want {
			t.Errorf("slot %d = %v, want %v", i, d, want)
		}
	}
	if len(times) != gentime.Slots {
		t.Errorf("%d slots, want %d", len(times), gentime.Slots)
	}
}
