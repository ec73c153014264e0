// Package logstest reads back what a logs logger wrote, for tests.
package logstest

import (
	"encoding/json"
	"strings"
	"testing"
)

// Lines parses every line of out as one JSON log record, failing t on a
// line that is not JSON.
func Lines(t testing.TB, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for l := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}
