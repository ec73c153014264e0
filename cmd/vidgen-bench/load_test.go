package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLambdaSizesBoundEachZip(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int64{"small": 4 << 20, "big": 10<<20 + 1} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(dir, name+".zip"), filepath.Join(dir, name, "bootstrap")} {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(size); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	var ts targets
	lambdaSizes(dir, &ts)
	if len(ts) != 4 {
		t.Fatalf("targets %+v, want two per zip: the zip and its binary", ts)
	}
	// Sorted by name: big, then small.
	if ts[0].figure != "deployment package of big" || ts[0].met || ts[0].measured != "10.0 MiB zipped (bootstrap 10.0 MiB)" {
		t.Errorf("big: %+v, want not met", ts[0])
	}
	if ts[1].figure != "binary of big, unzipped" || ts[1].met || ts[1].measured != "10.00 MiB (10485761 bytes)" {
		t.Errorf("big's binary: %+v, want not met", ts[1])
	}
	if ts[2].figure != "deployment package of small" || !ts[2].met || ts[2].measured != "4.0 MiB zipped (bootstrap 4.0 MiB)" {
		t.Errorf("small: %+v, want met", ts[2])
	}
	if ts[3].figure != "binary of small, unzipped" || !ts[3].met || ts[3].measured != "4.00 MiB (4194304 bytes)" {
		t.Errorf("small's binary: %+v, want met", ts[3])
	}
}

func TestLambdaSizesWithoutABuildAddNothing(t *testing.T) {
	var ts targets
	lambdaSizes(t.TempDir(), &ts)
	if len(ts) != 0 {
		t.Fatalf("targets %+v without a build, want none", ts)
	}
}

// The load test runs make run's configuration of the real local runtime;
// a short run checks that every request is answered as it should be (how
// fast is the benchmark's business).
func TestLoadTestAnswersEveryRequest(t *testing.T) {
	var ts targets
	if err := loadTest(filepath.Join("..", "..", "template.yaml"), 50, &ts); err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || !strings.HasSuffix(ts[0].measured, ", 0 errors") || !strings.HasPrefix(ts[0].measured, "submit ") {
		t.Fatalf("targets %+v, want one figure with 0 errors", ts)
	}
}
