package dynamostore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

func waitingSample(id, tenant string, created time.Time) job.Job {
	j := sample(id, tenant, created)
	j.Waiting = true
	return j
}

func createAll(t *testing.T, s *dynamostore.Store, jobs ...job.Job) {
	t.Helper()
	for _, j := range jobs {
		if err := s.Create(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
}

func inFlight(t *testing.T, s *dynamostore.Store) job.InFlight {
	t.Helper()
	f, err := s.InFlight(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// countsItem reads the slot counters item straight from the table.
func countsItem(t *testing.T, client *dynamodb.Client, table string) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName:      &table,
		Key:            map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "slot#counts"}},
		ConsistentRead: new(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// Concurrent admissions never exceed the caps, and the counts always equal
// the jobs holding a slot.
func TestConcurrentAdmitsKeepTheCaps(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	ctx := t.Context()
	var ids []string
	for i := range 18 {
		id := fmt.Sprintf("w%02d", i)
		ids = append(ids, id)
		createAll(t, s, waitingSample(id, fmt.Sprintf("tenant%d", i%3), t0().Add(time.Duration(i)*time.Second)))
	}
	limits := job.Limits{Global: 5, PerTenant: 2}
	var wg sync.WaitGroup
	var admitted atomic.Int32
	for _, id := range ids {
		for range 2 { // each job twice: one of the two must lose
			wg.Go(func() {
				_, err := s.Admit(ctx, id, limits, t0())
				switch {
				case err == nil:
					admitted.Add(1)
				case errors.Is(err, job.ErrFull), errors.Is(err, job.ErrConflict):
				default:
					t.Errorf("admit %s: %v", id, err)
				}
			})
		}
	}
	wg.Wait()
	if n := admitted.Load(); n != 5 {
		t.Fatalf("%d admitted, want 5", n)
	}
	holding := map[string]int{}
	total := 0
	for _, id := range ids {
		j, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Slot == j.Waiting {
			t.Fatalf("job %s: slot %v, waiting %v", id, j.Slot, j.Waiting)
		}
		if j.Slot {
			holding[j.Tenant]++
			total++
		}
	}
	f := inFlight(t, s)
	if f.Total != total || fmt.Sprint(f.ByTenant) != fmt.Sprint(holding) {
		t.Fatalf("in flight %+v, but jobs hold %d: %v", f, total, holding)
	}
	for tenant, n := range holding {
		if n > 2 {
			t.Fatalf("tenant %s holds %d slots, cap 2", tenant, n)
		}
	}
	waiting, err := s.Waiting(ctx, 100)
	if err != nil || len(waiting) != len(ids)-5 {
		t.Fatalf("%d waiting, want %d: %v", len(waiting), len(ids)-5, err)
	}
}

// Racing ends of a job holding a slot give it back once.
func TestConcurrentEndsGiveBackOnce(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	ctx := t.Context()
	createAll(t, s, waitingSample("j1", "tenantA", t0()), waitingSample("j2", "tenantA", t0()))
	for _, id := range []string{"j1", "j2"} {
		if _, err := s.Admit(ctx, id, job.Limits{}, t0()); err != nil {
			t.Fatal(err)
		}
	}
	if f := inFlight(t, s); f.Total != 2 || f.ByTenant["tenantA"] != 2 {
		t.Fatalf("in flight %+v, want 2", f)
	}
	var wg sync.WaitGroup
	var wins atomic.Int32
	for i := range 12 {
		wg.Go(func() {
			c := job.Fail(t0(), job.ErrNameCancelled, "x")
			if i%2 == 0 {
				c = job.Change{At: t0(), Status: job.Completed, Video: &job.Video{URL: "https://v"}}
			}
			j, err := s.Update(ctx, "j1", c)
			switch {
			case err == nil:
				wins.Add(1)
				if j.Slot || !j.Status.Terminal() {
					t.Errorf("ended job: %+v", j)
				}
			case !errors.Is(err, job.ErrConflict):
				t.Errorf("end: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d ends won, want 1", wins.Load())
	}
	if f := inFlight(t, s); f.Total != 1 || f.ByTenant["tenantA"] != 1 {
		t.Fatalf("in flight %+v, want 1", f)
	}
}

func TestAdmitErrors(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	ctx := t.Context()
	createAll(t, s, sample("running", "tenantA", t0()), waitingSample("cancelled", "tenantA", t0()))
	if _, err := s.Update(ctx, "cancelled", job.Fail(t0(), job.ErrNameCancelled, "x")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"nope", job.ErrNotFound},
		{"", job.ErrNotFound},
		{"slot#counts", job.ErrNotFound},
		{"claim#x", job.ErrNotFound},
		{"running", job.ErrConflict},
		{"cancelled", job.ErrConflict},
	} {
		if _, err := s.Admit(ctx, tc.id, job.Limits{Global: 1}, t0()); !errors.Is(err, tc.want) {
			t.Errorf("admit %q: %v, want %v", tc.id, err, tc.want)
		}
	}
	if f := inFlight(t, s); f.Total != 0 || len(f.ByTenant) != 0 {
		t.Fatalf("in flight %+v, want none", f)
	}
}

// With no caps admission still counts; the counters item is no job and
// shows up in no listing; tenants of any spelling are counted apart, and a
// tenant's count goes once it is back to zero.
func TestCountersItem(t *testing.T) {
	client, table := newTable(t)
	s := dynamostore.New(client, dynamostore.Config{Table: table})
	ctx := t.Context()
	tenants := []string{"a.b", "x[0]", "", "tenant#1", "ünï"}
	for i, tenant := range tenants {
		createAll(t, s, waitingSample(fmt.Sprintf("odd-%d", i), tenant, t0().Add(time.Duration(i)*time.Second)))
	}
	for i := range tenants {
		if _, err := s.Admit(ctx, fmt.Sprintf("odd-%d", i), job.Limits{}, t0()); err != nil {
			t.Fatal(err)
		}
	}
	f := inFlight(t, s)
	if f.Total != len(tenants) || len(f.ByTenant) != len(tenants) {
		t.Fatalf("in flight %+v", f)
	}
	for _, tenant := range tenants {
		if f.ByTenant[tenant] != 1 {
			t.Fatalf("tenant %q: %d in flight, want 1 (%+v)", tenant, f.ByTenant[tenant], f)
		}
	}
	// A per-tenant cap on a tenant whose name is a document path.
	createAll(t, s, waitingSample("odd-more", "x[0]", t0()))
	if _, err := s.Admit(ctx, "odd-more", job.Limits{PerTenant: 1}, t0()); !errors.Is(err, job.ErrFull) {
		t.Fatalf("admit over the tenant cap: %v, want ErrFull", err)
	}
	if _, err := s.Admit(ctx, "odd-more", job.Limits{Global: 5}, t0()); !errors.Is(err, job.ErrFull) {
		t.Fatalf("admit over the global cap: %v, want ErrFull", err)
	}

	if _, err := s.Get(ctx, "slot#counts"); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("get counters: %v, want ErrNotFound", err)
	}
	if _, err := s.Update(ctx, "slot#counts", job.Change{At: t0()}); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("update counters: %v, want ErrNotFound", err)
	}
	if err := s.Create(ctx, sample("slot#counts", "tenantA", t0())); err == nil || errors.Is(err, job.ErrExists) {
		t.Fatalf("create with the slot prefix: %v, want refused", err)
	}
	open, err := s.OpenJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range open {
		if !strings.HasPrefix(id, "odd-") {
			t.Fatalf("open jobs list %q", id)
		}
	}
	for _, tenant := range tenants[:2] {
		jobs, _, err := s.List(ctx, tenant, job.Filter{}, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if !strings.HasPrefix(j.ID, "odd-") {
				t.Fatalf("list of %q shows %q", tenant, j.ID)
			}
		}
	}

	for i, tenant := range tenants {
		if _, err := s.Update(ctx, fmt.Sprintf("odd-%d", i), job.Fail(t0(), job.ErrNameCancelled, "x")); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f := inFlight(t, s)
			if _, ok := f.ByTenant[tenant]; ok || f.Total != len(tenants)-1 {
				t.Fatalf("after an end: %+v", f)
			}
		}
	}
	if f := inFlight(t, s); f.Total != 0 || len(f.ByTenant) != 0 {
		t.Fatalf("in flight %+v, want none", f)
	}
	item := countsItem(t, client, table)
	if len(item) != 3 { // id, total and version: every tenant's count went at zero
		t.Fatalf("counters item %v", item)
	}
}

// hookClient runs a hook before the first call of a kind, once, and
// leaves hidden out of the first listing's answers, as an index that
// lags would.
type hookClient struct {
	*dynamodb.Client
	beforeUpdate   func()
	beforeTransact func(in *dynamodb.TransactWriteItemsInput) error
	beforePut      func()
	hidden         string
	mu             sync.Mutex
	wrote          []string // the ids PutItem wrote
	updates        atomic.Int32
	transacts      atomic.Int32
	puts           atomic.Int32
	queries        atomic.Int32
}

func (c *hookClient) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if c.puts.Add(1) == 1 && c.beforePut != nil {
		c.beforePut()
	}
	out, err := c.Client.PutItem(ctx, in, opts...)
	if id, ok := in.Item["id"].(*types.AttributeValueMemberS); ok && err == nil {
		c.mu.Lock()
		c.wrote = append(c.wrote, id.Value)
		c.mu.Unlock()
	}
	return out, err
}

// written are the ids of the items PutItem wrote.
func (c *hookClient) written() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.wrote)
}

func (c *hookClient) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.Client.Query(ctx, in, opts...)
	// The first listing (one query per index shard) misses hidden.
	if err != nil || c.queries.Add(1) > dynamostore.IndexShards || c.hidden == "" {
		return out, err
	}
	kept := out.Items[:0:0]
	for _, item := range out.Items {
		if id, ok := item["id"].(*types.AttributeValueMemberS); !ok || id.Value != c.hidden {
			kept = append(kept, item)
		}
	}
	out.Items = kept
	return out, err
}

func (c *hookClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if c.updates.Add(1) == 1 && c.beforeUpdate != nil {
		c.beforeUpdate()
	}
	return c.Client.UpdateItem(ctx, in, opts...)
}

func (c *hookClient) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.transacts.Add(1) == 1 && c.beforeTransact != nil {
		if err := c.beforeTransact(in); err != nil {
			return nil, err
		}
	}
	return c.Client.TransactWriteItems(ctx, in, opts...)
}

// An end that races an admission still gives the slot back: the first
// write, for a job without a slot, fails, and the second gives it back.
func TestEndRacingAdmission(t *testing.T) {
	client, table := newTable(t)
	ctx := t.Context()
	other := dynamostore.New(client, dynamostore.Config{Table: table})
	createAll(t, other, waitingSample("j1", "tenantA", t0()))
	hook := &hookClient{Client: client, beforeUpdate: func() {
		if _, err := other.Admit(ctx, "j1", job.Limits{Global: 1}, t0()); err != nil {
			t.Error(err)
		}
	}}
	s := dynamostore.New(hook, dynamostore.Config{Table: table})
	j, err := s.Update(ctx, "j1", job.Fail(t0().Add(time.Second), job.ErrNameCancelled, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if j.Slot || j.Waiting || j.Status != job.Failed || !j.UpdatedAt.Equal(t0().Add(time.Second)) {
		t.Fatalf("ended job: %+v", j)
	}
	if f := inFlight(t, s); f.Total != 0 || len(f.ByTenant) != 0 {
		t.Fatalf("in flight %+v, want none", f)
	}
}

// An admission of a job that changed since it was read tries again and
// answers the record as it is.
func TestAdmitRacingChange(t *testing.T) {
	client, table := newTable(t)
	ctx := t.Context()
	other := dynamostore.New(client, dynamostore.Config{Table: table})
	createAll(t, other, waitingSample("j1", "tenantA", t0()))
	hook := &hookClient{Client: client, beforeTransact: func(*dynamodb.TransactWriteItemsInput) error {
		_, err := other.Update(ctx, "j1", job.Change{At: t0().Add(time.Second), CountResume: true})
		return err
	}}
	s := dynamostore.New(hook, dynamostore.Config{Table: table})
	j, err := s.Admit(ctx, "j1", job.Limits{Global: 1}, t0().Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := waitingSample("j1", "tenantA", t0())
	want.Resumes = 1
	want, _ = job.Admit(want, t0().Add(2*time.Second))
	sameJSON(t, j, want)
	got, err := s.Get(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, got, want)
	if f := inFlight(t, s); f.Total != 1 {
		t.Fatalf("in flight %+v, want 1", f)
	}
}

// A transaction cancelled for a conflict with another one is tried again.
func TestTransactionConflictRetried(t *testing.T) {
	client, table := newTable(t)
	ctx := t.Context()
	conflict := func(in *dynamodb.TransactWriteItemsInput) error {
		reasons := make([]types.CancellationReason, len(in.TransactItems))
		for i := range reasons {
			reasons[i].Code = new("None")
		}
		reasons[1].Code = new("TransactionConflict")
		return &types.TransactionCanceledException{Message: new("conflict"), CancellationReasons: reasons}
	}
	hook := &hookClient{Client: client, beforeTransact: conflict}
	s := dynamostore.New(hook, dynamostore.Config{Table: table})
	createAll(t, s, waitingSample("j1", "tenantA", t0()))
	if _, err := s.Admit(ctx, "j1", job.Limits{Global: 1}, t0()); err != nil {
		t.Fatal(err)
	}
	hook.transacts.Store(0)
	if _, err := s.Update(ctx, "j1", job.Fail(t0(), job.ErrNameCancelled, "x")); err != nil {
		t.Fatal(err)
	}
	if f := inFlight(t, s); f.Total != 0 {
		t.Fatalf("in flight %+v, want none", f)
	}
}

// Waiting keeps creation-time ties in id order across the n-th job, and
// leaves out jobs that no longer wait.
func TestWaitingTies(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	ctx := t.Context()
	createAll(t, s, waitingSample("z-old", "tenantA", t0().Add(-time.Minute)))
	for _, id := range []string{"t5", "t2", "t9", "t1", "t7", "t3"} {
		createAll(t, s, waitingSample(id, "tenantB", t0()))
	}
	createAll(t, s, waitingSample("a-new", "tenantA", t0().Add(time.Minute)), sample("not-waiting", "tenantA", t0()))
	if _, err := s.Admit(ctx, "t1", job.Limits{}, t0()); err != nil {
		t.Fatal(err)
	}
	ids := func(n int) string {
		jobs, err := s.Waiting(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range jobs {
			if !j.Waiting {
				t.Fatalf("%s does not wait", j.ID)
			}
			got = append(got, j.ID)
		}
		return strings.Join(got, ",")
	}
	for n, want := range map[int]string{
		0:  "",
		1:  "z-old",
		3:  "z-old,t2,t3",
		6:  "z-old,t2,t3,t5,t7,t9",
		7:  "z-old,t2,t3,t5,t7,t9,a-new",
		50: "z-old,t2,t3,t5,t7,t9,a-new",
	} {
		if got := ids(n); got != want {
			t.Errorf("Waiting(%d) = %s, want %s", n, got, want)
		}
	}
}
