package openapitest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/openapi/openapitest"
)

const (
	generation = `{"id":"j1","status":"completed","video":{"url":"https://v/1.mp4","duration":5},"error":null,` +
		`"meta":{"usage":{"credits_used":1,"tokens_used":1}},"created_at":"2026-11-25T12:00:00Z","updated_at":"2026-11-25T12:01:00Z","model":"gen3a_turbo","polls":3}`
	validSubmit = `{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","duration":null,"seed":7}`
)

func jsonHeader(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// Each case is an exchange the check must pass or fail: the failing ones
// prove that a route, a status, a body or a request the document does not
// describe is caught.
func TestCheck(t *testing.T) {
	c, err := openapitest.New()
	if err != nil {
		t.Fatal(err)
	}
	key := jsonHeader("Authorization", "Bearer k")
	for _, tc := range []struct {
		name string
		x    openapitest.Exchange
		fail string // "" passes; else a part of the error
	}{
		{name: "submit", x: openapitest.Exchange{Method: "POST", Path: "/v2/video/generations", Header: key, Body: []byte(validSubmit),
			Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"id":"j1","status":"queued"}`)}},
		{name: "query, trailing slash", x: openapitest.Exchange{Method: "GET", Path: "/v2/video/generations/", Query: url.Values{"generation_id": {"j1"}}, Header: key,
			Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(generation)}},
		{name: "list", x: openapitest.Exchange{Method: "GET", Path: "/v2/video/generations", Query: url.Values{"limit": {"2"}}, Header: key,
			Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"data":[` + generation + `],"next":null}`)}},
		{name: "authorized by the gateway", x: openapitest.Exchange{Method: "GET", Path: "/v2/webhooks/secret", Authorized: true,
			Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"tenant":"t","secret":"whsec_abc","scheme":"x"}`)}},
		{name: "health without a key", x: openapitest.Exchange{Method: "GET", Path: "/v1/health",
			Status: 503, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"status":"failing","checks":{"store":false},"failing":["store"]}`)}},
		{name: "refused request answered 400", x: openapitest.Exchange{Method: "POST", Path: "/v2/video/generations", Header: key, Body: []byte(`{"model":"gen3a_turbo"}`),
			Status: 400, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"error":{"name":"ValidationError","message":"m","fields":[{"field":"image_url","message":"is required"}]}}`)}},
		{name: "no key answered by the gateway", x: openapitest.Exchange{Method: "DELETE", Path: "/v2/video/generations", Query: url.Values{"generation_id": {"j1"}},
			Status: 401, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"message":"Unauthorized"}`)}},
		{name: "unrouted method answered 405", x: openapitest.Exchange{Method: "PUT", Path: "/v2/video/generations", Header: key,
			Status: 405, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"error":{"name":"MethodNotAllowed","message":"m"}}`)}},

		{name: "a route missing from the document", fail: "is not in the OpenAPI document",
			x: openapitest.Exchange{Method: "GET", Path: "/v2/video/secret-route", Header: key,
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{}`)}},
		{name: "a method missing from the document", fail: "is not in the OpenAPI document",
			x: openapitest.Exchange{Method: "PATCH", Path: "/v2/video/generations", Header: key,
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(generation)}},
		{name: "an unrouted request's body is not an ErrorResponse", fail: "is not a ErrorResponse",
			x: openapitest.Exchange{Method: "GET", Path: "/nowhere", Status: 404, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"message":"Not Found"}`)}},
		{name: "an undocumented field in the answer", fail: "does not allow",
			x: openapitest.Exchange{Method: "GET", Path: "/v2/video/generations", Query: url.Values{"generation_id": {"j1"}}, Header: key,
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(strings.Replace(generation, `"id"`, `"tenant":"t","id"`, 1))}},
		{name: "a required field missing from the answer", fail: "does not allow",
			x: openapitest.Exchange{Method: "POST", Path: "/v2/video/generations", Header: key, Body: []byte(validSubmit),
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"id":"j1"}`)}},
		{name: "an unknown status", fail: "does not allow",
			x: openapitest.Exchange{Method: "GET", Path: "/v2/video/generations", Query: url.Values{"generation_id": {"j1"}}, Header: key,
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(strings.Replace(generation, `"completed"`, `"done"`, 1))}},
		{name: "an undocumented status code", fail: "does not allow",
			x: openapitest.Exchange{Method: "GET", Path: "/v1/health", Status: 418, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{}`)}},
		{name: "another model's request", x: openapitest.Exchange{Method: "POST", Path: "/v2/video/generations", Header: key,
			Body:   []byte(`{"model":"klingai/v2-master-text-to-video","prompt":"a fox","duration":10,"advanced_camera_control":{"movement_type":"pan","movement_value":2}}`),
			Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"id":"j1","status":"queued"}`)}},
		{name: "a model's value out of its schema answered 200", fail: "is not a #/components/schemas/Request.klingai.v2-master-text-to-video",
			x: openapitest.Exchange{Method: "POST", Path: "/v2/video/generations", Header: key, Body: []byte(`{"model":"klingai/v2-master-text-to-video","prompt":"a fox","duration":7}`),
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"id":"j1","status":"queued"}`)}},
		{name: "another model's field answered 200", fail: "is not a #/components/schemas/Request.gen3a_turbo",
			x: openapitest.Exchange{Method: "POST", Path: "/v2/video/generations", Header: key, Body: []byte(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","negative_prompt":"blur"}`),
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"id":"j1","status":"queued"}`)}},
		{name: "an unknown model answered 200", fail: "is none of the discriminator's",
			x: openapitest.Exchange{Method: "POST", Path: "/v2/video/generations", Header: key, Body: []byte(`{"model":"no-such-model","prompt":"x"}`),
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"id":"j1","status":"queued"}`)}},
		{name: "a submit not of JSON answered 200", fail: "is not application/json",
			x: openapitest.Exchange{Method: "POST", Path: "/v2/video/generations", Header: http.Header{"Authorization": {"Bearer k"}, "Content-Type": {"text/plain"}}, Body: []byte(validSubmit),
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"id":"j1","status":"queued"}`)}},
		{name: "a refused request answered 200", fail: "refuses",
			x: openapitest.Exchange{Method: "POST", Path: "/v2/video/generations", Header: key, Body: []byte(`{"model":"gen3a_turbo","image_url":"x","extra":1}`),
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(`{"id":"j1","status":"queued"}`)}},
		{name: "no key answered 200", fail: "refuses",
			x: openapitest.Exchange{Method: "GET", Path: "/v2/video/generations", Query: url.Values{"generation_id": {"j1"}},
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(generation)}},
		{name: "wait out of range answered 200", fail: "refuses",
			x: openapitest.Exchange{Method: "GET", Path: "/v2/video/generations", Query: url.Values{"generation_id": {"j1"}, "wait": {"26"}}, Header: key,
				Status: 200, ResponseHeader: jsonHeader(), ResponseBody: []byte(generation)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(t.Context(), tc.x)
			switch {
			case tc.fail == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)):
				t.Errorf("Check = %v, want an error with %q", err, tc.fail)
			}
		})
	}
}
