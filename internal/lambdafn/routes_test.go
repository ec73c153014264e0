package lambdafn_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/apikey"
)

// noKeys knows no API key, so every authenticated route answers 401.
type noKeys struct{}

func (noKeys) Tenant(ctx context.Context, key string) (string, error) { return "", apikey.ErrUnknown }

// noSecrets turns the webhook secret route on; no request gets that far.
type noSecrets struct{}

func (noSecrets) Secret(context.Context, string) (string, error) { return "", nil }

// The api function's HttpApi routes in template.yaml are exactly the
// routes its handler serves: each one declared reaches a route of the
// handler (no key: 401, not 404) behind the default authorizer, or answers
// without a key if it skips the authorizer (health, the console), and each
// route of the handler is declared.
func TestAPIRoutesMatchTemplate(t *testing.T) {
	p := loadProject(t)
	events := get(p.doc.Content[0], "Resources", "ApiFunction", "Properties", "Events")
	if events == nil {
		t.Fatal("ApiFunction has no Events")
	}
	h := &api.Handler{Keys: noKeys{}, WebhookSecrets: noSecrets{}, Log: slog.New(slog.DiscardHandler)}
	var declared []string
	for _, name := range keys(events) {
		props := get(events, name, "Properties")
		if scalar(get(events, name, "Type")) != "HttpApi" {
			continue
		}
		method, path := scalar(get(props, "Method")), scalar(get(props, "Path"))
		declared = append(declared, method+" "+path)
		open := scalar(get(props, "Auth", "Authorizer")) == "NONE"
		resp, _ := h.Handle(t.Context(), apiRequest(method, strings.NewReplacer("{id}", "some-id", "{proxy+}", "index.html").Replace(path)))
		switch {
		case !open && resp.StatusCode != http.StatusUnauthorized:
			t.Errorf("%s %s: %d %s; want 401 from a route of the handler", method, path, resp.StatusCode, resp.Body)
		case open && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound && strings.Contains(resp.Body, "no route")):
			// An open route the handler does not serve, or one it serves only
			// with a key, which API Gateway would never pass on.
			t.Errorf("%s %s skips the authorizer but answers %d %s without a key", method, path, resp.StatusCode, resp.Body)
		}
	}
	for _, want := range []string{
		"POST " + api.PathGenerations, "GET " + api.PathGenerations, "DELETE " + api.PathGenerations,
		"POST " + api.PathLegacy, "GET " + api.PathLegacy,
		"GET " + api.PathWebhookSecret, "GET " + api.PathHealth, "GET " + api.PathJobs + "{id}",
	} {
		if !slices.Contains(declared, want) {
			t.Errorf("the handler serves %s, which template.yaml does not route to ApiFunction", want)
		}
	}
}

func apiRequest(method, path string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{RawPath: path, Headers: map[string]string{}}
	req.RequestContext.HTTP.Method = method
	return req
}
