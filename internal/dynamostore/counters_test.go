package dynamostore_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/job"
)

// The slots are counted in several items, no one of which every admission
// writes, and still no more jobs than the global cap hold a slot, however
// many admit at once; every end gives its slot back to the item that gave
// it.
func TestCounterShardsKeepTheCap(t *testing.T) {
	client, table := newTable(t)
	s := dynamostore.New(client, dynamostore.Config{Table: table})
	ctx := t.Context()
	const n, global = 40, 16
	for i := range n {
		createAll(t, s, waitingSample(fmt.Sprintf("w%02d", i), fmt.Sprintf("tenant%d", i%4), t0().Add(time.Duration(i)*time.Second)))
	}
	limits := job.Limits{Global: global, PerTenant: 5}
	var (
		wg       sync.WaitGroup
		admitted atomic.Int32
	)
	for i := range n {
		wg.Go(func() {
			_, err := s.Admit(ctx, fmt.Sprintf("w%02d", i), limits, t0())
			switch {
			case err == nil:
				admitted.Add(1)
			case !errors.Is(err, job.ErrFull) && !errors.Is(err, job.ErrConflict):
				t.Errorf("admit w%02d: %v", i, err)
			}
		})
	}
	wg.Wait()
	f := inFlight(t, s)
	if int(admitted.Load()) != f.Total || f.Total > global {
		t.Fatalf("%d admitted, %d counted; want the counts to match and at most %d", admitted.Load(), f.Total, global)
	}
	for tenant, k := range f.ByTenant {
		if k > limits.PerTenant {
			t.Errorf("tenant %s holds %d slots, over its cap of %d", tenant, k, limits.PerTenant)
		}
	}
	// Top up to the cap one by one: every slot under it can be taken.
	for i := range n {
		_, _ = s.Admit(ctx, fmt.Sprintf("w%02d", i), limits, t0())
	}
	if f := inFlight(t, s); f.Total != global {
		t.Fatalf("%d in flight after admitting one by one, want the cap, %d", f.Total, global)
	}
	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	shards := 0
	for _, it := range out.Items {
		id := it["id"].(*types.AttributeValueMemberS).Value
		if strings.HasPrefix(id, "slot#counts") {
			if total, ok := it["total"].(*types.AttributeValueMemberN); ok && total.Value != "0" {
				shards++
			}
		}
	}
	if shards < 4 {
		t.Errorf("the slots are counted in %d items, want them spread", shards)
	}
	for i := range n {
		if _, err := s.Update(ctx, fmt.Sprintf("w%02d", i), job.Fail(t0(), job.ErrNameCancelled, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if f := inFlight(t, s); f.Total != 0 || len(f.ByTenant) != 0 {
		t.Fatalf("in flight %+v after every end, want none", f)
	}
	if before, after, err := s.RepairSlots(ctx); err != nil || before.Total != 0 || after.Total != 0 {
		t.Fatalf("repair after every end: %+v -> %+v, %v; want nothing to repair", before, after, err)
	}
}

// A job admitted before the counters had shards (no slot_shard) gives its
// slot back to the one item there was, slot#counts.
func TestLegacySlotGivenBackToTheFirstShard(t *testing.T) {
	client, table := newTable(t)
	s := dynamostore.New(client, dynamostore.Config{Table: table})
	ctx := t.Context()
	createAll(t, s, waitingSample("old", "tenantA", t0()))
	if _, err := s.Admit(ctx, "old", job.Limits{Global: 1}, t0()); err != nil {
		t.Fatal(err)
	}
	// As an older version left it: the slot in slot#counts, no shard named.
	if _, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &table, Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "old"}},
		UpdateExpression: new("REMOVE slot_shard"),
	}); err != nil {
		t.Fatal(err)
	}
	if before, _, err := s.RepairSlots(ctx); err != nil || before.Total != 1 {
		t.Fatalf("repair: read %+v, %v; want the one slot where it is", before, err)
	}
	if _, err := s.Update(ctx, "old", job.Fail(t0(), job.ErrNameCancelled, "x")); err != nil {
		t.Fatal(err)
	}
	if f := inFlight(t, s); f.Total != 0 {
		t.Fatalf("in flight %+v, want the slot back", f)
	}
	if before, after, err := s.RepairSlots(ctx); err != nil || before.Total != 0 || after.Total != 0 {
		t.Fatalf("repair: %+v -> %+v, %v; want nothing to repair", before, after, err)
	}
}
