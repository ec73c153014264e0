package main

import (
	"fmt"
	"io"

	"github.com/vidgen/vidgen/internal/costsim"
)

// dynamo prints the throughput DynamoDB's per-partition limits leave
// vidgen, before issue 17's layout and after, and adds the ceilings to the
// targets: jobs submitted a second, for one tenant (every per-tenant key
// is then one partition) and for 64, and Poll steps a second; caps on, a
// deep queue.
func dynamo(w io.Writer, ts *targets) {
	sl := costsim.ScaleReference()
	fmt.Fprintf(w, "DynamoDB at scale: the most vidgen sustains before a partition (1,000 WU/s, 3,000 RU/s) or the table's quota (40,000/s) throttles; %s generations polled every %s, caps on, dispatches reading %d waiting jobs\n\n",
		sl.Generation, sl.PollEvery, sl.QueueRead)
	fmt.Fprintln(w, "| tenants | layout | jobs/s submitted | limited by | polls/s (those jobs') | polls/s, polling alone | limited by |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
	got := map[string]costsim.ScaleCeiling{}
	for _, tenants := range []int{1, 64} {
		sl.Tenants = tenants
		for _, l := range []costsim.Layout{costsim.Before(), costsim.After()} {
			c := l.Ceiling(sl)
			got[fmt.Sprint(l.Name, tenants)] = c
			fmt.Fprintf(w, "| %d | %s | %.0f | %s | %.0f | %.0f | %s |\n", tenants, l.Name, c.JobsPerSecond, c.Limit, c.PollsPerSecond, c.PollOnly, c.PollLimit)
		}
	}
	fmt.Fprintln(w)
	for _, tenants := range []int{1, 64} {
		before, after := got[fmt.Sprint("before", tenants)], got[fmt.Sprint("after", tenants)]
		ts.add(fmt.Sprintf("DynamoDB ceiling, jobs/s submitted (%d tenant(s), caps on)", tenants),
			fmt.Sprintf("%.0f (%.1f× before, %.0f)", after.JobsPerSecond, after.JobsPerSecond/before.JobsPerSecond, before.JobsPerSecond),
			"> before", after.JobsPerSecond > before.JobsPerSecond)
	}
	before, after := got["before1"], got["after1"]
	ts.add("DynamoDB ceiling, polls/s (one tenant, polling alone)",
		fmt.Sprintf("%.0f (%.0f× before, %.0f)", after.PollOnly, after.PollOnly/before.PollOnly, before.PollOnly),
		"> before", after.PollOnly > before.PollOnly)
}
