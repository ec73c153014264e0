package apigw

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/lambdas"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/plainjson"
	"github.com/vidgen/vidgen/internal/uuid"
)

// maxBody is API Gateway's own request limit; the api function
// answers 413 above its smaller one.
const maxBody = 10 << 20

// HTTPAPI plays API Gateway's HTTP API: it turns each HTTP request into a
// payload v2 event, invokes the api function through the same Lambda
// handling as in AWS, and writes its response back.
type HTTPAPI struct {
	Functions *lambdas.Functions
	Function  string // logical id of the function behind every route
	Clock     clock.Clock
	// Log gets one access line per request: its id (the api function's
	// lines carry it as api_request_id), method, path, status, size and
	// time. Headers, query strings and bodies are never logged: they carry
	// API keys, cursors and images. Required.
	Log *slog.Logger
}

func (g *HTTPAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	id := uuid.New()
	g.serve(rec, r, id)
	g.Log.InfoContext(logs.With(r.Context(), slog.String(logs.APIRequestID, id)), "request",
		"method", r.Method, "path", r.URL.Path, "status", rec.status, "bytes", rec.bytes, "ms", time.Since(start).Milliseconds())
}

// statusRecorder remembers what was answered, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status, bytes int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (g *HTTPAPI) serve(w http.ResponseWriter, r *http.Request, id string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "BadRequest", "could not read the body")
		return
	}
	if len(body) > maxBody {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge", "the body is larger than the gateway accepts")
		return
	}
	payload, err := json.Marshal(g.event(r, body, id))
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "InternalError", "could not build the event")
		return
	}
	out, err := g.Functions.Call(r.Context(), g.Function, payload)
	if err != nil {
		// API Gateway answers a failed integration with 500 and this body.
		writeJSONError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
		return
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		writeJSONError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	respBody := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if respBody, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			writeJSONError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
			return
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(respBody)))
	w.WriteHeader(status)
	w.Write(respBody)
}

// event builds the payload v2 event API Gateway would send for the request
// it knows by id.
func (g *HTTPAPI) event(r *http.Request, body []byte, id string) events.APIGatewayV2HTTPRequest {
	now := g.Clock.Now().UTC()
	headers := map[string]string{}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	var cookies []string
	if c, ok := headers["cookie"]; ok {
		cookies = strings.Split(c, "; ")
		delete(headers, "cookie")
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              r.Method + " " + r.URL.Path,
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:  "000000000000",
			APIID:      "local",
			DomainName: r.Host,
			RequestID:  id,
			RouteKey:   r.Method + " " + r.URL.Path,
			Stage:      "$default",
			Time:       now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:  now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: ip, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		// Like API Gateway, text bodies pass as they are, others in base64.
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

func writeJSONError(w http.ResponseWriter, status int, name, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// As the API answers: a path's & stays &.
	b, _ := plainjson.Marshal(map[string]any{"error": map[string]string{"name": name, "message": msg}})
	w.Write(append(b, '\n'))
}
