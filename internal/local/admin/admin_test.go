package admin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/local/lambdas/lambdastest"
	"github.com/vidgen/vidgen/internal/local/localarn"
	"github.com/vidgen/vidgen/internal/local/scheduler"
	"github.com/vidgen/vidgen/internal/local/scheduler/schedulertest"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/local/states/statestest"
	"github.com/vidgen/vidgen/internal/uuid"
)

// adminReply is an answer of the admin routes.
type adminReply struct {
	status int
	allow  string
	body   map[string]any
}

func adminCall(t *testing.T, srv *httptest.Server, method, path, body string, header ...string) adminReply {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := adminReply{status: res.StatusCode, allow: res.Header.Get("Allow")}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q: %s", method, path, ct, raw)
	}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, raw)
	}
	return r
}

// errName is the name in an error answer.
func (r adminReply) errName() string {
	e, _ := r.body["error"].(map[string]any)
	name, _ := e["name"].(string)
	return name
}

func TestAdmin(t *testing.T) {
	b := lambdastest.NewBlocker()
	te := statestest.New(t, map[string]string{"Echo": statestest.Echo, "Blocked": statestest.Block}, map[string]any{"Block": b.Handle})
	defer close(b.Release)
	ids := &schedulertest.Names{}
	admin := &Handler{Engine: te.Engine, NewName: ids.Next,
		Scheduler: &scheduler.Runner{Schedules: schedulertest.Schedules(), Engine: te.Engine, Clock: te.Clock, NewID: ids.Next, Log: slog.New(slog.DiscardHandler)}}
	srv := httptest.NewServer(admin)
	defer srv.Close()

	tests := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		errName                  string
		want                     map[string]any // fields of the answer
	}{
		{name: "list machines", method: "GET", path: "/local/state-machines", status: 200},
		{name: "start", method: "POST", path: "/local/state-machines/Echo/executions?name=x-1", body: `{"n": 1}`, status: 202,
			want: map[string]any{"machine": "Echo", "name": "x-1", "execution_arn": localarn.Execution("Echo", "x-1")}},
		{name: "start again with other input", method: "POST", path: "/local/state-machines/Echo/executions?name=x-1", body: `{"n":2}`,
			status: 409, errName: "ExecutionAlreadyExists"},
		{name: "start unnamed, no body", method: "POST", path: "/local/state-machines/Echo/executions", status: 202,
			want: map[string]any{"name": "e-1"}},
		{name: "describe and wait", method: "GET", path: "/local/state-machines/Echo/executions/x-1?wait=1", status: 200,
			want: map[string]any{"status": states.Succeeded, "name": "x-1", "execution_arn": localarn.Execution("Echo", "x-1"),
				"output": map[string]any{"got": map[string]any{"n": 1.0}, "name": "x-1"}}},
		{name: "start again once it has closed", method: "POST", path: "/local/state-machines/Echo/executions?name=x-1", body: `{"n":1}`,
			status: 409, errName: "ExecutionAlreadyExists"},
		{name: "start a blocked one", method: "POST", path: "/local/state-machines/Blocked/executions?name=b-1", status: 202},
		{name: "start again while it runs", method: "POST", path: "/local/state-machines/Blocked/executions?name=b-1", body: `{}`, status: 200,
			want: map[string]any{"name": "b-1", "execution_arn": localarn.Execution("Blocked", "b-1")}},
		{name: "start again while it runs, with other input", method: "POST", path: "/local/state-machines/Blocked/executions?name=b-1", body: `{"n":1}`,
			status: 409, errName: "ExecutionAlreadyExists"},
		{name: "wait with a timeout", method: "GET", path: "/local/state-machines/Blocked/executions/b-1?wait=true&timeout=1ms", status: 200,
			want: map[string]any{"status": states.Running}},
		{name: "fire", method: "POST", path: "/local/schedules/Off/fire", status: 202,
			want: map[string]any{"schedule": "Off", "machine": "Echo", "name": "e-2"}},
		{name: "fired input", method: "GET", path: "/local/state-machines/Echo/executions/e-2?wait=1", status: 200,
			want: map[string]any{"input": map[string]any{"at": "2026-11-25T10:00:00Z", "from": localarn.Schedule("Off")}}},
		{name: "fire at", method: "POST", path: "/local/schedules/Nightly/fire?at=2026-12-01T06:00:00Z", status: 202,
			want: map[string]any{"name": "e-3"}},
		{name: "list schedules", method: "GET", path: "/local/schedules", status: 200},

		{name: "invalid JSON", method: "POST", path: "/local/state-machines/Echo/executions", body: `{"n":`, status: 400, errName: "InvalidExecutionInput"},
		{name: "input too large", method: "POST", path: "/local/state-machines/Echo/executions", body: `"` + strings.Repeat("x", 300<<10) + `"`,
			status: 413, errName: "InvalidExecutionInput"},
		{name: "invalid name", method: "POST", path: "/local/state-machines/Echo/executions?name=a%20b", status: 400, errName: "InvalidName"},
		{name: "empty name", method: "POST", path: "/local/state-machines/Echo/executions?name=", status: 400, errName: "InvalidName"},
		{name: "two names", method: "POST", path: "/local/state-machines/Echo/executions?name=a&name=b", status: 400, errName: "InvalidName"},
		{name: "start unknown machine", method: "POST", path: "/local/state-machines/Nope/executions", body: `{}`, status: 404, errName: "StateMachineDoesNotExist"},
		{name: "describe unknown machine", method: "GET", path: "/local/state-machines/Nope/executions/x-1", status: 404, errName: "StateMachineDoesNotExist"},
		{name: "describe unknown execution", method: "GET", path: "/local/state-machines/Echo/executions/nope?wait=1", status: 404, errName: "ExecutionDoesNotExist"},
		{name: "bad wait", method: "GET", path: "/local/state-machines/Echo/executions/x-1?wait=soon", status: 400, errName: "InvalidParameter"},
		{name: "bad timeout", method: "GET", path: "/local/state-machines/Echo/executions/x-1?wait=1&timeout=-1s", status: 400, errName: "InvalidParameter"},
		{name: "fire unknown", method: "POST", path: "/local/schedules/Nope/fire", status: 404, errName: "ScheduleDoesNotExist"},
		{name: "fire what cannot fire", method: "POST", path: "/local/schedules/Lambda/fire", status: 422, errName: "ScheduleCannotFire"},
		{name: "fire bad at", method: "POST", path: "/local/schedules/Off/fire?at=tomorrow", status: 400, errName: "InvalidParameter"},
		{name: "wrong method", method: "GET", path: "/local/schedules/Off/fire", status: 405, errName: "MethodNotAllowed"},
		{name: "wrong method on executions", method: "PUT", path: "/local/state-machines/Echo/executions", status: 405, errName: "MethodNotAllowed"},
		{name: "unknown route", method: "GET", path: "/local/nothing/here", status: 404, errName: "NotFound"},
		{name: "outside the prefix", method: "GET", path: "/other", status: 404, errName: "NotFound"},
		{name: "DNS rebinding", method: "GET", path: "/local/schedules", header: []string{"Host", "evil.example:80"}, status: 403, errName: "Forbidden"},
		{name: "cross-origin browser", method: "POST", path: "/local/schedules/Off/fire",
			header: []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, status: 403, errName: "Forbidden"},
		{name: "same-origin browser", method: "GET", path: "/local/schedules", header: []string{"Sec-Fetch-Site", "same-origin"}, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := adminCall(t, srv, tt.method, tt.path, tt.body, tt.header...)
			if r.status != tt.status || r.errName() != tt.errName {
				t.Fatalf("%s %s = %d %v, want %d %q", tt.method, tt.path, r.status, r.body, tt.status, tt.errName)
			}
			if tt.errName != "" {
				if msg, _ := r.body["error"].(map[string]any)["message"].(string); msg == "" {
					t.Errorf("error without a message: %v", r.body)
				}
			}
			if tt.status == 405 && r.allow == "" {
				t.Errorf("405 without Allow")
			}
			for k, w := range tt.want {
				if got, _ := json.Marshal(r.body[k]); string(got) != mustJSON(t, w) {
					t.Errorf("%s = %s, want %s", k, got, mustJSON(t, w))
				}
			}
		})
	}

	// The lists, in full.
	r := adminCall(t, srv, "GET", "/local/state-machines", "")
	if got, want := mustJSON(t, r.body), `{"state_machines":[{"arn":"`+localarn.StateMachine("Blocked")+`","machine":"Blocked"},{"arn":"`+localarn.StateMachine("Echo")+`","machine":"Echo"}]}`; got != want {
		t.Errorf("machines = %s, want %s", got, want)
	}
	r = adminCall(t, srv, "GET", "/local/schedules", "")
	list, _ := json.Marshal(admin.Scheduler.List())
	if got, want := mustJSON(t, r.body["schedules"]), mustJSON(t, json.RawMessage(list)); got != want {
		t.Errorf("schedules = %s, want %s", got, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var x any
	json.Unmarshal(b, &x)
	b, _ = json.Marshal(x) // one form: sorted keys, no spaces
	return string(b)
}

// Without a scheduler there are no schedules; remote clients get nothing.
func TestAdminEdges(t *testing.T) {
	te := statestest.New(t, map[string]string{"Echo": statestest.Echo}, nil)
	admin := &Handler{Engine: te.Engine}
	srv := httptest.NewServer(admin)
	defer srv.Close()
	if r := adminCall(t, srv, "GET", "/local/schedules", ""); r.status != 200 || mustJSON(t, r.body) != `{"schedules":[]}` {
		t.Errorf("schedules = %d %v", r.status, r.body)
	}
	if r := adminCall(t, srv, "POST", "/local/schedules/X/fire", ""); r.status != 404 || r.errName() != "ScheduleDoesNotExist" {
		t.Errorf("fire = %d %v", r.status, r.body)
	}
	r := adminCall(t, srv, "POST", "/local/state-machines/Echo/executions", `{}`)
	if name, _ := r.body["name"].(string); r.status != 202 || !uuid.IsV4(name) {
		t.Errorf("unnamed start = %d %v, want a UUID name", r.status, r.body)
	}

	req := httptest.NewRequestWithContext(context.Background(), "GET", "/local/schedules", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	req.Host = "127.0.0.1:3000"
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, req)
	if w.Code != 403 || !strings.Contains(w.Body.String(), "loopback clients only") {
		t.Errorf("remote client = %d %s", w.Code, w.Body)
	}
}
