// Package dynamostore keeps job records in a DynamoDB table, the store of
// the deployed service. A change is a single conditional UpdateItem, so the
// conditions of job.Change hold atomically; only the writes that also count
// slots (an admission, and the end of a job holding a slot) are
// transactions, with the slot counters (see slots.go), and so is the write
// that records a job's credits, with its tenant's spend counter (spend.go).
//
// The table has the partition key id (S), a global secondary index by-tenant
// on tenant (S) and created_at (S) holding keys only (see List), the sparse indexes open-by-deadline on
// open (S) and deadline (S) and waiting-by-created on waiting (S) and
// created_at (S), and expires_at (N, epoch seconds) as its TTL attribute;
// template.yaml declares the same schema.
package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/dynamotable"
	"github.com/vidgen/vidgen/internal/job"
)

// DefaultRetention is how long a terminal record is kept when Config leaves
// Retention zero.
const DefaultRetention = 90 * 24 * time.Hour

// Attribute names, shared by items, expressions and the table schema.
const (
	attrID            = "id"
	attrTenant        = "tenant"
	attrStatus        = "status"
	attrUpstreamID    = "upstream_id"
	attrSubmitStarted = "submit_started"
	attrVideo         = "video"
	attrError         = "error"
	attrCreditsUsed   = "credits_used"
	attrPolls         = "polls"
	attrCheckedAt     = "checked_at"
	attrResumes       = "resumes"
	attrOpen          = "open"
	attrWaiting       = "waiting"
	attrSlot          = "slot"
	attrDeadline      = "deadline"
	attrCreatedAt     = "created_at"
	attrUpdatedAt     = "updated_at"
	attrExpiresAt     = "expires_at"
	attrParkToken     = "park_token"
	attrAnnounceClaim = "announce_claimed"
	attrAnnouncedAt   = "announced_at"

	tenantIndex  = "by-tenant"
	openIndex    = "open-by-deadline"
	waitingIndex = "waiting-by-created"
)

// timeLayout is RFC 3339 with a fixed-width fraction: time.RFC3339Nano trims
// trailing zeros, and then "…:05Z" sorts after "…:05.5Z", which would break
// the by-tenant index order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Client is the part of *dynamodb.Client that a Store uses.
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Config says which table a Store uses and how long it keeps finished jobs.
type Config struct {
	Table string
	// Retention is how long after it ends a job's record expires: zero
	// means DefaultRetention, a negative value means never.
	Retention time.Duration
	// IndexLag is how long a write may take to show in the table's
	// indexes, which RepairSlots waits out before it trusts a recount that
	// disagrees with the counters: zero means DefaultIndexLag, a negative
	// value no wait (for a local DynamoDB, whose indexes never lag).
	IndexLag time.Duration
	// Log takes the errors the store survives without returning them
	// (a spend counter left behind, see recordCredits); nil discards them.
	Log *slog.Logger
	// SpendMissed, when set, is called with the id of each job whose
	// credits were recorded without its tenant's spend counter (see
	// recordCredits), besides the error logged, so that the misses can be
	// counted and alarmed on; nil calls nothing. It must be safe for
	// concurrent use, as the store is.
	SpendMissed func(jobID string)
}

// Store is a job store backed by one DynamoDB table.
type Store struct {
	client    Client
	table     string
	retention time.Duration
	indexLag  time.Duration
	log       *slog.Logger
	missed    func(jobID string)
}

// New returns a store of the jobs in cfg.Table.
func New(client Client, cfg Config) *Store {
	retention := cfg.Retention
	if retention == 0 {
		retention = DefaultRetention
	}
	lag := cfg.IndexLag
	if lag == 0 {
		lag = DefaultIndexLag
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	missed := cfg.SpendMissed
	if missed == nil {
		missed = func(string) {}
	}
	return &Store{client: client, table: cfg.Table, retention: retention, indexLag: max(lag, 0), log: log, missed: missed}
}

// item is a job as the table holds it. The nested domain types are encoded
// through their json tags (see encoding), so they keep the names the API
// uses; Tenant is omitted when empty because an index key may not be "".
type item struct {
	ID            string         `dynamodbav:"id"`
	Tenant        string         `dynamodbav:"tenant,omitempty"`
	Status        job.Status     `dynamodbav:"status"`
	Request       request        `dynamodbav:"request"`
	UpstreamID    string         `dynamodbav:"upstream_id,omitempty"`
	SubmitStarted *time.Time     `dynamodbav:"submit_started,omitempty"`
	Video         *job.Video     `dynamodbav:"video,omitempty"`
	Error         *job.Error     `dynamodbav:"error,omitempty"`
	CreditsUsed   *float64       `dynamodbav:"credits_used,omitempty"`
	Polls         int            `dynamodbav:"polls"`
	CheckedAt     *time.Time     `dynamodbav:"checked_at,omitempty"`
	Resumes       int            `dynamodbav:"resumes,omitempty"`
	CallbackURL   string         `dynamodbav:"callback_url,omitempty"`
	Batch         *job.BatchItem `dynamodbav:"batch,omitempty"`
	CreatedAt     time.Time      `dynamodbav:"created_at"`
	UpdatedAt     time.Time      `dynamodbav:"updated_at"`
	Deadline      time.Time      `dynamodbav:"deadline"`
	ExpiresAt     int64          `dynamodbav:"expires_at,omitempty"`
	// Open is set until the job ended and its end was announced: it keys
	// the sparse open-by-deadline index the reconciler reads, to the job's
	// index shard's mark (shardMark). An ended job stays listed until the
	// write that marks it announced, so that the reconciler has it
	// announced when its own execution failed to. The end's write leaves
	// the index entry alone: the index holds keys only, so that costs no
	// index write, and the mark's removal is the one the end's was.
	Open string `dynamodbav:"open,omitempty"`
	// Waiting is set (to its shard's mark, as Open) while the job waits
	// for a slot: it keys the sparse waiting-by-created index Waiting reads.
	Waiting string `dynamodbav:"waiting,omitempty"`
	// Slot is present (true) only while the job holds a slot.
	Slot              bool       `dynamodbav:"slot,omitempty"`
	ParkToken         string     `dynamodbav:"park_token,omitempty"`
	GenerationSeconds int        `dynamodbav:"generation_seconds,omitempty"`
	AnnounceClaimed   *time.Time `dynamodbav:"announce_claimed,omitempty"`
	AnnouncedAt       *time.Time `dynamodbav:"announced_at,omitempty"`
}

// openMark is the value of the open and waiting attributes of index shard
// 0, and the prefix of the others' (see shards.go).
const openMark = "1"

// encoding writes nested domain types under their json names and times as
// UTC timeLayout strings.
func encoding(o *attributevalue.EncoderOptions) {
	o.TagKey = "json"
	o.EncodeTime = func(t time.Time) (types.AttributeValue, error) {
		return &types.AttributeValueMemberS{Value: t.UTC().Format(timeLayout)}, nil
	}
}

// decoding reads what encoding writes; any RFC 3339 time parses.
func decoding(o *attributevalue.DecoderOptions) {
	o.TagKey = "json"
}

// value is expression.Value with the store's encoding, so that updated
// attributes look exactly like the ones Create writes.
func value(v any) expression.ValueBuilder {
	return expression.ValueWithOptions(v, func(o *expression.ValueBuilderOptions) {
		o.EncoderOptions = append(o.EncoderOptions, encoding)
	})
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrID: &types.AttributeValueMemberS{Value: id}}
}

// expiry is the epoch second at which a job that ended at the given time
// expires, or 0 for none.
func (s *Store) expiry(ended time.Time) int64 {
	if s.retention < 0 || ended.IsZero() {
		return 0
	}
	return ended.Add(s.retention).Unix()
}

// marshalJob encodes j as the table holds it.
func (s *Store) marshalJob(j job.Job) (map[string]types.AttributeValue, error) {
	if isReservedID(j.ID) {
		return nil, fmt.Errorf("job id %q uses a prefix reserved for the store's own items", j.ID)
	}
	it := item{
		ID: j.ID, Tenant: j.Tenant, Status: j.Status, Request: request(j.Request),
		UpstreamID: j.UpstreamID, SubmitStarted: j.SubmitStarted,
		Video: j.Video, Error: j.Error, CreditsUsed: j.CreditsUsed, Polls: j.Polls, Resumes: j.Resumes,
		CheckedAt: j.CheckedAt, CallbackURL: j.CallbackURL, Batch: j.Batch,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, Deadline: j.Deadline,
		Slot: j.Slot, ParkToken: j.ParkToken, GenerationSeconds: j.GenerationSeconds,
		AnnounceClaimed: j.AnnounceClaimed, AnnouncedAt: j.AnnouncedAt,
	}
	if j.Waiting {
		it.Waiting = shardMark(shardOf(j.ID))
	}
	if j.Status.Terminal() {
		it.ExpiresAt = s.expiry(j.UpdatedAt)
	}
	if !j.Status.Terminal() || j.AnnouncedAt == nil {
		it.Open = shardMark(shardOf(j.ID))
	}
	av, err := attributevalue.MarshalMapWithOptions(it, encoding)
	if err != nil {
		return nil, fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	return av, nil
}

// Create stores a new job, failing with job.ErrExists if its id is taken.
func (s *Store) Create(ctx context.Context, j job.Job) error {
	av, err := s.marshalJob(j)
	if err != nil {
		return err
	}
	old, err := dynamotable.PutNew(ctx, s.client, s.table, attrID, av)
	if errors.Is(err, dynamotable.ErrTaken) {
		// The same record is a retried put whose first answer was lost: success.
		if o, derr := decode(old); derr == nil && sameRecord(o, j) {
			return nil
		}
		return fmt.Errorf("create job %s: %w", j.ID, job.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create job %s: %w", j.ID, err)
	}
	return nil
}

// Get returns the job with the given id or job.ErrNotFound. It reads
// consistently, so it sees every change that has returned.
func (s *Store) Get(ctx context.Context, id string) (job.Job, error) {
	if id == "" || isReservedID(id) { // DynamoDB rejects an empty key; no job has one
		return job.Job{}, fmt.Errorf("job %q: %w", id, job.ErrNotFound)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(id),
		ConsistentRead: new(true),
	})
	if err != nil {
		return job.Job{}, fmt.Errorf("get job %s: %w", id, err)
	}
	if out.Item == nil {
		return job.Job{}, fmt.Errorf("job %s: %w", id, job.ErrNotFound)
	}
	j, err := decode(out.Item)
	if err != nil {
		return job.Job{}, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// Update applies c to the job atomically and returns the new record. It
// fails with job.ErrNotFound when there is no such job and with
// job.ErrConflict (wrapped with the reason) when c's conditions do not hold.
//
// A change that ends a job holding a slot gives the slot back in the same
// write: a transaction of the job's update, conditioned on the job still
// holding the slot, and the counters' decrement (see giveBack). Any other
// change is one conditional UpdateItem, which for an end also requires
// that the job holds no slot. Which of the two an end needs is learnt from
// the record as it was when a condition failed, so an end of a job without
// a slot (every end when no caps apply) still takes a single write; when
// the slot state changes between the attempts (an admission, a concurrent
// end), Update tries again, a few times at most.
func (s *Store) Update(ctx context.Context, id string, c job.Change) (job.Job, error) {
	if id == "" || isReservedID(id) {
		return job.Job{}, fmt.Errorf("job %q: %w", id, job.ErrNotFound)
	}
	if c.CreditsUsed != nil {
		// Credits the record does not hold yet are counted (spend.go).
		j, rest, done, err := s.recordCredits(ctx, id, c)
		if err != nil || done {
			return j, err
		}
		c = rest
	}
	// Only a terminal status ends a job (a terminal job takes no change), so
	// any other change leaves the slot, if any, where it is.
	ends := c.Status.Terminal()
	var (
		cur   job.Job // the record as last seen, once a condition failed
		held  bool    // whether the job is taken to hold a slot
		shard int     // the counter shard of the slot it holds
		err   error
	)
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if werr := pause(ctx, attempt); werr != nil {
				return job.Job{}, fmt.Errorf("update job %s: %w (after %v)", id, werr, err)
			}
		}
		var (
			j      job.Job
			old    map[string]types.AttributeValue
			failed bool
		)
		if ends && held {
			j, old, failed, err = s.giveBack(ctx, cur, shard, c)
		} else {
			j, old, failed, err = s.updateItem(ctx, id, c, ends)
		}
		switch {
		case conflicted(err):
			// A transaction on the same item ran at the same time.
			err = fmt.Errorf("update job %s: %w", id, err)
			continue
		case err != nil:
			return job.Job{}, err
		case !failed:
			return j, nil
		}
		if len(old) == 0 {
			return job.Job{}, fmt.Errorf("job %s: %w", id, job.ErrNotFound)
		}
		var derr error
		cur, derr = decode(old)
		if derr != nil || !ends || c.Check(cur) != nil || cur.Slot == held {
			return job.Job{}, refusal(id, c, old)
		}
		// The change holds, but the job's slot is not what the write
		// assumed: write again for the slot it has.
		held, shard = cur.Slot, slotShardOf(old)
		err = fmt.Errorf("update job %s: %w: its slot changed meanwhile", id, job.ErrConflict)
	}
	return job.Job{}, err
}

// updateItem applies c in one conditional UpdateItem; slotless adds the
// condition that the job holds no slot. When the condition fails it
// returns the record as it was (nil if there is none) and failed.
func (s *Store) updateItem(ctx context.Context, id string, c job.Change, slotless bool) (
	j job.Job, old map[string]types.AttributeValue, failed bool, err error) {
	cond := condition(c)
	if slotless {
		cond = cond.And(expression.Name(attrSlot).AttributeNotExists())
	}
	return s.conditionalUpdate(ctx, id, "update", cond, s.update(c))
}

// conditionalUpdate writes update to the job id on condition cond in one
// UpdateItem and returns the record written. When the condition fails it
// returns the record as it was (nil if there is none) and failed; verb
// names the write in errors.
func (s *Store) conditionalUpdate(ctx context.Context, id, verb string, cond expression.ConditionBuilder, update expression.UpdateBuilder) (
	j job.Job, old map[string]types.AttributeValue, failed bool, err error) {
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
	if err != nil {
		return job.Job{}, nil, false, fmt.Errorf("%s job %s: %w", verb, id, err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           &s.table,
		Key:                                 key(id),
		ConditionExpression:                 expr.Condition(),
		UpdateExpression:                    expr.Update(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var cfe *types.ConditionalCheckFailedException
	if errors.As(err, &cfe) {
		return job.Job{}, cfe.Item, true, nil
	}
	if err != nil {
		return job.Job{}, nil, false, fmt.Errorf("%s job %s: %w", verb, id, err)
	}
	if j, err = decode(out.Attributes); err != nil {
		return job.Job{}, nil, false, fmt.Errorf("%s job %s: %w", verb, id, err)
	}
	return j, nil, false, nil
}

// condition is job.Change.Check as a condition expression: the job exists,
// is not terminal, does not move backwards and, for a claim, is unclaimed
// and not waiting for a slot.
func condition(c job.Change) expression.ConditionBuilder {
	id := expression.Name(attrID)
	if c.Status != "" && !c.Status.Valid() {
		// Check refuses an unknown status whatever the job; the condition
		// must still fail on a missing job, which then reads as not found.
		return expression.And(id.AttributeExists(), id.AttributeNotExists())
	}
	// The statuses this change may not start from come from Check itself,
	// so the two cannot drift apart. Terminal ones are always among them.
	probe := job.Change{Status: c.Status}
	var from []expression.OperandBuilder
	for _, st := range []job.Status{job.Queued, job.Generating, job.Completed, job.Failed} {
		if probe.Check(job.Job{Status: st}) != nil {
			from = append(from, value(st))
		}
	}
	cond := expression.And(id.AttributeExists(),
		expression.Not(expression.Name(attrStatus).In(from[0], from[1:]...)))
	if c.ClaimSubmit {
		cond = cond.And(
			expression.Name(attrSubmitStarted).AttributeNotExists(),
			expression.Name(attrUpstreamID).AttributeNotExists(),
			expression.Name(attrWaiting).AttributeNotExists())
	}
	if c.Park != "" {
		cond = cond.And(expression.Name(attrWaiting).AttributeExists())
	}
	return cond
}

// update is job.Change.Apply as an update expression.
func (s *Store) update(c job.Change) expression.UpdateBuilder {
	u := expression.Set(expression.Name(attrUpdatedAt), value(c.At))
	if c.Status != "" {
		u = u.Set(expression.Name(attrStatus), value(c.Status))
		if c.Status.Terminal() {
			if at := s.expiry(c.At); at != 0 {
				u = u.Set(expression.Name(attrExpiresAt), value(at))
			}
			// An ended job waits for nothing and holds no slot (Apply);
			// giveBack uncounts a slot it held in the same write. It stays
			// open until announced (MarkAnnounced).
			u = u.Remove(expression.Name(attrWaiting)).
				Remove(expression.Name(attrSlot)).
				Remove(expression.Name(attrSlotShard))
		}
	}
	if c.UpstreamID != "" {
		u = u.Set(expression.Name(attrUpstreamID), value(c.UpstreamID))
	}
	if c.Video != nil {
		u = u.Set(expression.Name(attrVideo), value(c.Video))
	}
	if c.Error != nil {
		u = u.Set(expression.Name(attrError), value(c.Error))
	}
	if c.CreditsUsed != nil {
		u = u.Set(expression.Name(attrCreditsUsed), value(*c.CreditsUsed))
	}
	if c.Polls > 0 {
		u = u.Add(expression.Name(attrPolls), value(c.Polls)).
			Set(expression.Name(attrCheckedAt), value(c.At))
	}
	if c.CountResume {
		u = u.Add(expression.Name(attrResumes), value(1))
	}
	// Apply claims, then releases; one expression may not both set and
	// remove an attribute, and the release wins anyway.
	switch {
	case c.ReleaseSubmit:
		u = u.Remove(expression.Name(attrSubmitStarted))
	case c.ClaimSubmit:
		u = u.Set(expression.Name(attrSubmitStarted), value(c.At))
	}
	if c.Park != "" {
		u = u.Set(expression.Name(attrParkToken), value(c.Park))
	}
	return u
}

// refusal explains a failed update condition from the record as it was.
func refusal(id string, c job.Change, old map[string]types.AttributeValue) error {
	if len(old) == 0 {
		return fmt.Errorf("job %s: %w", id, job.ErrNotFound)
	}
	err := job.ErrConflict
	if j, derr := decode(old); derr == nil {
		if cerr := c.Check(j); cerr != nil {
			err = cerr
		}
	}
	return fmt.Errorf("update job %s: %w", id, err)
}

// sameRecord reports whether two records are the same job as written,
// their requests compared by value (see sameRequest).
func sameRecord(a, b job.Job) bool {
	if !sameRequest(a.Request, b.Request) {
		return false
	}
	a.Request, b.Request = job.Request{}, job.Request{}
	x, errA := json.Marshal(normalTimes(a))
	y, errB := json.Marshal(normalTimes(b))
	return errA == nil && errB == nil && string(x) == string(y)
}

func normalTimes(j job.Job) job.Job {
	j.CreatedAt, j.UpdatedAt, j.Deadline = j.CreatedAt.UTC(), j.UpdatedAt.UTC(), j.Deadline.UTC()
	for _, p := range []**time.Time{&j.SubmitStarted, &j.CheckedAt, &j.AnnounceClaimed, &j.AnnouncedAt} {
		if *p != nil {
			t := (*p).UTC()
			*p = &t
		}
	}
	return j
}

func decode(av map[string]types.AttributeValue) (job.Job, error) {
	var it item
	if err := attributevalue.UnmarshalMapWithOptions(av, &it, decoding); err != nil {
		return job.Job{}, fmt.Errorf("decode: %w", err)
	}
	return job.Job{
		ID: it.ID, Tenant: it.Tenant, Status: it.Status, Request: job.Request(it.Request),
		UpstreamID: it.UpstreamID, SubmitStarted: it.SubmitStarted,
		Video: it.Video, Error: it.Error, CreditsUsed: it.CreditsUsed, Polls: it.Polls, Resumes: it.Resumes,
		CheckedAt: it.CheckedAt, CallbackURL: it.CallbackURL, Batch: it.Batch,
		Waiting: it.Waiting != "", Slot: it.Slot, ParkToken: it.ParkToken, GenerationSeconds: it.GenerationSeconds,
		AnnounceClaimed: it.AnnounceClaimed, AnnouncedAt: it.AnnouncedAt,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, Deadline: it.Deadline,
	}, nil
}
