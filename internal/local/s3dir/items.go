package s3dir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vidgen/vidgen/internal/asl"
)

// S3GetObject is the ItemReader resource that reads one object.
const S3GetObject = "arn:aws:states:::s3:getObject"

const errItemReaderFailed = "States.ItemReaderFailed"

// ReadItemsFrom returns an asl.Options.ReadItems that reads the objects of
// arn:aws:states:::s3:getObject from dir: {"Bucket": b, "Key": k} reads
// <dir>/<k>. Locally every bucket lives in the data dir, so Bucket is not
// used; a Key that would leave dir is refused. ReaderConfig InputType JSONL
// gives one item per non-empty line, JSON the elements of an array; MaxItems
// above 0 stops after that many.
func ReadItemsFrom(dir string) func(ctx context.Context, resource string, params, readerConfig json.RawMessage) ([]json.RawMessage, error) {
	return func(ctx context.Context, resource string, params, readerConfig json.RawMessage) ([]json.RawMessage, error) {
		fail := func(format string, args ...any) error {
			return &asl.Error{Name: errItemReaderFailed, Cause: fmt.Sprintf(format, args...)}
		}
		if resource != S3GetObject {
			return nil, fail("the local runtime reads items only with %s, not %s", S3GetObject, resource)
		}
		var p struct{ Bucket, Key string }
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, fail("ItemReader Parameters must be {\"Bucket\": …, \"Key\": …}: %v", err)
		}
		var cfg struct {
			InputType string
			MaxItems  int64
		}
		if err := json.Unmarshal(readerConfig, &cfg); err != nil {
			return nil, fail("ItemReader ReaderConfig: %v", err)
		}
		if cfg.InputType != "JSON" && cfg.InputType != "JSONL" {
			return nil, fail("the local runtime reads InputType JSON or JSONL, not %q", cfg.InputType)
		}
		name := filepath.FromSlash(p.Key)
		if !filepath.IsLocal(name) {
			return nil, fail("key %q is not a relative path inside the data dir", p.Key)
		}
		// os.OpenInRoot also refuses symlinks that lead out of dir.
		f, err := os.OpenInRoot(dir, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fail("S3 object s3://%s/%s does not exist (locally: %s)", p.Bucket, p.Key, filepath.Join(dir, name))
		}
		if err != nil {
			return nil, fail("read s3://%s/%s: %v", p.Bucket, p.Key, err)
		}
		defer f.Close()
		var items []json.RawMessage
		if cfg.InputType == "JSONL" {
			items, err = readJSONL(ctx, f, cfg.MaxItems)
		} else {
			items, err = readJSONArray(f, cfg.MaxItems)
		}
		if err != nil {
			return nil, fail("s3://%s/%s: %v", p.Bucket, p.Key, err)
		}
		return items, nil
	}
}

// readJSONL reads one JSON value per non-empty line, stopping after limit
// items when limit > 0.
func readJSONL(ctx context.Context, r io.Reader, limit int64) ([]json.RawMessage, error) {
	br := bufio.NewReader(r)
	items := []json.RawMessage{}
	for line := 1; limit <= 0 || int64(len(items)) < limit; line++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		text, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if t := bytes.TrimSpace(text); len(t) > 0 {
			// The JSON error, not the line: a wrong key may name a file
			// holding a secret.
			var v any
			if err := json.Unmarshal(t, &v); err != nil {
				return nil, fmt.Errorf("line %d is not valid JSON: %w", line, err)
			}
			items = append(items, json.RawMessage(t))
		}
		if err == io.EOF {
			break
		}
	}
	return items, nil
}

// readJSONArray reads the elements of a JSON array, stopping after limit
// items when limit > 0.
func readJSONArray(r io.Reader, limit int64) ([]json.RawMessage, error) {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errors.New("InputType JSON needs a JSON array of items")
	}
	items := []json.RawMessage{}
	for dec.More() && (limit <= 0 || int64(len(items)) < limit) {
		var item json.RawMessage
		if err := dec.Decode(&item); err != nil {
			return nil, fmt.Errorf("item %d: %w", len(items), err)
		}
		items = append(items, item)
	}
	if limit <= 0 || int64(len(items)) < limit {
		if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
			return nil, errors.New("the JSON array is not terminated")
		}
	}
	return items, nil
}
