package s3dir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vidgen/vidgen/internal/asl"
)

// S3PutObject is the ResultWriter resource that writes one object.
const S3PutObject = "arn:aws:states:::s3:putObject"

const errResultWriterFailed = "States.ResultWriterFailed"

// WriteObjectTo returns an asl.Options.WriteObject that writes a distributed
// Map state's ResultWriter files under dir, where ReadItemsFrom reads:
// key k of any bucket is <dir>/<k>, so a later state reads the results
// files back with an ItemReader (SUCCEEDED_0.json is a JSON array) and a
// function reads manifest.json from the same place. A key that would leave
// dir is refused. Each object appears whole: it is written aside and
// renamed into place.
func WriteObjectTo(dir string) func(ctx context.Context, bucket, key string, body []byte) error {
	return func(ctx context.Context, bucket, key string, body []byte) error {
		fail := func(format string, args ...any) error {
			return &asl.Error{Name: errResultWriterFailed, Cause: fmt.Sprintf(format, args...)}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		name := filepath.FromSlash(key)
		if !filepath.IsLocal(name) {
			return fail("key %q is not a relative path inside the data dir", key)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fail("write s3://%s/%s: %v", bucket, key, err)
		}
		// os.Root also refuses symlinks that lead out of dir.
		root, err := os.OpenRoot(dir)
		if err != nil {
			return fail("write s3://%s/%s: %v", bucket, key, err)
		}
		defer root.Close()
		if err := root.MkdirAll(filepath.Dir(name), 0o700); err != nil {
			return fail("write s3://%s/%s: %v", bucket, key, err)
		}
		var suffix [8]byte
		rand.Read(suffix[:])
		tmp := name + ".tmp-" + hex.EncodeToString(suffix[:])
		if err := root.WriteFile(tmp, body, 0o600); err != nil {
			return fail("write s3://%s/%s: %v", bucket, key, err)
		}
		if err := root.Rename(tmp, name); err != nil {
			root.Remove(tmp)
			return fail("write s3://%s/%s: %v", bucket, key, err)
		}
		return nil
	}
}
