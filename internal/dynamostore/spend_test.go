package dynamostore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/job"
)

// countingClient counts the writes a Store sends.
type countingClient struct {
	dynamostore.Client
	updates, transactions int
}

func (c *countingClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.updates++
	return c.Client.UpdateItem(ctx, in, optFns...)
}

func (c *countingClient) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.transactions++
	return c.Client.TransactWriteItems(ctx, in, optFns...)
}

// A job's credits cost one transaction (the job and its tenant's day
// item), once: the polls after it that carry the same credits are plain
// updates. The day item stays out of every index and of Get, and expires
// Retention after its day. Nothing is reported missed.
func TestSpendWritesOncePerJob(t *testing.T) {
	client, table := newTable(t)
	counting := &countingClient{Client: client}
	var missed []string
	s := dynamostore.New(counting, dynamostore.Config{Table: table, Retention: 48 * time.Hour,
		SpendMissed: func(id string) { missed = append(missed, id) }})
	ctx := t.Context()
	if err := s.Create(ctx, sample("j1", "tenantA", t0())); err != nil {
		t.Fatal(err)
	}
	credits := 25.0
	if _, err := s.Update(ctx, "j1", job.Change{At: t0(), UpstreamID: "up-1", CreditsUsed: &credits}); err != nil {
		t.Fatal(err)
	}
	if counting.transactions != 1 || counting.updates != 0 {
		t.Fatalf("recording credits: %d transactions, %d updates; want 1, 0", counting.transactions, counting.updates)
	}
	for i := range 5 {
		if _, err := s.Update(ctx, "j1", job.Change{At: t0().Add(time.Duration(i+1) * time.Minute), Polls: 1, CreditsUsed: &credits}); err != nil {
			t.Fatal(err)
		}
	}
	if counting.transactions != 1 || counting.updates != 5 {
		t.Fatalf("five polls with the same credits: %d transactions, %d updates; want 1, 5", counting.transactions, counting.updates)
	}
	if len(missed) != 0 {
		t.Fatalf("SpendMissed called for %v; the counter was updated", missed)
	}

	jobs, _, err := s.List(ctx, "tenantA", job.Filter{}, 100, "")
	if err != nil || len(jobs) != 1 {
		t.Fatalf("list: %v, %v; want only j1", jobs, err)
	}
	open, err := s.OpenJobs(ctx)
	if err != nil || len(open) != 1 || open[0] != "j1" {
		t.Fatalf("open jobs: %v, %v; want only j1", open, err)
	}
	items, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	var spendIDs []string
	for _, it := range items.Items {
		id := it["id"].(*types.AttributeValueMemberS).Value
		if !strings.HasPrefix(id, "spend#") {
			continue
		}
		spendIDs = append(spendIDs, id)
		for _, index := range []string{"tenant", "created_at", "open", "waiting"} {
			if _, ok := it[index]; ok {
				t.Errorf("spend item %s has %s: it would be in an index", id, index)
			}
		}
		exp, _ := it["expires_at"].(*types.AttributeValueMemberN)
		want := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).Add(48 * time.Hour).Unix()
		if exp == nil || exp.Value != strconv.FormatInt(want, 10) {
			t.Errorf("spend item %s expires at %v, want %d (its day's end + retention)", id, it["expires_at"], want)
		}
		if _, err := s.Get(ctx, id); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("Get(%s) = %v, want ErrNotFound: not a job", id, err)
		}
	}
	if len(spendIDs) != 1 || !strings.HasSuffix(spendIDs[0], "#2026-11-25#"+strconv.Itoa(dynamostore.SpendShard("j1"))) {
		t.Fatalf("spend items %v, want j1's shard of its tenant's day", spendIDs)
	}
}

// conflictingClient cancels every transaction that writes a spend item
// for a conflict on it, as DynamoDB does while other jobs' transactions
// write the same shard.
type conflictingClient struct {
	dynamostore.Client
	cancelled int
}

func (c *conflictingClient) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	spend := false
	for i, it := range in.TransactItems {
		reasons[i].Code = new("None")
		if it.Update == nil {
			continue
		}
		if id, ok := it.Update.Key["id"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(id.Value, "spend#") {
			reasons[i].Code = new("TransactionConflict")
			spend = true
		}
	}
	if !spend {
		return c.Client.TransactWriteItems(ctx, in, optFns...)
	}
	c.cancelled++
	return nil, &types.TransactionCanceledException{Message: new("Transaction cancelled"), CancellationReasons: reasons}
}

// The spend counter never keeps a job's upstream id from being recorded:
// when conflicts on its shard outlast the retries, the id and credits go
// in a plain update (the day's sum misses this job), the failure is
// logged at error with the job id, and SpendMissed is told of the job,
// once per change written without the counter.
func TestSpendConflictStillRecordsUpstreamID(t *testing.T) {
	client, table := newTable(t)
	conflicting := &conflictingClient{Client: client}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	var missed []string
	s := dynamostore.New(conflicting, dynamostore.Config{Table: table, Log: log,
		SpendMissed: func(id string) { missed = append(missed, id) }})
	ctx := t.Context()
	if err := s.Create(ctx, sample("j1", "tenantA", t0())); err != nil {
		t.Fatal(err)
	}
	credits := 25.0
	j, err := s.Update(ctx, "j1", job.Change{At: t0(), Status: job.Queued, UpstreamID: "up-1", CreditsUsed: &credits})
	if err != nil {
		t.Fatalf("recording the upstream id: %v", err)
	}
	if conflicting.cancelled == 0 {
		t.Fatal("no transaction was cancelled: the test did not exercise the conflict")
	}
	got, err := s.Get(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []job.Job{j, got} {
		if r.UpstreamID != "up-1" || r.Status != job.Queued || r.CreditsUsed == nil || *r.CreditsUsed != credits {
			t.Fatalf("record %+v: want upstream id up-1, queued, 25 credits", r)
		}
	}
	if !strings.Contains(logs.String(), `"level":"ERROR"`) || !strings.Contains(logs.String(), `"job_id":"j1"`) {
		t.Fatalf("log %q: want an error naming job j1", logs.String())
	}
	if !slices.Equal(missed, []string{"j1"}) {
		t.Fatalf("SpendMissed called for %v, want [j1]: once, for the job recorded without the counter", missed)
	}
	// An end that changes the credits is recorded despite the conflicts too.
	more := 30.0
	end := job.Fail(t0().Add(time.Minute), job.ErrNameCancelled, "x")
	end.CreditsUsed = &more
	if _, err := s.Update(ctx, "j1", end); err != nil {
		t.Fatalf("ending the job: %v", err)
	}
	if got, err := s.Get(ctx, "j1"); err != nil || got.Status != job.Failed || *got.CreditsUsed != more {
		t.Fatalf("ended record %+v, %v: want failed with 30 credits", got, err)
	}
	if !slices.Equal(missed, []string{"j1", "j1"}) {
		t.Fatalf("SpendMissed called for %v, want [j1 j1]: the end's credits missed the counter too", missed)
	}
}
