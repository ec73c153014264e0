// Package openapi holds the API's OpenAPI 3.1 document, openapi.json,
// embedded so that the API serves exactly the committed file at
// /openapi.json. The document is written by hand: it carries the prose,
// limits and AIML compatibility notes a generator from the Go types would
// not. The contract tests keep it true: internal/api validates every
// request and response its tests make against it (see openapitest), and
// this package's tests hold its routes to template.yaml and its schemas'
// properties to the Go wire types.
package openapi

import (
	_ "embed"
)

//go:embed openapi.json
var document []byte

// Path is where the API serves the document, without a key.
const Path = "/openapi.json"

// Document returns the document's JSON, a copy the caller may keep.
func Document() []byte {
	return append([]byte(nil), document...)
}
