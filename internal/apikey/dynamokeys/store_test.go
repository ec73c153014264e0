package dynamokeys_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/dynamokeys"
	"github.com/vidgen/vidgen/internal/apikey/keytest"
	"github.com/vidgen/vidgen/internal/awstest"
)

func TestMain(m *testing.M) {
	os.Exit(awstest.Main(m))
}

// newStore makes a store on a table of its own, dropped when t ends.
func newStore(t *testing.T) (*dynamokeys.Store, *dynamodb.Client, string) {
	t.Helper()
	client, table := awstest.NewTable(t, "apikeys-", dynamokeys.CreateTable)
	return dynamokeys.New(client, table), client, table
}

func TestContract(t *testing.T) {
	keytest.Run(t, func(t *testing.T) apikey.Store {
		s, _, _ := newStore(t)
		return s
	})
}

// The table holds hashes and labels only: no attribute carries the
// plaintext, and items have the documented shape.
func TestItemShape(t *testing.T) {
	s, client, table := newStore(t)
	plaintext, hash, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 25, 12, 0, 0, 5, time.UTC)
	if err := s.Put(t.Context(), apikey.Key{Hash: hash, Tenant: "tenantA", CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(t.Context(), hash, created.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName: &table,
		Key:       map[string]types.AttributeValue{"hash": &types.AttributeValueMemberS{Value: hash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"hash": hash, "tenant": "tenantA",
		"created_at": "2026-11-25T12:00:00.000000005Z", "revoked_at": "2026-11-25T13:00:00.000000005Z",
	}
	if len(out.Item) != len(want) {
		t.Errorf("item has %d attributes, want %d: %v", len(out.Item), len(want), out.Item)
	}
	for name, av := range out.Item {
		s, ok := av.(*types.AttributeValueMemberS)
		if !ok {
			t.Errorf("%s is %T, want a string", name, av)
			continue
		}
		if strings.Contains(s.Value, plaintext) || strings.Contains(s.Value, strings.TrimPrefix(plaintext, apikey.Prefix)) {
			t.Errorf("%s holds the plaintext key", name)
		}
		if s.Value != want[name] {
			t.Errorf("%s = %q, want %q", name, s.Value, want[name])
		}
	}
}
