package apikey

import (
	"errors"
	"strings"
)

// ErrUnknown is what a resolver returns for a key that is unknown or
// revoked; the two are answered alike so that a caller learns nothing.
var ErrUnknown = errors.New("unknown API key")

// ContextTenant is the key under which the API Gateway authorizer passes
// the tenant of the key it accepted, and the api function reads it.
const ContextTenant = "tenant"

// Bearer reads the key from an Authorization header value, "Bearer <key>".
// It is the one parser of that header, shared by the api and the
// authorizer.
func Bearer(authorization string) (string, bool) {
	scheme, key, _ := strings.Cut(authorization, " ")
	key = strings.TrimSpace(key)
	return key, strings.EqualFold(scheme, "Bearer") && key != ""
}
