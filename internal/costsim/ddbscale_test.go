package costsim

import (
	"strings"
	"testing"
)

// The ceilings follow from the partition limits, and sharding lifts the
// one the layout before hit.
func TestCeiling(t *testing.T) {
	load := ScaleReference()
	before, after := Before().Ceiling(load), After().Ceiling(load)
	t.Logf("before: %+v", before)
	t.Logf("after:  %+v", after)
	// Before, one tenant's record writes all rewrite its by-tenant entry:
	// 2 KB × 12 writes (create, admit, submit ×2, 5 polls, end, announce
	// ×2) = 24 WU a job on one partition: 1,000/24 ≈ 41 jobs/s.
	if before.JobsPerSecond < 40 || before.JobsPerSecond > 42 || !strings.Contains(before.Limit, "by-tenant") {
		t.Errorf("before: %.1f jobs/s limited by %s; want ~41, by the tenant's by-tenant partition", before.JobsPerSecond, before.Limit)
	}
	// After, one tenant's counter item: 4 WU a job (two transactions);
	// the slot counters and the open index's writes are spread over 8
	// shards each.
	if after.JobsPerSecond < 240 || after.JobsPerSecond > 255 || !strings.Contains(after.Limit, "tenant counter") {
		t.Errorf("after: %.1f jobs/s limited by %s; want ~250, by the tenant's counter item", after.JobsPerSecond, after.Limit)
	}
	// Many tenants: before, the one partition of waiting-by-created (a
	// deep queue read at each dispatch); after, no partition at all, only
	// the table's quota.
	many := load
	many.Tenants = 64
	mb, ma := Before().Ceiling(many), After().Ceiling(many)
	t.Logf("64 tenants: before %+v, after %+v", mb, ma)
	if !strings.Contains(mb.Limit, "waiting-by-created") || !strings.Contains(ma.Limit, "table's quota") || ma.JobsPerSecond < 4*mb.JobsPerSecond {
		t.Errorf("64 tenants: before %.1f jobs/s (%s), after %.1f (%s); want the queue's partition, then only the table's quota",
			mb.JobsPerSecond, mb.Limit, ma.JobsPerSecond, ma.Limit)
	}
	// Polling alone: before, each Poll's write rewrote the tenant's entry
	// (2 WU): 500 a second; after, no index is written and a Poll is one
	// consistent read and a write a minute: the table's 40,000 units.
	if before.PollOnly < 490 || before.PollOnly > 510 || after.PollOnly < 35000 {
		t.Errorf("polls a second: after %.0f, before %.0f; want the index no longer in the way", after.PollOnly, before.PollOnly)
	}
	// Without caps no counter is touched: the sparse indexes' shards and
	// the tenant's by-tenant partition (one write a job) remain.
	uncapped := load
	uncapped.Caps = false
	free := After().Ceiling(uncapped)
	if free.JobsPerSecond < 4*after.JobsPerSecond {
		t.Errorf("after, without caps: %.1f jobs/s limited by %s; want far above the counters' %.1f", free.JobsPerSecond, free.Limit, after.JobsPerSecond)
	}
	// The spend counters (2 WU a job, in a transaction) in one item per
	// tenant and day would stop one tenant at 500 jobs a second; in four
	// they leave the tenant's by-tenant entry (1 WU a job) the limit.
	one := After()
	one.SpendShards = 1
	single := one.Ceiling(uncapped)
	t.Logf("without caps: spend in 4 items %+v, in 1 %+v", free, single)
	if !strings.Contains(single.Limit, "tenant spend") || single.JobsPerSecond > 510 || !strings.Contains(free.Limit, "by-tenant") {
		t.Errorf("without caps: spend in one item %.1f jobs/s (%s), in four %.1f (%s); want ~500 by the spend item, then the by-tenant entry",
			single.JobsPerSecond, single.Limit, free.JobsPerSecond, free.Limit)
	}
}
