package s3dir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Objects reads S3 objects from the data dir as the local runtime keeps
// them: key k of any bucket is <Dir>/<k>, where WriteObjectTo writes a
// ResultWriter's files and ReadItemsFrom reads manifests. The batch's
// Summarize step reads the Map's results through it.
type Objects struct{ Dir string }

// Get reads key; a key that would leave Dir is refused.
func (o Objects) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := filepath.FromSlash(key)
	if !filepath.IsLocal(name) {
		return nil, fmt.Errorf("s3://%s/%s: key is not a relative path inside the data dir", bucket, key)
	}
	root, err := os.OpenRoot(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	defer root.Close()
	data, err := root.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	return data, nil
}
