package local

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vidgen/vidgen/internal/local/admin"
	"github.com/vidgen/vidgen/internal/openapi"
	"github.com/vidgen/vidgen/internal/openapi/openapitest"
)

// contract is the API's OpenAPI document, loaded once for the package.
var contract = sync.OnceValues(openapitest.New)

// checkContract validates one exchange with the runtime's gateway against
// the OpenAPI document: call, the end-to-end tests' way to the API, runs
// every request through it. The runtime's own routes (admin, simulator,
// files, metrics), which API Gateway does not serve, are left out.
func checkContract(t *testing.T, req *http.Request, body []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	p := req.URL.Path
	if strings.HasPrefix(p, admin.Prefix) || strings.HasPrefix(p, simPrefix+"/") || strings.HasPrefix(p, filesPrefix+"/") || p == MetricsPath {
		return
	}
	c, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(req.Context(), openapitest.HTTPExchange(req, body, resp, respBody)); err != nil {
		t.Errorf("OpenAPI contract: %v", err)
	}
}

// The runtime's gateway serves the committed OpenAPI document without a
// key, as API Gateway does (template.yaml's OpenAPI event).
func TestOpenAPIDocumentEndToEnd(t *testing.T) {
	rt := start(t, testConfig(t))
	r := call(t, "GET", rt.URL+openapi.Path, "", "", "")
	if r.status != 200 || r.raw != string(openapi.Document()) {
		t.Fatalf("%d %.200s; want the committed document", r.status, r.raw)
	}
}
