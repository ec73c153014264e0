// Package plainjson writes JSON the way every vidgen answer, event, webhook
// and state payload is written: compact and without HTML escaping.
//
// encoding/json escapes <, > and & by default. vidgen's payloads carry signed
// video URLs, whose query's & would read as \u0026: a client that pastes a URL
// from a raw body then gets a broken signature, and Step Functions measures
// payload sizes without that escaping.
package plainjson

import (
	"bytes"
	"encoding/json"
)

// Marshal is json.Marshal without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
