package console

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestServe(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/console/console.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/console/console.css", 200, "text/css; charset=utf-8"},
		{"HEAD", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/console/", 404, "application/json"},
		{"GET", "/console/index.html", 404, "application/json"}, // the page lives at / only
		{"GET", "/console/missing.js", 404, "application/json"},
		{"GET", "/console/../console.go", 404, "application/json"},
		{"GET", "/console/sub/console.js", 404, "application/json"},
		{"GET", "/console/.hidden.js", 404, "application/json"},
		{"GET", "/console/console.go", 404, "application/json"},
		{"GET", "/index.html", 404, "application/json"},
		{"POST", "/", 405, "application/json"},
		{"DELETE", "/console/console.js", 405, "application/json"},
	} {
		a := Serve(tc.method, tc.path, "")
		if a.Status != tc.status || a.Header["Content-Type"] != tc.ctype {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, a.Status, a.Header["Content-Type"], tc.status, tc.ctype)
		}
		switch {
		case tc.status == 405 && a.Header["Allow"] != "GET, HEAD":
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, a.Header["Allow"])
		case tc.status != 200 && !json.Valid(a.Body):
			t.Errorf("%s %s: error body is not JSON: %s", tc.method, tc.path, a.Body)
		case tc.status == 200 && (a.Header["Content-Security-Policy"] == "" || a.Header["ETag"] == ""):
			t.Errorf("%s %s: headers %v lack the CSP or ETag", tc.method, tc.path, a.Header)
		case tc.method == "HEAD" && len(a.Body) > 0:
			t.Errorf("HEAD %s: has a body", tc.path)
		case tc.method == "GET" && tc.status == 200 && len(a.Body) == 0:
			t.Errorf("GET %s: empty body", tc.path)
		}
	}
}

// A browser that has the asset revalidates for nothing; a changed asset
// (another ETag) is sent again.
func TestServeRevalidates(t *testing.T) {
	first := Serve("GET", "/console/console.js", "")
	for _, inm := range []string{first.Header["ETag"], "W/" + first.Header["ETag"], `"other", ` + first.Header["ETag"], "*"} {
		if a := Serve("GET", "/console/console.js", inm); a.Status != 304 || len(a.Body) != 0 {
			t.Errorf("If-None-Match %s: %d with %d bytes, want 304 and none", inm, a.Status, len(a.Body))
		}
	}
	if a := Serve("GET", "/console/console.js", `"stale"`); a.Status != 200 {
		t.Errorf("a stale ETag: %d, want 200", a.Status)
	}
}

// Every asset the page names is served, and every file embedded is named
// by the page: nothing is missing and nothing ships unused. The page's
// weight is logged (go test -v).
func TestPageAssets(t *testing.T) {
	page := Serve("GET", "/", "")
	refs := regexp.MustCompile(`(?:src|href)="(/console/[^"]+)"`).FindAllStringSubmatch(string(page.Body), -1)
	total := len(page.Body)
	var named []string
	for _, m := range refs {
		a := Serve("GET", m[1], "")
		if a.Status != 200 {
			t.Errorf("the page names %s, which answers %d", m[1], a.Status)
		}
		total += len(a.Body)
		named = append(named, strings.TrimPrefix(m[1], Prefix))
	}
	files, err := fs.Glob(static, "static/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimPrefix(f, "static/"); name != "index.html" && !slices.Contains(named, name) {
			t.Errorf("static/%s is embedded but the page does not use it", name)
		}
	}
	t.Logf("page weight: %d bytes in %d files, uncompressed", total, len(refs)+1)
}

// The Handler answers over real HTTP as Serve does.
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler{})
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(body), "<title>vidgen console</title>") {
		t.Fatalf("GET /: %d %q %.80s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", resp.StatusCode)
	}
}
