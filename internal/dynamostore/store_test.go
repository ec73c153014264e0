package dynamostore_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/storetest"
)

func TestMain(m *testing.M) {
	os.Exit(awstest.Main(m))
}

// newTable creates a table of its own for t and drops it when t ends.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	return awstest.NewTable(t, "jobs-", dynamostore.CreateTable)
}

func newStore(t *testing.T, cfg dynamostore.Config) (*dynamostore.Store, *dynamodb.Client) {
	t.Helper()
	client, table := newTable(t)
	cfg.Table = table
	return dynamostore.New(client, cfg), client
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		// moto's indexes never lag: RepairSlots need not wait for them.
		s, _ := newStore(t, dynamostore.Config{IndexLag: time.Millisecond})
		return s
	})
}

// t0 is when the tests' jobs start.
func t0() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

func sample(id, tenant string, created time.Time) job.Job {
	seed := int64(7)
	return job.Job{
		ID: id, Tenant: tenant, Status: job.Queued,
		Request: job.Request{Model: job.Model, ImageURL: "https://example.com/a.png", Prompt: "p",
			TailImageURL: "https://example.com/b.png", AspectRatio: "16:9", Duration: 5, Seed: &seed},
		CreatedAt: created, UpdatedAt: created, Deadline: created.Add(30 * time.Minute),
	}
}

// sameJSON compares jobs as the API would show them.
func sameJSON(t *testing.T, got, want job.Job) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Fatalf("got  %s\nwant %s", g, w)
	}
}

// Every change must leave the record exactly as job.Change.Apply does.
func TestUpdateMatchesApply(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	ctx := t.Context()
	want := sample("j1", "tenantA", t0())
	if err := s.Create(ctx, want); err != nil {
		t.Fatal(err)
	}
	dur, credits := 5.0, 12.5
	at := func(n int) time.Time { return t0().Add(time.Duration(n) * time.Second) }
	for i, c := range []job.Change{
		{At: at(1), ClaimSubmit: true},
		{At: at(2), ReleaseSubmit: true},
		{At: at(3), ClaimSubmit: true, ReleaseSubmit: true},
		{At: at(4), ClaimSubmit: true},
		{At: at(5), Status: job.Generating, UpstreamID: "up-1"},
		{At: at(6), Polls: 1},
		{At: at(7), Status: job.Generating, Polls: 1},
		{At: at(8).Add(123456789), Status: job.Completed, Polls: 1,
			Video: &job.Video{URL: "https://cdn.example/v.mp4", Duration: &dur}, CreditsUsed: &credits},
	} {
		var err error
		if want, err = c.Apply(want); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		got, err := s.Update(ctx, "j1", c)
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		sameJSON(t, got, want)
		if got, err = s.Get(ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, got, want)
	}
}

func TestConflicts(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	ctx := t.Context()
	if err := s.Create(ctx, sample("j1", "tenantA", t0())); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "nope", job.Change{At: t0(), Status: "bogus"}); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("unknown status on a missing job: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Update(ctx, "j1", job.Change{At: t0(), Status: "bogus"}); !errors.Is(err, job.ErrConflict) ||
		!strings.Contains(err.Error(), "unknown status") {
		t.Fatalf("unknown status: err = %v, want ErrConflict for it", err)
	}
	if _, err := s.Update(ctx, "j1", job.Change{At: t0(), Status: job.Generating, UpstreamID: "up-1"}); err != nil {
		t.Fatal(err)
	}
	// An upstream id alone, with no claim recorded, also blocks a claim.
	if _, err := s.Update(ctx, "j1", job.Change{At: t0(), ClaimSubmit: true}); !errors.Is(err, job.ErrConflict) ||
		!strings.Contains(err.Error(), "submit already claimed") {
		t.Fatalf("claim after submit: err = %v, want ErrConflict for it", err)
	}
	if _, err := s.Update(ctx, "j1", job.Fail(t0(), job.ErrNameTimedOut, "slow")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "j1", job.Change{At: t0()}); !errors.Is(err, job.ErrConflict) ||
		!strings.Contains(err.Error(), "job is error") {
		t.Fatalf("change of a failed job: err = %v, want ErrConflict for it", err)
	}
}

// expiresAt reads the TTL attribute straight from the table; 0 if absent.
func expiresAt(t *testing.T, client *dynamodb.Client, table, id string) int64 {
	t.Helper()
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName:      &table,
		Key:            map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: new(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	av, ok := out.Item["expires_at"]
	if !ok {
		return 0
	}
	n, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("expires_at is %T, want a number", av)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestExpiry(t *testing.T) {
	ctx := t.Context()
	end := t0().Add(10 * time.Minute)
	for _, tc := range []struct {
		name      string
		retention time.Duration
		end       job.Change
		want      int64
	}{
		{"default", 0, job.Change{At: end, Status: job.Completed, Video: &job.Video{URL: "u"}},
			end.Add(dynamostore.DefaultRetention).Unix()},
		{"configured", 48 * time.Hour, job.Fail(end, job.ErrNameCancelled, "x"), end.Add(48 * time.Hour).Unix()},
		{"never", -1, job.Fail(end, job.ErrNameCancelled, "x"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, table := newTable(t)
			s := dynamostore.New(client, dynamostore.Config{Table: table, Retention: tc.retention})
			if err := s.Create(ctx, sample("j1", "tenantA", t0())); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, "j1", job.Change{At: t0().Add(time.Minute), Status: job.Generating}); err != nil {
				t.Fatal(err)
			}
			if got := expiresAt(t, client, table, "j1"); got != 0 {
				t.Fatalf("running job expires at %d", got)
			}
			if _, err := s.Update(ctx, "j1", tc.end); err != nil {
				t.Fatal(err)
			}
			if got := expiresAt(t, client, table, "j1"); got != tc.want {
				t.Fatalf("expires_at = %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("created terminal", func(t *testing.T) {
		client, table := newTable(t)
		s := dynamostore.New(client, dynamostore.Config{Table: table, Retention: time.Hour})
		j := sample("j1", "tenantA", t0())
		j.Status, j.UpdatedAt = job.Failed, end
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		if got, want := expiresAt(t, client, table, "j1"), end.Add(time.Hour).Unix(); got != want {
			t.Fatalf("expires_at = %d, want %d", got, want)
		}
	})
}

func TestList(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	ctx := t.Context()
	// Creation times a fraction of a second apart, some on whole seconds,
	// so that the index order depends on how created_at is written.
	var want []string // newest first
	for i := range 7 {
		created := t0().Add(time.Duration(i) * 500 * time.Millisecond)
		id := fmt.Sprintf("a%d", i)
		if err := s.Create(ctx, sample(id, "tenantA", created)); err != nil {
			t.Fatal(err)
		}
		want = append([]string{id}, want...)
		if err := s.Create(ctx, sample(fmt.Sprintf("b%d", i), "tenantB", created)); err != nil {
			t.Fatal(err)
		}
	}

	var got []string
	cursor, pages := "", 0
	for {
		jobs, next, err := s.List(ctx, "tenantA", job.Filter{}, 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) > 3 {
			t.Fatalf("page of %d jobs, limit 3", len(jobs))
		}
		for _, j := range jobs {
			if j.Tenant != "tenantA" {
				t.Fatalf("listed %s of %s", j.ID, j.Tenant)
			}
			got = append(got, j.ID)
		}
		if pages++; pages > 10 {
			t.Fatal("paging does not end")
		}
		if next == "" {
			break
		}
		if _, _, err := s.List(ctx, "tenantB", job.Filter{}, 3, next); !errors.Is(err, job.ErrBadCursor) {
			t.Fatalf("another tenant's cursor: err = %v, want ErrBadCursor", err)
		}
		cursor = next
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("listed %v, want %v", got, want)
	}

	all, next, err := s.List(ctx, "tenantB", job.Filter{}, 0, "")
	if err != nil || len(all) != 7 || next != "" {
		t.Fatalf("unlimited list: %d jobs, cursor %q, err %v", len(all), next, err)
	}
	none, next, err := s.List(ctx, "tenantC", job.Filter{}, 10, "")
	if err != nil || len(none) != 0 || next != "" {
		t.Fatalf("unknown tenant: %v, cursor %q, err %v", none, next, err)
	}
}

func TestBadCursor(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	enc := base64.RawURLEncoding.EncodeToString
	for _, cursor := range []string{
		"not base64!",
		enc([]byte("not json")),
		enc([]byte(`{"id":"a1","tenant":"tenantA"}`)),
		enc([]byte(`{"id":"a1","tenant":"tenantA","created_at":"x","extra":1}`)),
		enc([]byte(`{"id":"a1","tenant":"tenantA","created_at":"x"} {}`)),
		enc([]byte(`{"id":"a1","tenant":"tenantB","created_at":"x"}`)),
	} {
		if _, _, err := s.List(t.Context(), "tenantA", job.Filter{}, 10, cursor); !errors.Is(err, job.ErrBadCursor) {
			t.Errorf("cursor %q: err = %v, want ErrBadCursor", cursor, err)
		}
	}
}

// A filtered listing reads a bounded number of pages per request: past
// many non-matching jobs it answers a short page with a cursor, and the
// cursor leads on to the match.
func TestFilteredListReadsBoundedPages(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	ctx := t.Context()
	old := sample("oldest", "tenantA", t0())
	if err := s.Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	for i := range 520 {
		j := sample(fmt.Sprintf("done-%03d", i), "tenantA", t0().Add(time.Duration(i+1)*time.Second))
		j.Status = job.Completed
		// ErrExists is fine here: under load, moto at times ends an answer
		// early and the SDK retries a create that had succeeded.
		if err := s.Create(ctx, j); err != nil && !errors.Is(err, job.ErrExists) {
			t.Fatal(err)
		}
	}
	page, next, err := s.List(ctx, "tenantA", job.Filter{Status: job.Queued}, 1, "")
	if err != nil || len(page) != 0 || next == "" {
		t.Fatalf("first page: %d jobs, cursor %q, %v; want an empty page with a cursor", len(page), next, err)
	}
	page, next, err = s.List(ctx, "tenantA", job.Filter{Status: job.Queued}, 1, next)
	if err != nil || len(page) != 1 || page[0].ID != "oldest" || next != "" {
		t.Fatalf("second page: %v, cursor %q, %v", page, next, err)
	}
}

// A Create retried after its answer was lost succeeds although the table
// normalised the request's numbers (10.0 and 1e1 read back as 10): the
// record is compared by value. Another value is still another job.
func TestCreateRetryWithNormalisedNumbers(t *testing.T) {
	s, _ := newStore(t, dynamostore.Config{})
	ctx := t.Context()
	withBody := func(id, duration string) job.Job {
		j := sample(id, "tenantA", t0())
		j.Request = job.Request{Model: "kling-v2-master", Body: map[string]any{
			"model": "kling-v2-master", "duration": json.Number(duration), "cfg_scale": json.Number("0.50")}}
		return j
	}
	if err := s.Create(ctx, withBody("j1", "10.0")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"10.0", "1e1", "10"} {
		if err := s.Create(ctx, withBody("j1", d)); err != nil {
			t.Errorf("retried create with duration %s: %v, want success", d, err)
		}
	}
	if err := s.Create(ctx, withBody("j1", "11")); !errors.Is(err, job.ErrExists) {
		t.Errorf("create with another duration: %v, want ErrExists", err)
	}
}
