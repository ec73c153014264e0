// Package dynamokeys keeps API keys in a DynamoDB table of their own, the
// store of the deployed service. The authorizer reads single items by
// partition key, the one access that is cheap and fast at any size.
//
// The table has the partition key hash (S) and a global secondary index
// by-tenant on tenant (S); template.yaml's KeysTable declares the same
// schema and CreateTable makes it for tests.
package dynamokeys

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/dynamotable"
)

// Attribute and index names, shared by items, expressions and the schema.
const (
	attrHash      = "hash"
	attrTenant    = "tenant"
	attrRevokedAt = "revoked_at"

	// TenantIndex is the index List reads for one tenant.
	TenantIndex = "by-tenant"
)

// Client is the part of *dynamodb.Client a Store uses.
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Store is an API key store backed by one DynamoDB table.
type Store struct {
	client Client
	table  string
}

var _ apikey.Store = (*Store)(nil)

// New returns a store of the keys in table.
func New(client Client, table string) *Store {
	return &Store{client: client, table: table}
}

// item is a key as the table holds it. Times are RFC 3339 strings in UTC
// (the SDK's encoding of time.Time); Name is omitted when empty.
type item struct {
	Hash      string     `dynamodbav:"hash"`
	Tenant    string     `dynamodbav:"tenant"`
	Name      string     `dynamodbav:"name,omitempty"`
	CreatedAt time.Time  `dynamodbav:"created_at"`
	RevokedAt *time.Time `dynamodbav:"revoked_at,omitempty"`
}

func toItem(k apikey.Key) item {
	it := item{Hash: k.Hash, Tenant: k.Tenant, Name: k.Name, CreatedAt: k.CreatedAt.UTC()}
	if k.RevokedAt != nil {
		it.RevokedAt = new(k.RevokedAt.UTC())
	}
	return it
}

// sameKey reports whether a and b are the same stored key.
func sameKey(a, b apikey.Key) bool {
	x, y := toItem(a), toItem(b)
	return x.Hash == y.Hash && x.Tenant == y.Tenant && x.Name == y.Name && x.CreatedAt.Equal(y.CreatedAt) &&
		(x.RevokedAt == nil) == (y.RevokedAt == nil) && (x.RevokedAt == nil || x.RevokedAt.Equal(*y.RevokedAt))
}

func decode(av map[string]types.AttributeValue) (apikey.Key, error) {
	var it item
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return apikey.Key{}, fmt.Errorf("decode API key: %w", err)
	}
	k := apikey.Key{Hash: it.Hash, Tenant: it.Tenant, Name: it.Name, CreatedAt: it.CreatedAt.UTC()}
	if it.RevokedAt != nil {
		k.RevokedAt = new(it.RevokedAt.UTC())
	}
	return k, nil
}

func key(hash string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrHash: &types.AttributeValueMemberS{Value: hash}}
}

// Put stores a new key, failing with apikey.ErrExists if its hash is taken.
func (s *Store) Put(ctx context.Context, k apikey.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	av, err := attributevalue.MarshalMap(toItem(k))
	if err != nil {
		return fmt.Errorf("encode API key: %w", err)
	}
	old, err := dynamotable.PutNew(ctx, s.client, s.table, attrHash, av)
	if errors.Is(err, dynamotable.ErrTaken) {
		// The same key is a retried put whose first answer was lost: success.
		if o, derr := decode(old); derr == nil && sameKey(o, k) {
			return nil
		}
		return fmt.Errorf("put API key %s: %w", k.Hash, apikey.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("put API key %s: %w", k.Hash, err)
	}
	return nil
}

// Get returns the key with the given hash, or apikey.ErrNotFound. It reads
// consistently, so a revocation that has returned is seen at once.
func (s *Store) Get(ctx context.Context, hash string) (apikey.Key, error) {
	if !apikey.ValidHash(hash) { // DynamoDB rejects an empty key; no key has another form
		return apikey.Key{}, fmt.Errorf("API key %q: %w", hash, apikey.ErrNotFound)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(hash),
		ConsistentRead: new(true),
	})
	if err != nil {
		return apikey.Key{}, fmt.Errorf("get API key %s: %w", hash, err)
	}
	if out.Item == nil {
		return apikey.Key{}, fmt.Errorf("API key %s: %w", hash, apikey.ErrNotFound)
	}
	return decode(out.Item)
}

// List returns the keys of tenant, or all when tenant is "", oldest first.
// One tenant's keys come from the by-tenant index, which may lag a write by
// a moment; all keys come from a scan, fine for an operator's command.
func (s *Store) List(ctx context.Context, tenant string) ([]apikey.Key, error) {
	var (
		items []map[string]types.AttributeValue
		err   error
	)
	if tenant == "" {
		items, err = s.scan(ctx)
	} else {
		items, err = s.query(ctx, tenant)
	}
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	keys := make([]apikey.Key, 0, len(items))
	for _, av := range items {
		k, err := decode(av)
		if err != nil {
			return nil, fmt.Errorf("list API keys: %w", err)
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b apikey.Key) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Hash, b.Hash))
	})
	return keys, nil
}

func (s *Store) scan(ctx context.Context) ([]map[string]types.AttributeValue, error) {
	p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: &s.table, ConsistentRead: new(true)})
	return allItems(ctx, p, func(o *dynamodb.ScanOutput) []map[string]types.AttributeValue { return o.Items })
}

func (s *Store) query(ctx context.Context, tenant string) ([]map[string]types.AttributeValue, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrTenant).Equal(expression.Value(tenant))).
		Build()
	if err != nil {
		return nil, err
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 new(TenantIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return allItems(ctx, p, func(o *dynamodb.QueryOutput) []map[string]types.AttributeValue { return o.Items })
}

// pages is what the SDK's Scan and Query paginators have in common.
type pages[O any] interface {
	HasMorePages() bool
	NextPage(ctx context.Context, optFns ...func(*dynamodb.Options)) (O, error)
}

// allItems reads every page of p and returns the items of all of them.
func allItems[O any](ctx context.Context, p pages[O], items func(O) []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	var all []map[string]types.AttributeValue
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, items(page)...)
	}
	return all, nil
}

// Revoke marks the key revoked at the given time, unless it already is,
// in one conditional update.
func (s *Store) Revoke(ctx context.Context, hash string, at time.Time) (apikey.Key, error) {
	if !apikey.ValidHash(hash) {
		return apikey.Key{}, fmt.Errorf("API key %q: %w", hash, apikey.ErrNotFound)
	}
	name := expression.Name(attrRevokedAt)
	expr, err := expression.NewBuilder().
		WithCondition(expression.Name(attrHash).AttributeExists()).
		WithUpdate(expression.Set(name, name.IfNotExists(expression.Value(at.UTC())))).
		Build()
	if err != nil {
		return apikey.Key{}, fmt.Errorf("revoke API key %s: %w", hash, err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(hash),
		ConditionExpression:       expr.Condition(),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return apikey.Key{}, fmt.Errorf("API key %s: %w", hash, apikey.ErrNotFound)
	}
	if err != nil {
		return apikey.Key{}, fmt.Errorf("revoke API key %s: %w", hash, err)
	}
	return decode(out.Attributes)
}
