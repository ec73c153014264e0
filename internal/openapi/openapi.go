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
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sync"
)

// documentGzip is openapi.json, gzipped: 18 KB rather than 198 KB (one
// request schema per model) in the api function, which keeps it within
// 10 MiB, as the catalogue embeds its reference. openapi.json is the file
// to edit; TestDocumentGzip fails when the two differ, and with -update
// rewrites this file from it.
//
//go:embed openapi.json.gz
var documentGzip []byte

// document is openapi.json, unzipped on first use. A gzip that does not
// read is a broken build, which the package's tests catch.
var document = sync.OnceValue(func() []byte {
	r, err := gzip.NewReader(bytes.NewReader(documentGzip))
	if err != nil {
		panic(fmt.Sprintf("openapi: the embedded document: %v", err))
	}
	b, err := io.ReadAll(r)
	if err != nil {
		panic(fmt.Sprintf("openapi: the embedded document: %v", err))
	}
	return b
})

// Path is where the API serves the document, without a key.
const Path = "/openapi.json"

// Document returns the document's JSON, a copy the caller may keep.
func Document() []byte {
	return bytes.Clone(document())
}
