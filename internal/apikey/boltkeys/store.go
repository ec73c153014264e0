// Package boltkeys keeps API keys in a bbolt database, local mode's store.
// Local mode already holds jobs.db open, and bbolt lets one process open a
// file only once, so New takes that open database and adds its bucket;
// Open is for tools that run while local mode does not.
package boltkeys

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vidgen/vidgen/internal/apikey"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Bucket is the bucket the keys live in, by hash.
const Bucket = "apikeys"

// openTimeout bounds the wait for another process to release the file.
const openTimeout = 5 * time.Second

// Store is an API key store in one bucket of a bbolt database.
type Store struct {
	db    *bolt.DB
	owned bool // Close closes db only when Open opened it
}

var _ apikey.Store = (*Store)(nil)

// New returns a store in db, creating its bucket if needed. Closing the
// store leaves db open.
func New(db *bolt.DB) (*Store, error) {
	err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte(Bucket))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("init API key store: %w", err)
	}
	return &Store{db: db}, nil
}

// Open opens (creating if needed) the database at path and returns a store
// in it that Close closes.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open API key store %s: another process holds it (stop vidgen-local first): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open API key store %s: %w", path, err)
	}
	s, err := New(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Close releases the database if Open opened it.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	return s.db.Close()
}

// record is a key as the bucket holds it; the JSON names are the format
// on disk, so they do not change with the Go field names.
type record struct {
	Tenant    string     `json:"tenant"`
	Name      string     `json:"name,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func encode(k apikey.Key) ([]byte, error) {
	r := record{Tenant: k.Tenant, Name: k.Name, CreatedAt: k.CreatedAt.UTC()}
	if k.RevokedAt != nil {
		r.RevokedAt = new(k.RevokedAt.UTC())
	}
	return json.Marshal(r)
}

func decode(hash string, data []byte) (apikey.Key, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return apikey.Key{}, fmt.Errorf("decode API key %s: %w", hash, err)
	}
	k := apikey.Key{Hash: hash, Tenant: r.Tenant, Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
	if r.RevokedAt != nil {
		k.RevokedAt = new(r.RevokedAt.UTC())
	}
	return k, nil
}

// Put stores a new key, failing with apikey.ErrExists if its hash is taken.
func (s *Store) Put(ctx context.Context, k apikey.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := k.Validate(); err != nil {
		return err
	}
	data, err := encode(k)
	if err != nil {
		return fmt.Errorf("encode API key: %w", err)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(Bucket))
		if old := b.Get([]byte(k.Hash)); old != nil {
			// The same key is a retried put whose first answer was lost.
			if bytes.Equal(old, data) {
				return nil
			}
			return fmt.Errorf("put API key %s: %w", k.Hash, apikey.ErrExists)
		}
		return b.Put([]byte(k.Hash), data)
	})
}

// Get returns the key with the given hash, or apikey.ErrNotFound.
func (s *Store) Get(ctx context.Context, hash string) (apikey.Key, error) {
	if err := ctx.Err(); err != nil {
		return apikey.Key{}, err
	}
	var k apikey.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		k, err = get(tx, hash)
		return err
	})
	return k, err
}

// List returns the keys of tenant, or all when tenant is "", oldest first.
// It reads the whole bucket, which suits local mode's handful of keys.
func (s *Store) List(ctx context.Context, tenant string) ([]apikey.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var keys []apikey.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(Bucket)).ForEach(func(h, v []byte) error {
			k, err := decode(string(h), v)
			if err != nil {
				return err
			}
			if tenant == "" || k.Tenant == tenant {
				keys = append(keys, k)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	slices.SortFunc(keys, func(a, b apikey.Key) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Hash, b.Hash))
	})
	return keys, nil
}

// Revoke marks the key revoked at the given time, unless it already is.
func (s *Store) Revoke(ctx context.Context, hash string, at time.Time) (apikey.Key, error) {
	if err := ctx.Err(); err != nil {
		return apikey.Key{}, err
	}
	var k apikey.Key
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if k, err = get(tx, hash); err != nil || k.Revoked() {
			return err
		}
		k.RevokedAt = new(at.UTC())
		data, err := encode(k)
		if err != nil {
			return fmt.Errorf("encode API key %s: %w", hash, err)
		}
		return tx.Bucket([]byte(Bucket)).Put([]byte(hash), data)
	})
	return k, err
}

func get(tx *bolt.Tx, hash string) (apikey.Key, error) {
	var data []byte
	if hash != "" { // bbolt rejects an empty key; no stored key has one
		data = tx.Bucket([]byte(Bucket)).Get([]byte(hash))
	}
	if data == nil {
		return apikey.Key{}, fmt.Errorf("API key %q: %w", hash, apikey.ErrNotFound)
	}
	return decode(hash, data)
}
