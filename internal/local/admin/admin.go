package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/local/localarn"
	"github.com/vidgen/vidgen/internal/local/scheduler"
	"github.com/vidgen/vidgen/internal/local/states"
	"github.com/vidgen/vidgen/internal/plainjson"
	"github.com/vidgen/vidgen/internal/samtemplate"
	"github.com/vidgen/vidgen/internal/uuid"
)

// Prefix is where the local server mounts Handler:
// mux.Handle(Prefix, handler).
const Prefix = "/local/"

// maxInputBytes is Step Functions' limit on an execution's input.
const maxInputBytes = 256 << 10

// Handler serves the local runtime's own routes, which have no AWS
// counterpart on the API: starting and describing executions of any state
// machine and firing schedules. Everything is JSON; errors are
// {"error":{"name":…,"message":…}}.
//
//	GET  /local/state-machines
//	POST /local/state-machines/{machine}/executions[?name=]   body: the input
//	GET  /local/state-machines/{machine}/executions/{name}[?wait=1[&timeout=30s]]
//	GET  /local/schedules
//	POST /local/schedules/{schedule}/fire[?at=RFC3339 time]
//
// It answers only loopback clients addressing it by a loopback host, and
// refuses cross-origin browser requests, since anything on the machine's
// network or any web page could otherwise start executions.
type Handler struct {
	Engine    *states.Engine
	Scheduler *scheduler.Runner // nil: no schedules
	// NewName names an execution started without ?name=; nil means a
	// random UUID, as Step Functions names it.
	NewName func() string
}

// adminError is the error document.
type adminError struct {
	status        int
	Name, Message string
}

func (a *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := localRequest(r); err != nil {
		writeAdminError(w, &adminError{http.StatusForbidden, "Forbidden", err.Error()})
		return
	}
	body, status, aerr := a.route(w, r)
	if aerr != nil {
		writeAdminError(w, aerr)
		return
	}
	if body == nil {
		return // the client went away
	}
	writeJSON(w, status, body)
}

// localRequest refuses what is not from this machine: a remote client, a
// Host that is not loopback (DNS rebinding) or a cross-origin request from a
// browser.
func localRequest(r *http.Request) error {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip, perr := netip.ParseAddr(host); err != nil || perr != nil || !ip.IsLoopback() {
		return fmt.Errorf("the /local routes answer loopback clients only, not %s", r.RemoteAddr)
	}
	if !loopbackHost(r.Host) {
		return fmt.Errorf("the /local routes answer only requests to localhost or a loopback address, not Host %q", r.Host)
	}
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		return fmt.Errorf("the /local routes refuse cross-origin browser requests: %w", err)
	}
	return nil
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// route dispatches a request and returns the answer's body and status.
func (a *Handler) route(w http.ResponseWriter, r *http.Request) (any, int, *adminError) {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		return nil, 0, notFound(r)
	}
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case len(seg) == 1 && seg[0] == "state-machines":
		if r.Method != http.MethodGet {
			return nil, 0, notAllowed(w, http.MethodGet)
		}
		return a.listMachines(), http.StatusOK, nil
	case len(seg) == 3 && seg[0] == "state-machines" && seg[2] == "executions":
		switch r.Method {
		case http.MethodPost:
			return a.startExecution(w, r, seg[1])
		case http.MethodGet:
			return a.listExecutions(seg[1])
		}
		return nil, 0, notAllowed(w, "GET, POST")
	case len(seg) == 4 && seg[0] == "state-machines" && seg[2] == "executions":
		if r.Method != http.MethodGet {
			return nil, 0, notAllowed(w, http.MethodGet)
		}
		return a.describeExecution(r, seg[1], seg[3])
	case len(seg) == 1 && seg[0] == "schedules":
		if r.Method != http.MethodGet {
			return nil, 0, notAllowed(w, http.MethodGet)
		}
		list := []scheduler.Info{}
		if a.Scheduler != nil {
			list = a.Scheduler.List()
		}
		return map[string]any{"schedules": list}, http.StatusOK, nil
	case len(seg) == 3 && seg[0] == "schedules" && seg[2] == "fire":
		if r.Method != http.MethodPost {
			return nil, 0, notAllowed(w, http.MethodPost)
		}
		return a.fire(r, seg[1])
	}
	return nil, 0, notFound(r)
}

// listExecutions lists a machine's executions, oldest first.
func (a *Handler) listExecutions(machine string) (any, int, *adminError) {
	if !a.Engine.Runs(machine) {
		return nil, 0, noMachine(machine)
	}
	list, err := a.Engine.List(machine)
	if err != nil {
		return nil, 0, &adminError{status: http.StatusInternalServerError, Name: "InternalError", Message: err.Error()}
	}
	if list == nil {
		list = []states.Execution{}
	}
	return map[string]any{"executions": list}, http.StatusOK, nil
}

func (a *Handler) listMachines() any {
	type machine struct {
		Machine string `json:"machine"`
		ARN     string `json:"arn"`
	}
	out := []machine{}
	for _, id := range a.Engine.Machines() {
		out = append(out, machine{id, localarn.StateMachine(id)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Machine < out[j].Machine })
	return map[string]any{"state_machines": out}
}

// started is the answer to a start or a fire.
type started struct {
	Schedule     string `json:"schedule,omitempty"`
	Machine      string `json:"machine"`
	Name         string `json:"name"`
	ExecutionARN string `json:"execution_arn"`
}

func (a *Handler) startExecution(w http.ResponseWriter, r *http.Request, machine string) (any, int, *adminError) {
	if !a.Engine.Runs(machine) {
		return nil, 0, noMachine(machine)
	}
	name, named := r.URL.Query()["name"]
	switch {
	case !named:
		if a.NewName != nil {
			name = []string{a.NewName()}
		} else {
			name = []string{uuid.New()}
		}
	case len(name) != 1:
		return nil, 0, &adminError{http.StatusBadRequest, "InvalidName", "give ?name= at most once"}
	}
	if err := states.ValidExecutionName(name[0]); err != nil {
		return nil, 0, &adminError{http.StatusBadRequest, "InvalidName", err.Error()}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInputBytes))
	if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
		return nil, 0, &adminError{http.StatusRequestEntityTooLarge, "InvalidExecutionInput", fmt.Sprintf("the input is larger than %d bytes", maxInputBytes)}
	}
	if err != nil {
		return nil, 0, &adminError{http.StatusBadRequest, "InvalidExecutionInput", "read the input: " + err.Error()}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	input, err := asl.CompactInput(raw)
	if err != nil {
		return nil, 0, &adminError{http.StatusBadRequest, "InvalidExecutionInput", "the body must be the execution's input as JSON: " + err.Error()}
	}
	// As in AWS, starting a name again with its input while it runs is
	// harmless, and refused once it has closed or with another input; the
	// status tells the caller whether this request started it.
	created, err := a.Engine.StartCreated(machine, name[0], input)
	if errors.Is(err, states.ErrExecutionExists) {
		return nil, 0, &adminError{http.StatusConflict, "ExecutionAlreadyExists", err.Error()}
	} else if err != nil {
		return nil, 0, &adminError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	status := http.StatusOK
	if created {
		status = http.StatusAccepted
	}
	return started{Machine: machine, Name: name[0], ExecutionARN: localarn.Execution(machine, name[0])}, status, nil
}

// describedExecution is an execution record with its ARN.
type describedExecution struct {
	ExecutionARN string `json:"execution_arn"`
	states.Execution
}

func (a *Handler) describeExecution(r *http.Request, machine, name string) (any, int, *adminError) {
	if !a.Engine.Runs(machine) {
		return nil, 0, noMachine(machine)
	}
	q := r.URL.Query()
	wait := false
	if v := q.Get("wait"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, 0, &adminError{http.StatusBadRequest, "InvalidParameter", fmt.Sprintf("wait must be 1 or 0, got %q", v)}
		}
		wait = b
	}
	ctx := r.Context()
	if v := q.Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, 0, &adminError{http.StatusBadRequest, "InvalidParameter", fmt.Sprintf("timeout must be a positive duration such as 30s, got %q", v)}
		}
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	var exe states.Execution
	var err error
	if wait {
		exe, err = a.Engine.Wait(ctx, machine, name)
		if r.Context().Err() != nil {
			return nil, 0, nil // the client went away
		}
		if ctx.Err() != nil { // the timeout passed: answer with how it stands
			exe, err = a.Engine.Describe(machine, name)
		}
	} else {
		exe, err = a.Engine.Describe(machine, name)
	}
	if isNotExist(err) {
		return nil, 0, &adminError{http.StatusNotFound, "ExecutionDoesNotExist", fmt.Sprintf("no execution %s of state machine %s", name, machine)}
	}
	if err != nil {
		return nil, 0, &adminError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	return describedExecution{localarn.Execution(machine, name), exe}, http.StatusOK, nil
}

func (a *Handler) fire(r *http.Request, id string) (any, int, *adminError) {
	if a.Scheduler == nil {
		return nil, 0, &adminError{http.StatusNotFound, "ScheduleDoesNotExist", "no schedule " + id}
	}
	at := a.Scheduler.Clock.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, 0, &adminError{http.StatusBadRequest, "InvalidParameter", fmt.Sprintf("at must be an RFC 3339 time such as 2026-11-25T10:00:00Z, got %q", v)}
		}
		at = t
	}
	name, err := a.Scheduler.Fire(r.Context(), id, at)
	switch {
	case errors.Is(err, scheduler.ErrNoSchedule):
		return nil, 0, &adminError{http.StatusNotFound, "ScheduleDoesNotExist", err.Error()}
	case errors.Is(err, samtemplate.ErrCannotFire):
		return nil, 0, &adminError{http.StatusUnprocessableEntity, "ScheduleCannotFire", err.Error()}
	case err != nil:
		return nil, 0, &adminError{http.StatusInternalServerError, "InternalError", err.Error()}
	}
	machine := a.Scheduler.Schedules[id].Target
	return started{Schedule: id, Machine: machine, Name: name, ExecutionARN: localarn.Execution(machine, name)}, http.StatusAccepted, nil
}

// isNotExist reports whether err says an execution does not exist.
func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

func noMachine(machine string) *adminError {
	return &adminError{http.StatusNotFound, "StateMachineDoesNotExist", "no state machine " + machine + " (GET " + Prefix + "state-machines lists them)"}
}

func notFound(r *http.Request) *adminError {
	return &adminError{http.StatusNotFound, "NotFound", "no route " + r.Method + " " + r.URL.Path}
}

func notAllowed(w http.ResponseWriter, allow string) *adminError {
	w.Header().Set("Allow", allow)
	return &adminError{http.StatusMethodNotAllowed, "MethodNotAllowed", "use " + allow}
}

func writeAdminError(w http.ResponseWriter, e *adminError) {
	writeJSON(w, e.status, map[string]any{"error": map[string]string{"name": e.Name, "message": e.Message}})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	// No HTML escaping, as the API answers (a URL's & stays &).
	data, err := plainjson.Marshal(body)
	if err != nil {
		data = []byte(`{"error":{"name":"InternalError","message":"encode the answer"}}`)
		status = http.StatusInternalServerError
	}
	data = append(data, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}
