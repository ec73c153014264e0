package asl

import (
	"bytes"
	"encoding/json"
)

// CompactInput is an execution input as Step Functions keeps it: compact
// JSON, "{}" for none. It fails on input that is not JSON.
func CompactInput(in json.RawMessage) (json.RawMessage, error) {
	if len(in) == 0 {
		return json.RawMessage("{}"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, in); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
