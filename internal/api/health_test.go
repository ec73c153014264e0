package api

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/syncbuf"
)

// TestHealthRoute: GET /v1/health needs no key, answers 200 when every
// check passes and 503 naming the failing ones otherwise, and shows no
// check's error (which may name a secret's ARN): that goes to the log.
func TestHealthRoute(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vidgen/aimlapi-key-AbCdEf"
	ok := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name        string
		closeStore  bool
		machines    func(context.Context) error
		upstreamKey func(context.Context) error
		code        int
		failing     []string
	}{
		{name: "healthy", machines: ok, upstreamKey: ok, code: 200, failing: []string{}},
		{name: "store does not answer", closeStore: true, machines: ok, upstreamKey: ok, code: 503, failing: []string{CheckStore}},
		{name: "upstream key empty", machines: ok, upstreamKey: func(context.Context) error {
			return errors.New("secret " + arn + " has no value")
		}, code: 503, failing: []string{CheckUpstreamKey}},
		{name: "all failing", closeStore: true, machines: func(context.Context) error { return errors.New("no state machine ARN") },
			upstreamKey: func(context.Context) error { return errors.New("secret " + arn + " has no value") },
			code:        503, failing: []string{CheckStore, CheckStateMachines, CheckUpstreamKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, st, store := newHandler(t)
			logs := &syncbuf.Buffer{}
			h.Log = slog.New(slog.NewJSONHandler(logs, nil))
			h.Keys = brokenKeys{} // the route never looks a key up
			h.Health = []HealthCheck{StoreAnswers(store), {Name: CheckStateMachines, Check: tc.machines}, {Name: CheckUpstreamKey, Check: tc.upstreamKey}}
			if tc.closeStore {
				store.Close()
			}

			resp, err := h.Handle(t.Context(), request("GET", PathHealth, "", "", ""))

			if err != nil || resp.StatusCode != tc.code {
				t.Fatalf("%d %s %v; want %d", resp.StatusCode, resp.Body, err, tc.code)
			}
			body := decode(t, resp)
			wantStatus := map[bool]string{true: "ok", false: "failing"}[tc.code == 200]
			if body["status"] != wantStatus {
				t.Errorf("status = %v, want %s", body["status"], wantStatus)
			}
			var failing []string
			for _, f := range body["failing"].([]any) {
				failing = append(failing, f.(string))
			}
			if failing == nil {
				failing = []string{}
			}
			if !reflect.DeepEqual(failing, tc.failing) {
				t.Errorf("failing = %v, want %v", failing, tc.failing)
			}
			checks := body["checks"].(map[string]any)
			for _, name := range []string{CheckStore, CheckStateMachines, CheckUpstreamKey} {
				if want := !slices.Contains(tc.failing, name); checks[name] != want {
					t.Errorf("checks[%s] = %v, want %v", name, checks[name], want)
				}
			}
			for _, secret := range []string{arn, "secretsmanager", "jobs.db", "closed"} {
				if strings.Contains(resp.Body, secret) {
					t.Errorf("the answer reveals %q: %s", secret, resp.Body)
				}
			}
			for _, name := range tc.failing {
				if !strings.Contains(logs.String(), `"msg":"health check failed","check":"`+name+`","err":`) {
					t.Errorf("no ERROR line with the error of %s:\n%s", name, logs)
				}
			}
			if resp.Headers["Cache-Control"] != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", resp.Headers["Cache-Control"])
			}
			if len(st.ids) != 0 {
				t.Errorf("started %v", st.ids)
			}
		})
	}
	t.Run("only GET", func(t *testing.T) {
		h, _, store := newHandler(t)
		h.Health = []HealthCheck{StoreAnswers(store)}
		resp, _ := h.Handle(t.Context(), request("POST", PathHealth, "", "application/json", "{}"))
		if resp.StatusCode != 405 || resp.Headers["Allow"] != "GET" {
			t.Errorf("POST: %d Allow %q %s, want 405 Allow GET", resp.StatusCode, resp.Headers["Allow"], resp.Body)
		}
	})
}
