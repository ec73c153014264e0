package dynamostore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/job"
)

// The sparse indexes are spread over shards; listing merges them back in
// the index's order, and a record written before the shards (its mark the
// old one value "1") is still listed.
func TestShardedIndexesListInOrder(t *testing.T) {
	client, table := newTable(t)
	s := dynamostore.New(client, dynamostore.Config{Table: table})
	ctx := t.Context()
	const n = 40
	var all []job.Job
	for i := range n {
		// Created out of order, deadlines in reverse, two tenants.
		j := sample(fmt.Sprintf("job-%02d", i), []string{"tenantA", "tenantB"}[i%2], t0().Add(time.Duration((i*7)%n)*time.Second))
		j.Deadline = t0().Add(time.Hour - time.Duration(i)*time.Minute)
		j.Waiting = true
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		all = append(all, j)
	}
	marks := map[string]bool{}
	legacy := ""
	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		if m, ok := it["open"].(*types.AttributeValueMemberS); ok {
			marks[m.Value] = true
			if m.Value != "1" {
				legacy = it["id"].(*types.AttributeValueMemberS).Value
			}
		}
	}
	if len(marks) < 4 {
		t.Errorf("%d jobs use %d index shards (%v), want them spread", n, len(marks), marks)
	}
	// One job of another shard was written before the indexes had shards:
	// its mark is the old one value.
	if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &table, Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: legacy}},
		UpdateExpression:          new("SET #o = :one, #w = :one"),
		ExpressionAttributeNames:  map[string]string{"#o": "open", "#w": "waiting"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberS{Value: "1"}},
	}); err != nil {
		t.Fatal(err)
	}

	byCreation := slices.Clone(all)
	slices.SortFunc(byCreation, func(a, b job.Job) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, k := range []int{1, 3, 7, n, n + 5} {
		got, err := s.Waiting(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		want := byCreation[:min(k, n)]
		if !slices.EqualFunc(got, want, func(a, b job.Job) bool { return a.ID == b.ID && a.Tenant == b.Tenant }) {
			t.Errorf("Waiting(%d) = %v, want %v", k, ids(got), ids(want))
		}
	}
	for _, j := range all {
		pos, err := s.QueuePosition(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		for _, o := range all {
			if o.Tenant == j.Tenant && o.CreatedAt.Before(j.CreatedAt) {
				want++
			}
		}
		if pos != want {
			t.Errorf("QueuePosition(%s) = %d, want %d", j.ID, pos, want)
		}
	}
	open, err := s.OpenJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byDeadline := slices.Clone(all)
	slices.SortFunc(byDeadline, func(a, b job.Job) int { return a.Deadline.Compare(b.Deadline) })
	if !slices.Equal(open, ids(byDeadline)) {
		t.Errorf("OpenJobs = %v, want %v", open, ids(byDeadline))
	}
}

func ids(jobs []job.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}
