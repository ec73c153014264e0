package local

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The runtime serves the console at / and its assets under /console/,
// without a key, beside the API routes, which answer as before.
func TestConsoleServed(t *testing.T) {
	rt := start(t, testConfig(t))
	for _, tc := range []struct {
		path, ctype, has string
	}{
		{"/", "text/html; charset=utf-8", "<title>vidgen console</title>"},
		{"/console/console.js", "text/javascript; charset=utf-8", "sessionStorage"},
		{"/console/console.css", "text/css; charset=utf-8", "body"},
	} {
		resp, err := http.Get(rt.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(string(body), tc.has) {
			t.Errorf("GET %s: %d %q %.80q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	// The API's routes and refusals are unchanged; other methods on /
	// reach the api function, which refuses them in JSON.
	if r := call(t, "GET", rt.URL+"/v2/video/generations", "", "", ""); r.status != 401 {
		t.Errorf("GET /v2/video/generations without a key: %d %s", r.status, r.raw)
	}
	if r := call(t, "GET", rt.URL+"/v2/video/generations", keyA, "", ""); r.status != 200 {
		t.Errorf("GET /v2/video/generations: %d %s", r.status, r.raw)
	}
	if r := call(t, "POST", rt.URL+"/", "", "", ""); r.status != 405 {
		t.Errorf("POST /: %d %s", r.status, r.raw)
	}
	if r := call(t, "GET", rt.URL+"/nowhere", "", "", ""); r.status != 404 {
		t.Errorf("GET /nowhere: %d %s", r.status, r.raw)
	}
	// The models the console's form offers, without a key; the list's
	// ETag makes a reload a 304.
	r := call(t, "GET", rt.URL+"/v1/models?include=capabilities", "", "", "")
	if data, _ := r.body["data"].([]any); r.status != 200 || len(data) == 0 {
		t.Fatalf("GET /v1/models: %d %.200s", r.status, r.raw)
	}
	resp, err := http.Get(rt.URL + "/v1/models?include=capabilities")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, err := http.NewRequest("GET", rt.URL+"/v1/models?include=capabilities", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(again.Body)
	again.Body.Close()
	if resp.Header.Get("ETag") == "" || again.StatusCode != 304 || len(body) != 0 {
		t.Errorf("GET /v1/models with If-None-Match %q: %d %q", resp.Header.Get("ETag"), again.StatusCode, body)
	}
}
