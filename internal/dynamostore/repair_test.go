package dynamostore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/job"
)

// A slot taken or given back between a repair's read of the counters and
// its write makes the repair back off from the items it moved (their
// recount no longer holds) and the next repair counts the change in.
func TestRepairBacksOffARacingSlotChange(t *testing.T) {
	drift := job.InFlight{Total: 5, ByTenant: map[string]int{"tenantA": 5}}
	for _, tc := range []struct {
		name string
		// race changes the slots between the read and the write.
		race func(ctx context.Context, other *dynamostore.Store) error
		// raced is what the counters read right after the race: the drift
		// moved by the race's change alone.
		raced, after job.InFlight
	}{
		{"admission", func(ctx context.Context, other *dynamostore.Store) error {
			_, err := other.Admit(ctx, "a2", job.Limits{}, t0())
			return err
		}, job.InFlight{Total: 6, ByTenant: map[string]int{"tenantA": 6}}, job.InFlight{Total: 2, ByTenant: map[string]int{"tenantA": 2}}},
		{"end", func(ctx context.Context, other *dynamostore.Store) error {
			_, err := other.Update(ctx, "a1", job.Fail(t0(), job.ErrNameCancelled, "x"))
			return err
		}, job.InFlight{Total: 4, ByTenant: map[string]int{"tenantA": 4}}, job.InFlight{Total: 0, ByTenant: map[string]int{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, table := newTable(t)
			ctx := t.Context()
			cfg := dynamostore.Config{Table: table, IndexLag: -1}
			other := dynamostore.New(client, cfg)
			createAll(t, other, waitingSample("a1", "tenantA", t0()), waitingSample("a2", "tenantA", t0()))
			if _, err := other.Admit(ctx, "a1", job.Limits{}, t0()); err != nil {
				t.Fatal(err)
			}
			if err := other.SetSlotCountsForTest(ctx, drift); err != nil {
				t.Fatal(err)
			}
			hook := &hookClient{Client: client, beforePut: func() {
				if err := tc.race(ctx, other); err != nil {
					t.Error(err)
				}
			}}
			s := dynamostore.New(hook, cfg)
			before, _, err := s.RepairSlots(ctx)
			if !errors.Is(err, job.ErrConflict) || before.Total != drift.Total {
				t.Fatalf("raced repair: read %+v, %v; want the drift read and ErrConflict", before, err)
			}
			// Each counter item is repaired on its own: the ones the race
			// moved (tenantA's item, always) are left as they are.
			if slices.Contains(hook.written(), dynamostore.TenantItemIDForTest("tenantA")) {
				t.Fatalf("the raced repair wrote %v, tenantA's item among them: it overwrote the race's change", hook.written())
			}
			before, after, err := s.RepairSlots(ctx)
			if err != nil || after.Total != tc.after.Total ||
				after.ByTenant["tenantA"] != tc.after.ByTenant["tenantA"] {
				t.Fatalf("next repair: %+v -> %+v, %v; want %+v", before, after, err, tc.after)
			}
			if got := inFlight(t, s); got.Total != tc.after.Total || got.ByTenant["tenantA"] != tc.after.ByTenant["tenantA"] {
				t.Fatalf("after the next repair: %+v, want %+v", got, tc.after)
			}
		})
	}
}

// A job the index does not list yet is not taken for a lost slot: a
// recount that disagrees is made again once the index has caught up, and
// only that one is written.
func TestRepairWaitsOutTheIndexLag(t *testing.T) {
	client, table := newTable(t)
	ctx := t.Context()
	other := dynamostore.New(client, dynamostore.Config{Table: table})
	createAll(t, other, waitingSample("a1", "tenantA", t0()), waitingSample("fresh", "tenantA", t0()))
	for _, id := range []string{"a1", "fresh"} {
		if _, err := other.Admit(ctx, id, job.Limits{}, t0()); err != nil {
			t.Fatal(err)
		}
	}
	hook := &hookClient{Client: client, hidden: "fresh"}
	const lag = 200 * time.Millisecond
	s := dynamostore.New(hook, dynamostore.Config{Table: table, IndexLag: lag})
	start := time.Now()
	before, after, err := s.RepairSlots(ctx)
	if err != nil || before.Total != 2 || after.Total != 2 || hook.puts.Load() != 0 {
		t.Fatalf("repair: %+v -> %+v, %v, %d writes; want 2 in flight and nothing written", before, after, err, hook.puts.Load())
	}
	if hook.queries.Load() != 2*dynamostore.IndexShards || time.Since(start) < lag {
		t.Fatalf("%d index queries in %v; want a second listing (one query per shard) after the lag", hook.queries.Load(), time.Since(start))
	}
}
