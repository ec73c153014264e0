package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/openapi"
	"github.com/vidgen/vidgen/internal/openapi/openapitest"
)

// contract is the OpenAPI document every test's exchanges are checked
// against, loaded once for the package's tests.
var contract = sync.OnceValues(openapitest.New)

// checkedHandler is the Handler as the tests call it: every request a test
// makes and every answer it gets are validated against the OpenAPI
// document (openapitest.Checker.Check), so the document cannot drift from
// the handler. A route the document lacks fails the test that calls it.
type checkedHandler struct {
	*Handler
	t       testing.TB
	checker *openapitest.Checker
}

func checked(t testing.TB, h *Handler) *checkedHandler {
	t.Helper()
	c, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	return &checkedHandler{Handler: h, t: t, checker: c}
}

func (c *checkedHandler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp, err := c.Handler.Handle(ctx, req)
	if err == nil {
		if cerr := c.checker.Check(ctx, exchange(req, resp)); cerr != nil {
			c.t.Errorf("OpenAPI contract: %v", cerr)
		}
	}
	return resp, err
}

// exchange is an API Gateway event and its answer as the HTTP exchange
// they stand for.
func exchange(req events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) openapitest.Exchange {
	x := openapitest.Exchange{
		Method: req.RequestContext.HTTP.Method, Path: req.RawPath, Header: http.Header{},
		Authorized: authorizedTenant(req) != "", Status: resp.StatusCode, ResponseHeader: http.Header{},
		Body: []byte(req.Body), ResponseBody: []byte(resp.Body),
	}
	if len(req.QueryStringParameters) > 0 {
		x.Query = url.Values{}
		for k, v := range req.QueryStringParameters {
			x.Query.Set(k, v)
		}
	}
	for k, v := range req.Headers {
		x.Header.Set(k, v)
	}
	if req.IsBase64Encoded {
		// A body that is not base64 stays as sent: the API refuses it.
		if b, err := base64.StdEncoding.DecodeString(req.Body); err == nil {
			x.Body = b
		}
	}
	for k, v := range resp.Headers {
		x.ResponseHeader.Set(k, v)
	}
	if resp.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			x.ResponseBody = b
		}
	}
	return x
}

// GET /openapi.json answers the committed document, without a key; other
// methods are refused.
func TestOpenAPIRoute(t *testing.T) {
	h, _, _ := newHandler(t)
	resp, _ := h.Handle(t.Context(), request("GET", openapi.Path, "", "", ""))
	committed, err := os.ReadFile("../openapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Body != string(committed) || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("%d %v %.200s; want the committed document", resp.StatusCode, resp.Headers, resp.Body)
	}
	if resp, _ := h.Handle(t.Context(), request("POST", openapi.Path, "", "application/json", "{}")); resp.StatusCode != 405 || resp.Headers["Allow"] != "GET" {
		t.Fatalf("POST: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// recorder collects what a checkedHandler reports instead of failing the
// test, for the tests that prove the check fails.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// The contract check fails a test whose exchange the document does not
// describe: a handler that answers a route the document lacks, a document
// missing a route the handler serves, a response with an undocumented
// field, and a request the document refuses but the handler accepts.
func TestContractCheckFails(t *testing.T) {
	committed := openapi.Document()
	for _, tc := range []struct {
		name   string
		doc    func(string) string // alters a copy of the document; nil keeps it
		handle func(*Handler)      // alters the handler; nil keeps it
		req    events.APIGatewayV2HTTPRequest
	}{
		{name: "a route missing from the document",
			doc: func(d string) string { return strings.Replace(d, `"/v2/webhooks/secret"`, `"/v2/webhooks/other"`, 1) },
			req: request("GET", PathWebhookSecret, "keyA", "", "")},
		{name: "a method missing from the document",
			doc: func(d string) string { return strings.Replace(d, `"delete": {`, `"x-delete": {`, 1) },
			req: func() events.APIGatewayV2HTTPRequest {
				r := request("DELETE", PathGenerations, "keyA", "", "")
				r.QueryStringParameters = map[string]string{"generation_id": "job-1"}
				return r
			}()},
		{name: "a member the document does not declare",
			doc: func(d string) string {
				return strings.Replace(d, `"id": {"type": "string", "description": "The job's id (a UUID)."},`, ``, 1)
			},
			req: request("POST", PathGenerations, "keyA", "application/json", validBody)},
		{name: "a request the document refuses, accepted",
			doc: func(d string) string {
				return strings.Replace(d, `"prompt": {"type": ["string", "null"], "maxLength": 1000,`, `"prompt": {"type": ["string", "null"], "maxLength": 3,`, 1)
			},
			req: request("POST", PathGenerations, "keyA", "application/json", `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"a long prompt"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := string(committed)
			if tc.doc != nil {
				if doc = tc.doc(doc); doc == string(committed) {
					t.Fatal("the alteration changed nothing")
				}
			}
			c, err := openapitest.Load([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			plain, _, _ := newHandler(t)
			h := plain.Handler
			h.WebhookSecrets = constSecret("whsec_c2VjcmV0")
			rec := &recorder{TB: t}
			wrapped := &checkedHandler{Handler: h, t: rec, checker: c}
			// The job a cancel finds.
			if resp, _ := h.Handle(t.Context(), request("POST", PathGenerations, "keyA", "application/json", validBody)); resp.StatusCode != 200 {
				t.Fatalf("submit: %d %s", resp.StatusCode, resp.Body)
			}
			wrapped.Handle(t.Context(), tc.req)
			if len(rec.errors) == 0 {
				t.Error("the contract check passed")
			}
			// The committed document passes the same exchange.
			rec.errors = nil
			(&checkedHandler{Handler: h, t: rec, checker: mustContract(t)}).Handle(t.Context(), tc.req)
			if len(rec.errors) != 0 {
				t.Errorf("the committed document fails too: %v", rec.errors)
			}
		})
	}
}

func mustContract(t *testing.T) *openapitest.Checker {
	t.Helper()
	c, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type constSecret string

func (s constSecret) Secret(context.Context, string) (string, error) { return string(s), nil }
