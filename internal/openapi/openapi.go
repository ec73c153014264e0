// Package openapi holds the API's OpenAPI 3.1 document, openapi.json,
// embedded so that the API serves exactly the committed file at
// /openapi.json. The document is written by hand: it carries the prose,
// limits and AIML compatibility notes a generator from the Go types would
// not; only the request's schemas, one per catalogued model, are generated
// from the catalogue (models_test.go, -update). The contract tests keep it
// true: internal/api validates every request and response its tests make
// against it (see openapitest), and this package's tests hold its routes
// to template.yaml, its schemas' properties to the Go wire types and its
// request schemas to the catalogue.
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
