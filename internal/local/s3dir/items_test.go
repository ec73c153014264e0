package s3dir

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/asl"
)

func TestReadItemsFrom(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"batches/a.jsonl":   "{\"n\":1}\n\n  \"two\"  \r\n[3]\n4", // blank lines skipped, no final newline
		"batches/bad.jsonl": "{\"n\":1}\n\n{\"n\":\n",
		"items.json":        ` [ {"n":1}, "two", [3], 4 ] `,
		"object.json":       `{"n":1}`,
		"open.json":         `[1, 2`,
	}
	for name, text := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(outside, []byte(`[1]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, resource, params, config string
		want                           string // the items joined by ","
		wantErr                        string // part of the States.ItemReaderFailed cause
	}{
		{name: "JSONL", params: `{"Bucket":"b","Key":"batches/a.jsonl"}`, config: `{"InputType":"JSONL"}`, want: `{"n":1},"two",[3],4`},
		{name: "JSONL MaxItems", params: `{"Bucket":"b","Key":"batches/a.jsonl"}`, config: `{"InputType":"JSONL","MaxItems":2}`, want: `{"n":1},"two"`},
		{name: "JSONL stops before a bad line past MaxItems", params: `{"Key":"batches/bad.jsonl"}`, config: `{"InputType":"JSONL","MaxItems":1}`, want: `{"n":1}`},
		{name: "JSONL bad line", params: `{"Key":"batches/bad.jsonl"}`, config: `{"InputType":"JSONL"}`, wantErr: "line 3 is not valid JSON"},
		{name: "JSON", params: `{"Key":"items.json"}`, config: `{"InputType":"JSON"}`, want: `{"n":1},"two",[3],4`},
		{name: "JSON MaxItems", params: `{"Key":"items.json"}`, config: `{"InputType":"JSON","MaxItems":3}`, want: `{"n":1},"two",[3]`},
		{name: "JSON MaxItems above the count", params: `{"Key":"items.json"}`, config: `{"InputType":"JSON","MaxItems":10}`, want: `{"n":1},"two",[3],4`},
		{name: "JSON not an array", params: `{"Key":"object.json"}`, config: `{"InputType":"JSON"}`, wantErr: "needs a JSON array"},
		{name: "JSON unterminated", params: `{"Key":"open.json"}`, config: `{"InputType":"JSON"}`, wantErr: "s3:///open.json"},
		{name: "missing", params: `{"Bucket":"b","Key":"batches/none.jsonl"}`, config: `{"InputType":"JSONL"}`, wantErr: "s3://b/batches/none.jsonl does not exist"},
		{name: "dot-dot", params: `{"Key":"../secret.json"}`, config: `{"InputType":"JSON"}`, wantErr: "not a relative path inside the data dir"},
		{name: "dot-dot inside", params: `{"Key":"batches/../../x"}`, config: `{"InputType":"JSON"}`, wantErr: "not a relative path"},
		{name: "absolute", params: `{"Key":"` + filepath.ToSlash(outside) + `"}`, config: `{"InputType":"JSON"}`, wantErr: "not a relative path"},
		{name: "empty key", params: `{"Key":""}`, config: `{"InputType":"JSON"}`, wantErr: "not a relative path"},
		{name: "symlink out of the dir", params: `{"Key":"link.json"}`, config: `{"InputType":"JSON"}`, wantErr: "link.json"},
		{name: "CSV", params: `{"Key":"items.json"}`, config: `{"InputType":"CSV"}`, wantErr: `InputType JSON or JSONL, not "CSV"`},
		{name: "other resource", resource: "arn:aws:states:::s3:listObjectsV2", params: `{"Bucket":"b"}`, config: `{}`, wantErr: "only with arn:aws:states:::s3:getObject"},
		{name: "params not an object", params: `[]`, config: `{"InputType":"JSON"}`, wantErr: "Parameters"},
	}
	read := ReadItemsFrom(dir)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource := tt.resource
			if resource == "" {
				resource = S3GetObject
			}
			items, err := read(context.Background(), resource, json.RawMessage(tt.params), json.RawMessage(tt.config))
			if tt.wantErr != "" {
				var se *asl.Error
				if !errors.As(err, &se) || se.Name != "States.ItemReaderFailed" || !strings.Contains(se.Cause, tt.wantErr) {
					t.Fatalf("err = %v, want States.ItemReaderFailed with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(items))
			for i, it := range items {
				got[i] = string(it)
			}
			if strings.Join(got, ",") != tt.want {
				t.Fatalf("items = %s, want %s", strings.Join(got, ","), tt.want)
			}
		})
	}
}
