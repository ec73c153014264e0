package s3dir

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/clock"
)

func TestWriteObjectTo(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	write := WriteObjectTo(dir)
	tests := []struct {
		name, key string
		wantErr   bool
	}{
		{name: "nested key", key: "runs/1234/SUCCEEDED_0.json"},
		{name: "overwrite", key: "runs/1234/SUCCEEDED_0.json"},
		{name: "parent dir", key: "../x.json", wantErr: true},
		{name: "absolute", key: "/etc/x.json", wantErr: true},
		{name: "through a symlink out of dir", key: "escape/x.json", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`["` + tt.name + `"]`)
			err := write(context.Background(), "bucket", tt.key, body)
			if tt.wantErr {
				var se *asl.Error
				if !errors.As(err, &se) || se.Name != "States.ResultWriterFailed" {
					t.Fatalf("error = %v, want States.ResultWriterFailed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tt.key)))
			if err != nil || string(got) != string(body) {
				t.Fatalf("read back %q, %v; want %q", got, err, body)
			}
		})
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("wrote %v outside the data dir", entries)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "runs", "1234")); len(entries) != 1 {
		t.Fatalf("left %v behind, want only the object", entries)
	}
}

// resultsDef exports a distributed Map's results, and reads them back with
// another Map's ItemReader from the key of the manifest the first returns.
const resultsDef = `{"StartAt":"Run","States":{
	"Run":{"Type":"Map","ItemsPath":"$.xs",
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"Double",
			"States":{"Double":{"Type":"Pass","Parameters":{"n.$":"$.n","twice.$":"States.MathAdd($.n, $.n)"},"End":true}}},
		"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"results","Prefix":"batches/out"}},
		"ResultPath":"$.written","Next":"Parts"},
	"Parts":{"Type":"Pass","Parameters":{"parts.$":"States.StringSplit($.written.ResultWriterDetails.Key, '/')"},"ResultPath":"$.key","Next":"Key"},
	"Key":{"Type":"Pass","Parameters":{"manifest.$":"$.written.ResultWriterDetails.Key",
		"succeeded.$":"States.Format('{}/{}/{}/SUCCEEDED_0.json', $.key.parts[0], $.key.parts[1], $.key.parts[2])"},"Next":"Reread"},
	"Reread":{"Type":"Map","ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON"},
			"Parameters":{"Bucket":"results","Key.$":"$.succeeded"}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"Out",
			"States":{"Out":{"Type":"Pass","Parameters":{"status.$":"$.Status","output.$":"States.StringToJson($.Output)"},"End":true}}},
		"ResultPath":"$.reread","End":true}}}`

// TestResultWriterRoundTrip runs a ResultWriter on the interpreter: the
// files land in the data dir, and the ItemReader reads them back.
func TestResultWriterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	machine, err := asl.Parse([]byte(resultsDef))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	output, err := machine.Run(context.Background(), asl.Execution{ID: "r", Name: "r", Input: json.RawMessage(`{"xs":[{"n":1},{"n":2}]}`), StartTime: clk.Now()},
		asl.Options{Clock: clk, ReadItems: ReadItemsFrom(dir), WriteObject: WriteObjectTo(dir)})
	if err != nil {
		t.Fatalf("execution failed: %v", err)
	}
	var out struct {
		Manifest string
		Reread   []struct {
			Status string
			Output struct{ N, Twice int }
		}
	}
	if err := json.Unmarshal(output, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Reread) != 2 || out.Reread[1].Status != "SUCCEEDED" || out.Reread[1].Output.Twice != 4 {
		t.Fatalf("read back %+v", out.Reread)
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(out.Manifest)))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		DestinationBucket string
		ResultFiles       map[string][]struct{ Key string }
	}
	if err := json.Unmarshal(b, &m); err != nil || m.DestinationBucket != "results" || len(m.ResultFiles["SUCCEEDED"]) != 1 {
		t.Fatalf("manifest %s: %v", b, err)
	}
}
