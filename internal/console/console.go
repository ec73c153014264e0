// Package console is vidgen's web console: one static page, its stylesheet
// and its script, embedded in the binary. The page asks for an API key,
// keeps it in the browser only (sessionStorage) and calls the API on the
// same origin, so the server keeps no session and needs no CORS. The local
// runtime serves it with Handler; the api function serves the same answers
// through API Gateway with Serve.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path"
	"strings"

	"github.com/vidgen/vidgen"
)

// Prefix is where the page's assets are served; the page itself is at "/".
const Prefix = "/console/"

//go:embed static
var static embed.FS

// mediaType is an asset's media type by its extension, "" for a kind of
// file the console does not have.
func mediaType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return ""
}

// csp lets the page load only its own script and style and call only its
// own origin. Videos may come from anywhere a job's link points: the local
// runtime's /files, or S3 in AWS.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' https: http:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Answer is the console's answer to one request.
type Answer struct {
	Status int
	Header map[string]string
	Body   []byte
}

// Serve answers a request for urlPath: "/" is the page and Prefix+name one
// of its assets. ifNoneMatch is the request's If-None-Match header: an
// unchanged asset answers 304, so a reload costs no bytes.
func Serve(method, urlPath, ifNoneMatch string) Answer {
	if method != http.MethodGet && method != http.MethodHead {
		a := errorAnswer(http.StatusMethodNotAllowed, "MethodNotAllowed", method+" is not allowed here; use GET")
		a.Header["Allow"] = "GET, HEAD"
		return a
	}
	name, ok := assetName(urlPath)
	if !ok {
		return errorAnswer(http.StatusNotFound, "NotFound", "no console asset at "+urlPath)
	}
	body, err := static.ReadFile("static/" + name)
	if err != nil {
		return errorAnswer(http.StatusNotFound, "NotFound", "no console asset at "+urlPath)
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	h := map[string]string{
		"Content-Type": mediaType(name),
		"ETag":         etag,
		// Revalidate every time: the ETag makes that a 304, and a new
		// binary's assets are never mixed with an old page's.
		"Cache-Control":           "no-cache",
		"Content-Security-Policy": csp,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	}
	if matches(ifNoneMatch, etag) {
		return Answer{Status: http.StatusNotModified, Header: h}
	}
	if method == http.MethodHead {
		body = nil
	}
	return Answer{Status: http.StatusOK, Header: h, Body: body}
}

// assetName maps a URL path to a file under static/, refusing anything
// that is not one flat name of a known kind.
func assetName(urlPath string) (string, bool) {
	if urlPath == "/" {
		return "index.html", true
	}
	name, ok := strings.CutPrefix(urlPath, Prefix)
	if !ok || name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return "", false
	}
	if mediaType(name) == "" || name == "index.html" {
		return "", false
	}
	return name, true
}

// matches reports whether an If-None-Match header names etag.
func matches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// errorAnswer is an error in the API's JSON shape.
func errorAnswer(status int, name, msg string) Answer {
	body, _ := json.Marshal(vidgen.ErrorResponse{Error: vidgen.ErrorDetail{Name: name, Message: msg}})
	return Answer{Status: status, Header: map[string]string{"Content-Type": "application/json"}, Body: body}
}

// Handler serves the console over net/http.
type Handler struct{}

func (Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := Serve(r.Method, r.URL.Path, r.Header.Get("If-None-Match"))
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.Status)
	w.Write(a.Body)
}
