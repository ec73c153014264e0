package client_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vidgen/vidgen/internal/openapi/openapitest"
)

// contract is the API's OpenAPI document, loaded once for the package.
var contract = sync.OnceValues(openapitest.New)

// contractTransport checks every exchange the client has with the API
// against the OpenAPI document, so the client's requests and the answers
// it decodes are the documented ones. Video downloads (signed /files/
// links, not an API route) pass unchecked.
type contractTransport struct {
	t    *testing.T
	next http.RoundTripper
}

func (c contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil || strings.HasPrefix(req.URL.Path, "/files/") {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	checker, err := contract()
	if err != nil {
		c.t.Error(err)
		return resp, nil
	}
	if err := checker.Check(req.Context(), openapitest.HTTPExchange(req, body, resp, respBody)); err != nil {
		c.t.Errorf("OpenAPI contract: %s %s: %v", req.Method, req.URL, err)
	}
	return resp, nil
}

// checked is an HTTP client whose exchanges are checked against the
// document.
func checked(t *testing.T) *http.Client {
	return &http.Client{Transport: contractTransport{t: t, next: http.DefaultTransport}}
}
