package boltkeys_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/boltkeys"
	"github.com/vidgen/vidgen/internal/apikey/boltkeys/boltkeystest"
	"github.com/vidgen/vidgen/internal/apikey/keytest"
	bolt "go.etcd.io/bbolt"
)

func TestContract(t *testing.T) {
	keytest.Run(t, func(t *testing.T) apikey.Store { return boltkeystest.New(t) })
}

// A store made with New shares a database its owner keeps open, as local
// mode shares jobs.db, and survives the owner reopening the file.
func TestSharesAnOpenDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "jobs.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("jobs"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s, err := boltkeys.New(db)
	if err != nil {
		t.Fatal(err)
	}
	k := apikey.Key{Hash: apikey.Hash("k"), Tenant: "tenantA", CreatedAt: time.Now()}
	if err := s.Put(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close left the owner's database open.
	if err := db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("jobs")) == nil {
			t.Error("the owner's bucket is gone")
		}
		return nil
	}); err != nil {
		t.Fatalf("database closed by the store: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	reopened, err := boltkeys.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if got, err := reopened.Get(ctx, k.Hash); err != nil || got.Tenant != "tenantA" {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
}

// A second process (here, a second Open) cannot hold the file: the error
// says why rather than just "timeout".
func TestOpenWhileHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	held, err := boltkeys.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	start := time.Now()
	_, err = boltkeys.Open(path)
	if err == nil || !strings.Contains(err.Error(), "another process holds it") {
		t.Fatalf("second open: err = %v, want it to say the file is held", err)
	}
	if waited := time.Since(start); waited > 15*time.Second {
		t.Errorf("second open waited %s", waited)
	}
}
