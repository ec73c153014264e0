package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
// a short run of each kind checks that every request is answered as it
// should be (how fast is the benchmark's business): paced, the target's
// figure; closed loop, the capacity's, with its throughput.
func TestLoadTestAnswersEveryRequest(t *testing.T) {
	var ts targets
	for _, interval := range []time.Duration{time.Millisecond, 0} {
		if err := loadTest(filepath.Join("..", "..", "template.yaml"), 50, interval, &ts); err != nil {
			t.Fatal(err)
		}
	}
	if len(ts) != 2 {
		t.Fatalf("targets %+v, want two", ts)
	}
	paced, closed := ts[0], ts[1]
	if !strings.HasPrefix(paced.measured, "submit ") || !strings.HasSuffix(paced.measured, ", 0 errors") || !strings.Contains(paced.figure, "every 1ms") {
		t.Errorf("paced: %+v, want the p99s with 0 errors", paced)
	}
	if !strings.Contains(closed.measured, " pairs/s; submit ") || !strings.HasSuffix(closed.measured, ", 0 errors") || !closed.met {
		t.Errorf("closed loop: %+v, want the throughput and p99s, met with 0 errors", closed)
	}
}
