// Package authorizer is vidgen's API Gateway HTTP API Lambda authorizer
// (payload format 2.0, simple responses). It checks the bearer key before
// any request reaches the api function and hands the api the key's tenant
// in the request context. API Gateway caches each answer per Authorization
// header, so most requests invoke neither this function nor the key store.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/logs"
)

// Keys resolves an API key to its tenant, failing with apikey.ErrUnknown
// for a key that is unknown or revoked.
type Keys interface {
	Tenant(ctx context.Context, key string) (string, error)
}

// Authorizer answers API Gateway's authorization requests.
type Authorizer struct {
	Keys Keys
	Log  *slog.Logger // required
}

// Handle authorizes one request: a known bearer key is allowed with its
// tenant in the context, anything else is denied (API Gateway answers the
// client 403). A key store failure is returned as an error, which API
// Gateway answers with 500 and does not cache, rather than a denial that
// would tell a good client its key is bad. The key is never logged.
func (a *Authorizer) Handle(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	deny := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}
	ctx = logs.With(ctx, slog.String(logs.APIRequestID, req.RequestContext.RequestID))
	log := a.Log.With("route", req.RouteKey)
	key, ok := bearer(req.Headers)
	if !ok {
		log.InfoContext(ctx, "denied", "reason", "no bearer key")
		return deny, nil
	}
	tenant, err := a.Keys.Tenant(ctx, key)
	switch {
	case errors.Is(err, apikey.ErrUnknown):
		log.InfoContext(ctx, "denied", "reason", "unknown or revoked key")
		return deny, nil
	case err != nil:
		log.ErrorContext(ctx, "key lookup failed", "err", err)
		return deny, err
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{
		IsAuthorized: true,
		Context:      map[string]any{apikey.ContextTenant: tenant},
	}, nil
}

// bearer reads the key of an "Authorization: Bearer <key>" header. API
// Gateway lower-cases header names; other callers may not.
func bearer(headers map[string]string) (string, bool) {
	auth, ok := headers["authorization"]
	if !ok {
		for k, v := range headers {
			if strings.EqualFold(k, "authorization") {
				auth = v
				break
			}
		}
	}
	return apikey.Bearer(auth)
}
