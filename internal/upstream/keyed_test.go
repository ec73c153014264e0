package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// A KeyedClient asks with the key Key gives at each call, so a rotated key
// takes effect at once; an unset key is a KeyError naming the setting, and
// any other failure to read it a passing KindUnreachable, both before
// anything is sent.
func TestKeyedClient(t *testing.T) {
	var (
		mu   sync.Mutex
		auth []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, `{"message":"no such generation"}`, http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)

	unset, down := errors.New("unset"), errors.New("secrets manager down")
	key, keyErr := "sk-one", error(nil)
	c := &KeyedClient{
		BaseURL: srv.URL,
		Key:     func(context.Context) (string, error) { return key, keyErr },
		Unset:   func(err error) bool { return errors.Is(err, unset) },
		Setting: "AIMLAPI_KEY_SECRET",
	}
	c.Get(t.Context(), "gen-1")
	key = "sk-two"
	c.Get(t.Context(), "gen-1")
	if want := []string{"Bearer sk-one", "Bearer sk-two"}; len(auth) != 2 || auth[0] != want[0] || auth[1] != want[1] {
		t.Fatalf("Authorization headers %q, want %q", auth, want)
	}

	keyErr = unset
	_, err := c.Submit(t.Context(), validRequest())
	if ke, ok := errors.AsType[*KeyError](err); !ok || ke.Setting != "AIMLAPI_KEY_SECRET" || !errors.Is(err, unset) {
		t.Errorf("unset key: error %v, want a KeyError on AIMLAPI_KEY_SECRET wrapping it", err)
	}
	keyErr = down
	_, err = c.Get(t.Context(), "gen-1")
	if ue, ok := errors.AsType[*Error](err); !ok || ue.Kind != KindUnreachable || !errors.Is(err, down) {
		t.Errorf("unreadable key: error %v, want KindUnreachable wrapping it", err)
	}
	if len(auth) != 2 {
		t.Errorf("%d requests sent, want none after the key failed", len(auth)-2)
	}
}
