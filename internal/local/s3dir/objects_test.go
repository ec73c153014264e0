package s3dir

import (
	"errors"
	"io/fs"
	"testing"
)

// TestObjectsReadWhatWriteObjectWrote: what a ResultWriter writes locally
// reads back under the same key, and nothing outside the data dir does.
func TestObjectsReadWhatWriteObjectWrote(t *testing.T) {
	dir := t.TempDir()
	if err := WriteObjectTo(dir)(t.Context(), "bucket", "results/run/manifest.json", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	o := Objects{Dir: dir}
	got, err := o.Get(t.Context(), "bucket", "results/run/manifest.json")
	if err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if _, err := o.Get(t.Context(), "bucket", "results/run/missing.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing object: %v, want fs.ErrNotExist", err)
	}
	for _, key := range []string{"../outside", "/etc/passwd"} {
		if _, err := o.Get(t.Context(), "bucket", key); err == nil {
			t.Errorf("Get(%q) read outside the data dir", key)
		}
	}
}
