package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/lambdas"
)

var testNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// serve runs an HTTPAPI in front of fn and returns its URL and the log.
func serve(t *testing.T, fn any) (string, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	api := &HTTPAPI{Functions: lambdas.NewFunctions(map[string]any{"Api": fn}), Function: "Api",
		Clock: clock.NewManual(testNow), Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv.URL, &logs
}

// The function sees the event API Gateway would send, and its response is
// written back: status, headers, cookies and a base64 body decoded.
func TestHTTPAPIEventAndResponse(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	url, logs := serve(t, func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got = ev
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, Headers: map[string]string{"Content-Type": "video/mp4"},
			MultiValueHeaders: map[string][]string{"X-Many": {"a", "b"}},
			Body:              base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), IsBase64Encoded: true}, nil
	})
	req, _ := http.NewRequest("POST", url+"/v2/video/generations?a=1&a=2&b=x", strings.NewReader(`{"prompt":"p"}`))
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Cookie", "c1=1; c2=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !bytes.Equal(body, []byte{0, 1, 2}) || resp.Header.Get("Content-Type") != "video/mp4" ||
		strings.Join(resp.Header.Values("X-Many"), ",") != "a,b" {
		t.Fatalf("response %d %v %q", resp.StatusCode, resp.Header, body)
	}
	rc := got.RequestContext
	if got.Version != "2.0" || got.RouteKey != "POST /v2/video/generations" || got.RawPath != "/v2/video/generations" ||
		got.RawQueryString != "a=1&a=2&b=x" || got.QueryStringParameters["a"] != "1,2" || got.QueryStringParameters["b"] != "x" ||
		got.Headers["authorization"] != "Bearer k" || got.Headers["cookie"] != "" || strings.Join(got.Cookies, "|") != "c1=1|c2=2" ||
		got.Body != `{"prompt":"p"}` || got.IsBase64Encoded {
		t.Fatalf("event %+v", got)
	}
	if rc.AccountID != "000000000000" || rc.Stage != "$default" || rc.HTTP.Method != "POST" || rc.HTTP.SourceIP != "127.0.0.1" ||
		rc.TimeEpoch != testNow.UnixMilli() || rc.Time != "25/Nov/2026:10:00:00 +0000" || rc.RequestID == "" {
		t.Fatalf("request context %+v", rc)
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line["status"] != 201.0 || line["path"] != "/v2/video/generations" ||
		strings.Contains(logs.String(), "Bearer") || strings.Contains(logs.String(), "a=1") {
		t.Fatalf("access log %s (%v)", logs, err)
	}
}

// A body that is not UTF-8 reaches the function in base64, as API Gateway
// sends it; a response without a status is 200.
func TestHTTPAPIBinaryBody(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	url, _ := serve(t, func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got = ev
		return events.APIGatewayV2HTTPResponse{Body: "ok"}, nil
	})
	resp, err := http.Post(url+"/upload", "application/octet-stream", bytes.NewReader([]byte{0xff, 0xfe}))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("response %d %q", resp.StatusCode, body)
	}
	if !got.IsBase64Encoded || got.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe}) {
		t.Fatalf("event body %q base64 %v", got.Body, got.IsBase64Encoded)
	}
}

// What API Gateway refuses or cannot answer gets its JSON error, never the
// function's partial work.
func TestHTTPAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		fn     any
		body   io.Reader
		status int
		error  string
	}{
		{name: "body over the gateway's limit", fn: func(context.Context, json.RawMessage) (string, error) { return "", nil },
			body: bytes.NewReader(make([]byte, maxBody+1)), status: 413, error: "PayloadTooLarge"},
		{name: "function error", fn: func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, errors.New("boom")
		}, body: strings.NewReader("{}"), status: 500, error: "InternalServerError"},
		{name: "response that is not a response", fn: func(context.Context, json.RawMessage) (string, error) { return "text", nil },
			body: strings.NewReader("{}"), status: 500, error: "InternalServerError"},
		{name: "bad base64 body", fn: func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "%%%", IsBase64Encoded: true}, nil
		}, body: strings.NewReader("{}"), status: 500, error: "InternalServerError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, _ := serve(t, tt.fn)
			resp, err := http.Post(url+"/x", "application/json", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Error struct{ Name, Message string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != tt.status || out.Error.Name != tt.error ||
				resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %+v (%v), want %d %s", resp.StatusCode, out, err, tt.status, tt.error)
			}
		})
	}
}
