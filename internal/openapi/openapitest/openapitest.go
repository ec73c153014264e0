// Package openapitest checks real HTTP exchanges with the API against its
// OpenAPI document (internal/openapi), with kin-openapi's openapi3filter:
// the tests of internal/api run every request they make through it, and
// the local runtime's end-to-end tests do too.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/vidgen/vidgen/internal/openapi"
)

// server is the one server the checker routes on: requests are matched by
// path and method whatever host they were sent to.
const server = "http://vidgen.test"

// Checker validates exchanges against one loaded document. It is safe for
// concurrent use.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
}

// New loads and validates the API's document.
func New() (*Checker, error) {
	return Load(openapi.Document())
}

// Load builds a Checker from a document's JSON: the tests that prove the
// check can fail load altered copies.
func Load(data []byte) (*Checker, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	routed := *doc
	routed.Servers = openapi3.Servers{{URL: server}}
	router, err := gorillamux.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &Checker{doc: doc, router: router}, nil
}

// Doc is the loaded document.
func (c *Checker) Doc() *openapi3.T { return c.doc }

// Exchange is one request and the answer the API gave it.
type Exchange struct {
	Method string
	Path   string     // as sent, without the query
	Query  url.Values // nil for none
	Header http.Header
	Body   []byte
	// Authorized says API Gateway's authorizer let the request through, as
	// the request context of an API Gateway event says: it then needs no
	// Authorization header.
	Authorized bool

	Status         int
	ResponseHeader http.Header
	ResponseBody   []byte
}

// HTTPExchange is the Exchange of an HTTP request sent with body and its
// response read as respBody, for tests that talk to the API over HTTP.
func HTTPExchange(req *http.Request, body []byte, resp *http.Response, respBody []byte) Exchange {
	var query url.Values
	if req.URL.RawQuery != "" {
		query = req.URL.Query()
	}
	return Exchange{
		Method: req.Method, Path: req.URL.Path, Query: query, Header: req.Header, Body: body,
		Status: resp.StatusCode, ResponseHeader: resp.Header, ResponseBody: respBody,
	}
}

type authorizedKey struct{}

// Check validates one exchange:
//   - a request no route of the document matches must have been refused
//     with 404 or 405 and an ErrorResponse: a route the API serves but the
//     document lacks fails here;
//   - a request the document refuses (parameters, body, missing key) must
//     have been answered 4xx: a document stricter than the API fails;
//   - the response's status must be documented for the operation, and its
//     headers and body must match.
func (c *Checker) Check(ctx context.Context, x Exchange) error {
	// The API ignores one trailing slash (api.Handle trims it).
	path := x.Path
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	u := server + path
	if len(x.Query) > 0 {
		u += "?" + x.Query.Encode()
	}
	ctx = context.WithValue(ctx, authorizedKey{}, x.Authorized)
	req, err := http.NewRequestWithContext(ctx, x.Method, u, bytes.NewReader(x.Body))
	if err != nil {
		return fmt.Errorf("build the request %s %s: %w", x.Method, x.Path, err)
	}
	req.Header = x.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if x.Status != http.StatusNotFound && x.Status != http.StatusMethodNotAllowed {
			return fmt.Errorf("%s %s is not in the OpenAPI document (%v), yet the API answered %d %s", x.Method, x.Path, err, x.Status, x.ResponseBody)
		}
		return c.CheckSchema("ErrorResponse", x.ResponseBody)
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    authenticate,
	}
	// A body of one schema per model is checked against the model's own
	// (discriminated), as kin-openapi would compile and try all of them.
	discriminated := discriminatedBody(route.Operation)
	opts.ExcludeRequestBody = discriminated != nil
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr == nil && discriminated != nil {
		reqErr = checkDiscriminated(discriminated, x.Header.Get("Content-Type"), x.Body)
	}
	if reqErr != nil && (x.Status < 400 || x.Status > 499) {
		return fmt.Errorf("the OpenAPI document refuses %s %s (%v), yet the API answered %d %s", x.Method, x.Path, reqErr, x.Status, x.ResponseBody)
	}
	// The request was read: the response check reads it again.
	req.Body = io.NopCloser(bytes.NewReader(x.Body))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.ResponseHeader,
		Body:                   io.NopCloser(bytes.NewReader(x.ResponseBody)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s %s answered %d %s, which the OpenAPI document does not allow: %w", x.Method, x.Path, x.Status, x.ResponseBody, err)
	}
	return nil
}

// discriminatedBody is an operation's JSON request body schema when it is
// oneOf with a discriminator, else nil.
func discriminatedBody(op *openapi3.Operation) *openapi3.Schema {
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	if s := mt.Schema.Value; len(s.OneOf) > 0 && s.Discriminator != nil {
		return s
	}
	return nil
}

// checkDiscriminated checks a body against the one schema its
// discriminator names, as OpenAPI defines oneOf with a discriminator: a
// body that is not a JSON object naming a mapped value is refused.
func checkDiscriminated(s *openapi3.Schema, contentType string, body []byte) error {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return fmt.Errorf("the body's Content-Type %q is not application/json", contentType)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return errors.New("the body is not a JSON object")
	}
	name, _ := obj[s.Discriminator.PropertyName].(string)
	ref, ok := s.Discriminator.Mapping[name]
	if !ok {
		return fmt.Errorf("the body's %s %q is none of the discriminator's", s.Discriminator.PropertyName, name)
	}
	// The loader resolves oneOf's refs, not the mapping's.
	i := slices.IndexFunc(s.OneOf, func(alt *openapi3.SchemaRef) bool { return alt.Ref == ref.Ref })
	if i < 0 || s.OneOf[i].Value == nil {
		return fmt.Errorf("the discriminator maps %q to %s, which is not among oneOf", name, ref.Ref)
	}
	if err := s.OneOf[i].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("the body is not a %s: %w", ref.Ref, err)
	}
	return nil
}

// authenticate stands for API Gateway's authorizer: a request needs a
// bearer key, unless the exchange says the authorizer passed it.
func authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme == nil || in.SecurityScheme.Type != "http" || in.SecurityScheme.Scheme != "bearer" {
		return fmt.Errorf("unexpected security scheme %s", in.SecuritySchemeName)
	}
	if ok, _ := ctx.Value(authorizedKey{}).(bool); ok {
		return nil
	}
	scheme, key, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(key) == "" {
		return errors.New("no bearer key")
	}
	return nil
}

// CheckSchema validates a JSON value, such as a webhook's body, against
// the document's schema of that name.
func (c *Checker) CheckSchema(name string, body []byte) error {
	ref := c.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("the OpenAPI document has no schema %s", name)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("body %q is not JSON: %w", body, err)
	}
	if err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("body %s is not a %s: %w", body, name, err)
	}
	return nil
}
