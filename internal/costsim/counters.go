package costsim

// The DynamoDB store counts slots in 8 counter shards and one item per
// tenant (dynamostore/counters.go): InFlight reads every shard (a
// consistent read each, one unit apiece for items this small), an
// admission under a global cap reads them too before its transaction, and
// an admission's or an end's transaction writes the job, its shard and its
// tenant's item (each item of a transaction billed twice).
const (
	counterReads = 8 // consistent reads of the counter shards
	counterItems = 2 // the shard and the tenant's item, in each transaction
)
