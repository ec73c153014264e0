package lambdafn_test

import (
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/console"
)

// The web console is served by the api function at GET / and GET
// /console/…, without the authorizer: the page asks for the key itself.
func TestConsoleRoutesNeedNoKey(t *testing.T) {
	p := loadProject(t)
	events := get(p.doc.Content[0], "Resources", "ApiFunction", "Properties", "Events")
	want := map[string]bool{"GET /": false, "GET " + strings.TrimSuffix(console.Prefix, "/") + "/{proxy+}": false}
	for _, ev := range keys(events) {
		props := get(events, ev, "Properties")
		route := scalar(get(props, "Method")) + " " + scalar(get(props, "Path"))
		if _, ok := want[route]; !ok {
			continue
		}
		want[route] = true
		if a := scalar(get(props, "Auth", "Authorizer")); a != "NONE" {
			t.Errorf("ApiFunction event %s (%s): Auth.Authorizer is %q, want NONE", ev, route, a)
		}
		if v := scalar(get(props, "PayloadFormatVersion")); v != "2.0" {
			t.Errorf("ApiFunction event %s (%s): PayloadFormatVersion %q, want 2.0", ev, route, v)
		}
	}
	for route, found := range want {
		if !found {
			t.Errorf("ApiFunction has no HttpApi event for %s", route)
		}
	}
}
