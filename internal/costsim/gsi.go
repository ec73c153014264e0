package costsim

import (
	"encoding/json"

	"github.com/vidgen/vidgen/internal/job"
)

// DynamoDB writes a global secondary index's entry of an item whenever a
// write of the item adds it to the index, removes it, changes its key (a
// delete and a put: two writes) or changes an attribute the index
// projects, and bills each such write like a table write of the entry's
// projected size, a write unit per started KB:
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes
// A write that leaves every index key and projected attribute alone costs
// no index write. So the jobs table's indexes cost:
//
//	by-tenant            keys only: written when a job is created (a tenant's key never changes)
//	open-by-deadline     keys only: created, its deadline moved at admission (2), its end announced
//	waiting-by-created   keys and tenant: a waiting job created, admitted or ended
//
// before the by-tenant index held keys only it projected ALL, and then
// every write of a record wrote the whole record into it again.

// jobIndex is one of the jobs table's global secondary indexes as billing
// sees it.
type jobIndex struct {
	name string
	// key is the job's entry key in the index; ok is false when the job
	// has no entry (a sparse index).
	key func(j job.Job) (key string, ok bool)
	// all says the index projects every attribute: any change of the
	// record rewrites its entry, at the record's size.
	all bool
}

// jobIndexes are the jobs table's indexes as deployed (template.yaml).
func jobIndexes() []jobIndex {
	return []jobIndex{
		{name: "by-tenant", key: func(j job.Job) (string, bool) {
			return j.Tenant + "|" + j.CreatedAt.UTC().String(), j.Tenant != ""
		}},
		{name: "open-by-deadline", key: func(j job.Job) (string, bool) {
			// A job stays listed until its end is announced (dynamostore).
			return j.Deadline.UTC().String(), j.ID != "" && (!j.Status.Terminal() || j.AnnouncedAt == nil)
		}},
		{name: "waiting-by-created", key: func(j job.Job) (string, bool) {
			return j.CreatedAt.UTC().String(), j.Waiting
		}},
	}
}

// indexEntryBytes is the size of a keys-only entry: the table key, the
// index key and DynamoDB's 100 bytes of index overhead per entry.
const indexEntryBytes = 200

// indexWrites is the write units the jobs table's indexes cost for a write
// that turns the record before into after (before is the zero Job for a
// new record).
func indexWrites(before, after job.Job, indexes []jobIndex) int {
	units := 0
	for _, ix := range indexes {
		kb, hadEntry := ix.key(before)
		ka, hasEntry := ix.key(after)
		size := func(j job.Job) int {
			if ix.all {
				b, _ := json.Marshal(j)
				return max(1, (len(b)+indexEntryBytes+1023)/1024)
			}
			return 1
		}
		switch {
		case !hadEntry && hasEntry:
			units += size(after)
		case hadEntry && !hasEntry:
			units += size(before)
		case hadEntry && hasEntry && kb != ka:
			units += size(before) + size(after)
		case hadEntry && hasEntry && ix.all:
			units += size(after) // updated_at changes at every write
		}
	}
	return units
}
