package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
)

// stepClock is a manual clock whose sleepers block until the test advances
// time past their end (or their context ends). Each sleep reports its
// length on parked first, so a test acts only once the run is asleep.
type stepClock struct {
	parked chan time.Duration

	mu       sync.Mutex
	now      time.Time
	sleepers []*sleeper
}

type sleeper struct {
	until time.Time // zero: no limit
	done  chan struct{}
	once  sync.Once
}

func (s *sleeper) end() { s.once.Do(func() { close(s.done) }) }

func newStepClock() *stepClock {
	return &stepClock{parked: make(chan time.Duration, 1), now: t0}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// add registers a sleeper of d (no limit when d < 0).
func (c *stepClock) add(d time.Duration) *sleeper {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &sleeper{done: make(chan struct{})}
	if d >= 0 {
		s.until = c.now.Add(d)
	}
	c.sleepers = append(c.sleepers, s)
	return s
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.park(ctx, c.add(d), d)
}

// park reports a sleep of d on parked and blocks until s ends or ctx does.
func (c *stepClock) park(ctx context.Context, s *sleeper, d time.Duration) error {
	c.parked <- d
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Advance moves time on and ends the sleeps that are due.
func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.sleepers[:0]
	for _, s := range c.sleepers {
		if !s.until.IsZero() && !c.now.Before(s.until) {
			s.end()
			continue
		}
		kept = append(kept, s)
	}
	c.sleepers = kept
}

// interruptClock is a stepClock that also implements Interrupter, as a
// discrete-event clock does: the run never relies on context cancellation.
type interruptClock struct{ *stepClock }

func (c interruptClock) Interruptible(d time.Duration) (func(ctx context.Context) error, func()) {
	s := c.add(d)
	return func(ctx context.Context) error { return c.park(ctx, s, d) }, s.end
}

// A cbStep is what a callback test does once the run has handed its token
// on: wait for the run to sleep for park, advance the clock, send a
// heartbeat, success or failure, or (newToken) wait for the next attempt's
// token.
type cbStep struct {
	park     time.Duration
	advance  time.Duration
	beat     bool
	success  string
	failure  *Error
	newToken bool
}

func TestCallbackTask(t *testing.T) {
	const payload = `"Parameters":{"FunctionName":"arn:aws:lambda:us-east-1:1:function:worker","Payload":{"job.$":"$.job","token.$":"$$.Task.Token"}}`
	task := func(fields string) string {
		caught := ""
		if strings.Contains(fields, `"Caught"`) {
			caught = `,"Caught":{"Type":"Pass","End":true}`
		}
		return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",` +
			payload + fields + `,"End":true}` + caught + `}}`
	}
	tests := []struct {
		name, def   string
		input       string
		steps       []cbStep
		want        string
		wantErr     string
		wantElapsed time.Duration
		wantCalls   int
	}{
		{name: "success, then ResultSelector and ResultPath",
			def:   task(`,"HeartbeatSeconds":60,"ResultSelector":{"url.$":"$.video"},"ResultPath":"$.result"`),
			steps: []cbStep{{park: 60 * time.Second}, {success: `{"video":"v.mp4","big":18446744073709551615}`}},
			want:  `{"job":"j1","result":{"url":"v.mp4"}}`, wantCalls: 1},
		{name: "heartbeats keep it alive",
			def: task(`,"HeartbeatSeconds":60,"TimeoutSeconds":300`),
			steps: []cbStep{{park: 60 * time.Second}, {advance: 50 * time.Second}, {beat: true},
				{park: 60 * time.Second}, {advance: 50 * time.Second}, {beat: true},
				{park: 60 * time.Second}, {success: `{"done":true}`}},
			want: `{"done":true}`, wantElapsed: 100 * time.Second, wantCalls: 1},
		{name: "no heartbeat in time",
			def:     task(`,"HeartbeatSeconds":60`),
			steps:   []cbStep{{park: 60 * time.Second}, {advance: 60 * time.Second}},
			wantErr: "States.HeartbeatTimeout", wantElapsed: 60 * time.Second, wantCalls: 1},
		{name: "HeartbeatSecondsPath", input: `{"job":"j1","hb":10}`,
			def:     task(`,"HeartbeatSecondsPath":"$.hb"`),
			steps:   []cbStep{{park: 10 * time.Second}, {advance: 10 * time.Second}},
			wantErr: "States.HeartbeatTimeout", wantElapsed: 10 * time.Second, wantCalls: 1},
		{name: "TimeoutSeconds despite heartbeats",
			def: task(`,"HeartbeatSeconds":60,"TimeoutSeconds":100`),
			steps: []cbStep{{park: 60 * time.Second}, {advance: 50 * time.Second}, {beat: true},
				{park: 50 * time.Second}, {advance: 50 * time.Second}},
			wantErr: "States.Timeout", wantElapsed: 100 * time.Second, wantCalls: 1},
		{name: "TimeoutSecondsPath", input: `{"job":"j1","t":30}`,
			def:     task(`,"TimeoutSecondsPath":"$.t"`),
			steps:   []cbStep{{park: 30 * time.Second}, {advance: 30 * time.Second}},
			wantErr: "States.Timeout", wantElapsed: 30 * time.Second, wantCalls: 1},
		{name: "execution timeout while waiting",
			def: `{"StartAt":"T","TimeoutSeconds":30,"States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",` +
				payload + `,"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Caught"}],"End":true},"Caught":{"Type":"Pass","End":true}}}`,
			steps:   []cbStep{{park: 30 * time.Second}, {advance: 30 * time.Second}},
			wantErr: "States.Timeout", wantElapsed: 30 * time.Second, wantCalls: 1},
		{name: "failure is caught",
			def:   task(`,"HeartbeatSeconds":60,"Catch":[{"ErrorEquals":["JobFailed"],"ResultPath":"$.err","Next":"Caught"}]`),
			steps: []cbStep{{park: 60 * time.Second}, {advance: 20 * time.Second}, {failure: &Error{Name: "JobFailed", Cause: "gpu on fire"}}},
			want:  `{"job":"j1","err":{"Error":"JobFailed","Cause":"gpu on fire"}}`, wantElapsed: 20 * time.Second, wantCalls: 1},
		{name: "heartbeat timeout is caught as States.Timeout",
			def:   task(`,"HeartbeatSeconds":5,"Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"T"},{"ErrorEquals":["States.Timeout"],"ResultPath":"$.err","Next":"Caught"}]`),
			steps: []cbStep{{park: 5 * time.Second}, {advance: 5 * time.Second}},
			want:  `{"job":"j1","err":{"Error":"States.HeartbeatTimeout","Cause":"Task 'T' sent no heartbeat for 5s (HeartbeatSeconds)"}}`, wantElapsed: 5 * time.Second, wantCalls: 1},
		{name: "failure is retried under a new token",
			def: task(`,"HeartbeatSeconds":60,"Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":3}]`),
			steps: []cbStep{{park: 60 * time.Second}, {failure: &Error{Name: "Busy"}},
				{park: 3 * time.Second}, {advance: 3 * time.Second}, {newToken: true},
				{park: 60 * time.Second}, {success: `"second"`}},
			want: `"second"`, wantElapsed: 3 * time.Second, wantCalls: 2},
	}
	clocks := map[string]func(*stepClock) clock.Clock{
		"context":     func(c *stepClock) clock.Clock { return c },
		"interrupter": func(c *stepClock) clock.Clock { return interruptClock{c} },
	}
	for _, tt := range tests {
		for clockName, wrap := range clocks {
			t.Run(tt.name+"/"+clockName, func(t *testing.T) {
				clock := newStepClock()
				tasks := NewTasks(nil)
				tokens := make(chan string, 4)
				calls := 0
				inv := invokerFunc(func(_ context.Context, resource string, in json.RawMessage) (json.RawMessage, error) {
					calls++
					var p struct{ Token string }
					if resource != "arn:aws:lambda:us-east-1:1:function:worker" || json.Unmarshal(in, &p) != nil || p.Token == "" {
						t.Errorf("Invoke(%s, %s): want the worker with a token", resource, in)
					}
					tokens <- p.Token
					return json.RawMessage(`{"accepted":true}`), nil
				})
				input := tt.input
				if input == "" {
					input = `{"job":"j1"}`
				}
				m := mustParse(t, tt.def)
				type result struct {
					out json.RawMessage
					err error
				}
				done := make(chan result, 1)
				go func() {
					exe := Execution{ID: "arn:aws:states:us-east-1:1:execution:sm:e", Name: "e", Input: json.RawMessage(input), StartTime: t0}
					out, err := m.Run(context.Background(), exe, Options{Clock: wrap(clock), Invoker: inv, Tasks: tasks})
					done <- result{out, err}
				}()
				token := <-tokens
				var old []string
				for _, s := range tt.steps {
					switch {
					case s.park != 0:
						if got := <-clock.parked; got != s.park {
							t.Fatalf("the run sleeps %v, want %v", got, s.park)
						}
					case s.advance != 0:
						clock.Advance(s.advance)
					case s.beat:
						if err := tasks.SendTaskHeartbeat(context.Background(), token); err != nil {
							t.Fatal(err)
						}
					case s.success != "":
						if err := tasks.SendTaskSuccess(context.Background(), token, json.RawMessage(s.success)); err != nil {
							t.Fatal(err)
						}
					case s.failure != nil:
						if err := tasks.SendTaskFailure(context.Background(), token, s.failure.Name, s.failure.Cause); err != nil {
							t.Fatal(err)
						}
					case s.newToken:
						old = append(old, token)
						token = <-tokens
					}
				}
				res := <-done
				check(t, string(res.out), res.err, tt.want, tt.wantErr)
				if got := clock.Now().Sub(t0); got != tt.wantElapsed {
					t.Errorf("elapsed %v, want %v", got, tt.wantElapsed)
				}
				if calls != tt.wantCalls {
					t.Errorf("%d invocations, want %d", calls, tt.wantCalls)
				}
				// Every token has closed with its task.
				for _, tok := range append(old, token) {
					if err := tasks.SendTaskSuccess(context.Background(), tok, json.RawMessage(`{}`)); !errors.Is(err, ErrTaskTimedOut) {
						t.Errorf("SendTaskSuccess after the end = %v, want TaskTimedOut", err)
					}
				}
			})
		}
	}
}

// TestCallbackBeforeWaiting has the worker call back from within the
// invocation, before the task starts to wait: the result is kept.
func TestCallbackBeforeWaiting(t *testing.T) {
	tasks := NewTasks(nil)
	inv := invokerFunc(func(ctx context.Context, resource string, in json.RawMessage) (json.RawMessage, error) {
		var p struct{ Token string }
		json.Unmarshal(in, &p)
		if err := tasks.SendTaskHeartbeat(ctx, p.Token); err != nil {
			return nil, err
		}
		return nil, tasks.SendTaskSuccess(ctx, p.Token, json.RawMessage(`{"fast":true}`))
	})
	def := single(`"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","HeartbeatSeconds":1,
		"Parameters":{"FunctionName":"f","Payload":{"token.$":"$$.Task.Token"}}`)
	out, err := runDef(t, def, `{}`, Options{Invoker: inv, Tasks: tasks})
	check(t, out, err, `{"fast":true}`, "")
}

// TestCallbackInvokeFails: when the call that hands the token on fails, the
// task fails with its error and waits for nothing.
func TestCallbackInvokeFails(t *testing.T) {
	inv := invokerFunc(func(context.Context, string, json.RawMessage) (json.RawMessage, error) {
		return nil, &Error{Name: "Lambda.ServiceException", Cause: "down"}
	})
	def := single(`"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
		"Parameters":{"FunctionName":"f","Payload":{"token.$":"$$.Task.Token"}}`)
	_, err := runDef(t, def, `{}`, Options{Invoker: inv, Tasks: NewTasks(nil)})
	check(t, "", err, "", "Lambda.ServiceException")
}

// TestCallbackOtherIntegration: a callback on another integration makes
// that integration's request-response call, whose result is ignored.
func TestCallbackOtherIntegration(t *testing.T) {
	tasks := NewTasks(nil)
	var got string
	inv := invokerFunc(func(ctx context.Context, resource string, in json.RawMessage) (json.RawMessage, error) {
		got = resource
		var p struct{ Input struct{ Token string } }
		json.Unmarshal(in, &p)
		return json.RawMessage(`{"ExecutionArn":"x"}`), tasks.SendTaskSuccess(ctx, p.Input.Token, json.RawMessage(`{"child":"done"}`))
	})
	def := single(`"Type":"Task","Resource":"arn:aws:states:::states:startExecution.waitForTaskToken",
		"Parameters":{"StateMachineArn":"arn:aws:states:us-east-1:1:stateMachine:child","Input":{"Token.$":"$$.Task.Token"}}`)
	out, err := runDef(t, def, `{}`, Options{Invoker: inv, Tasks: tasks})
	check(t, out, err, `{"child":"done"}`, "")
	if got != "arn:aws:states:::states:startExecution" {
		t.Errorf("Invoker got resource %q, want the request-response startExecution", got)
	}
}

func TestCallbackNeedsTasks(t *testing.T) {
	m := mustParse(t, single(`"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f"}`))
	if _, err := m.Run(context.Background(), Execution{}, Options{Clock: newClock(), Invoker: echo}); err == nil ||
		!strings.Contains(err.Error(), "Options.Tasks") {
		t.Fatalf("Run without Tasks: %v", err)
	}
}

// TestTaskTokenOutsideCallback: only a task waiting for a callback has
// $$.Task.Token.
func TestTaskTokenOutsideCallback(t *testing.T) {
	_, err := runDef(t, single(`"Type":"Task","Resource":"r","Parameters":{"t.$":"$$.Task.Token"}`), `{}`, Options{})
	check(t, "", err, "", "States.Runtime")
}

var tokenForm = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestTasksAPI(t *testing.T) {
	ctx := context.Background()
	key := []byte("0123456789abcdef0123456789abcdef")
	tasks := NewTasks(key)
	token, cb := tasks.issue(func() time.Time { return t0 })
	other, _ := tasks.issue(func() time.Time { return t0 })
	if !tokenForm.MatchString(token) || token == other {
		t.Fatalf("tokens %q and %q: want two different 43-character base64url strings", token, other)
	}
	foreign, _ := NewTasks(nil).issue(time.Now)
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"empty token", func() error { return tasks.SendTaskHeartbeat(ctx, "") }, ErrValidation},
		{"token too long", func() error { return tasks.SendTaskHeartbeat(ctx, strings.Repeat("a", maxTaskToken+1)) }, ErrValidation},
		{"garbage", func() error { return tasks.SendTaskHeartbeat(ctx, "not-a-token") }, ErrInvalidToken},
		{"another Tasks' token", func() error { return tasks.SendTaskHeartbeat(ctx, foreign) }, ErrInvalidToken},
		{"output not JSON", func() error { return tasks.SendTaskSuccess(ctx, token, json.RawMessage(`{"a":`)) }, ErrInvalidOutput},
		{"output over 256 KiB", func() error {
			return tasks.SendTaskSuccess(ctx, token, json.RawMessage(`"`+strings.Repeat("x", maxPayload-1)+`"`))
		}, ErrValidation},
		{"output at 256 KiB", func() error {
			return tasks.SendTaskSuccess(ctx, other, json.RawMessage(`"`+strings.Repeat("x", maxPayload-2)+`"`))
		}, nil},
		{"success twice", func() error { return tasks.SendTaskSuccess(ctx, other, json.RawMessage(`1`)) }, ErrTaskTimedOut},
		{"error name too long", func() error { return tasks.SendTaskFailure(ctx, token, strings.Repeat("e", 257), "") }, ErrValidation},
		{"heartbeat", func() error { return tasks.SendTaskHeartbeat(ctx, token) }, nil},
		{"failure", func() error { return tasks.SendTaskFailure(ctx, token, "E", "c") }, nil},
		{"heartbeat after the end", func() error { return tasks.SendTaskHeartbeat(ctx, token) }, ErrTaskTimedOut},
		{"closed token, same key after a restart", func() error {
			tasks.close(token)
			return NewTasks(key).SendTaskHeartbeat(ctx, token)
		}, ErrTaskTimedOut},
		{"cancelled context", func() error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return tasks.SendTaskHeartbeat(c, token)
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
	if cb.err == nil || cb.err.Name != "E" || !cb.lastBeat.Equal(t0) {
		t.Fatalf("callback = %+v, want the failure and the heartbeat", cb)
	}
}

func TestLambdaInvoke(t *testing.T) {
	tests := []struct {
		name, params string
		fn           func(json.RawMessage) (json.RawMessage, error)
		wantPayload  string // what the function received
		want         string
		wantErr      string
	}{
		{name: "payload and result", params: `{"FunctionName.$":"$.fn","Payload":{"n.$":"$.n"}}`,
			fn:          func(in json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`{"double": 4}`), nil },
			wantPayload: `{"n":2}`,
			want: `{"ExecutedVersion":"$LATEST","Payload":{"double":4},"SdkHttpMetadata":{"AllHttpHeaders":{` +
				`"Connection":["keep-alive"],"Content-Type":["application/json"],"X-Amz-Executed-Version":["$LATEST"],` +
				`"x-amzn-Remapped-Content-Length":["0"],"x-amzn-RequestId":["80808080-8080-4080-8080-808080808080"]},` +
				`"HttpHeaders":{"Connection":"keep-alive","Content-Type":"application/json","X-Amz-Executed-Version":"$LATEST",` +
				`"x-amzn-Remapped-Content-Length":"0","x-amzn-RequestId":"80808080-8080-4080-8080-808080808080"},"HttpStatusCode":200},` +
				`"SdkResponseMetadata":{"RequestId":"80808080-8080-4080-8080-808080808080"},"StatusCode":200}`},
		{name: "no payload sends an empty object", params: `{"FunctionName":"f"}`,
			fn:          func(json.RawMessage) (json.RawMessage, error) { return json.RawMessage(`null`), nil },
			wantPayload: `{}`, want: `null`},
		{name: "function error keeps its name", params: `{"FunctionName":"f"}`,
			fn: func(json.RawMessage) (json.RawMessage, error) {
				return nil, &Error{Name: "TransientError", Cause: `{"errorMessage":"x","errorType":"TransientError"}`}
			},
			wantPayload: `{}`, wantErr: "TransientError"},
		{name: "FunctionName not a string", params: `{"FunctionName.$":"$.n"}`, wantErr: "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			inv := invokerFunc(func(_ context.Context, resource string, in json.RawMessage) (json.RawMessage, error) {
				if resource != "arn:aws:lambda:us-east-1:1:function:f" && resource != "f" {
					t.Errorf("resource %q", resource)
				}
				got = string(in)
				return tt.fn(in)
			})
			sel := ""
			if tt.name == "no payload sends an empty object" {
				sel = `,"ResultSelector":{"p.$":"$.Payload"},"OutputPath":"$.p"`
			}
			def := single(`"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":` + tt.params + sel)
			out, err := runDef(t, def, `{"fn":"arn:aws:lambda:us-east-1:1:function:f","n":2}`,
				Options{Invoker: inv, Rand: func() float64 { return 0.5 }})
			check(t, out, err, tt.want, tt.wantErr)
			if tt.wantPayload != "" && got != tt.wantPayload {
				t.Errorf("payload %s, want %s", got, tt.wantPayload)
			}
		})
	}
}

func TestCallbackParseRefuses(t *testing.T) {
	task := func(resource, fields string) string {
		return single(fmt.Sprintf(`"Type":"Task","Resource":%q%s`, resource, fields))
	}
	const lambda = "arn:aws:states:::lambda:invoke"
	tests := []struct{ name, def, want string }{
		{"callback on a function ARN", task("arn:aws:lambda:us-east-1:1:function:f.waitForTaskToken", ""),
			`field "Resource": .waitForTaskToken is only available on arn:<partition>:states::: service integrations`},
		{"heartbeat without callback", task(lambda, `,"Parameters":{"FunctionName":"f"},"HeartbeatSeconds":5`),
			`field "HeartbeatSeconds" is only supported on a Task whose Resource ends in .waitForTaskToken`},
		{"heartbeat path without callback", task("r", `,"HeartbeatSecondsPath":"$.h"`),
			`field "HeartbeatSecondsPath" is only supported`},
		{"heartbeat not below timeout", task(lambda+".waitForTaskToken", `,"Parameters":{"FunctionName":"f"},"HeartbeatSeconds":60,"TimeoutSeconds":60`),
			`field "HeartbeatSeconds" must be less than "TimeoutSeconds"`},
		{"both timeouts", task("r", `,"TimeoutSeconds":5,"TimeoutSecondsPath":"$.t"`),
			`fields "TimeoutSeconds" and "TimeoutSecondsPath" cannot both be set`},
		{"lambda:invoke without Parameters", task(lambda, ""), `field "Parameters" with FunctionName is required`},
		{"lambda:invoke without FunctionName", task(lambda, `,"Parameters":{"Payload":{}}`), `needs field "FunctionName"`},
		{"lambda:invoke Qualifier", task(lambda, `,"Parameters":{"FunctionName":"f","Qualifier":"prod"}`),
			`field "Qualifier" of lambda:invoke is not supported, only FunctionName and Payload`},
		{"lambda:invoke.sync", task(lambda+".sync", `,"Parameters":{"FunctionName":"f"}`), `lambda:invoke does not support .sync`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.def))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestCallbackOnDiscreteEventClock runs a callback task on the
// discrete-event clock costsim uses: the worker, a process of its own,
// beats and then calls back, and the task ends at that simulated instant.
func TestCallbackOnDiscreteEventClock(t *testing.T) {
	events := clock.NewEvents(t0)
	tasks := NewTasks(nil)
	inv := invokerFunc(func(_ context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
		var p struct{ Token string }
		json.Unmarshal(in, &p)
		events.Go(func() {
			ctx := context.Background()
			events.Sleep(ctx, 50*time.Second)
			tasks.SendTaskHeartbeat(ctx, p.Token)
			events.Sleep(ctx, 50*time.Second)
			tasks.SendTaskSuccess(ctx, p.Token, json.RawMessage(`{"at":100}`))
		})
		return nil, nil
	})
	def := single(`"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","HeartbeatSeconds":60,
		"Parameters":{"FunctionName":"f","Payload":{"token.$":"$$.Task.Token"}}`)
	m := mustParse(t, def)
	var (
		out   json.RawMessage
		err   error
		ended time.Time
	)
	events.Go(func() {
		out, err = m.Run(context.Background(), Execution{StartTime: t0}, Options{Clock: events, Invoker: inv, Tasks: tasks})
		ended = events.Now()
	})
	end := events.Run(context.Background())
	check(t, string(out), err, `{"at":100}`, "")
	if ended.Sub(t0) != 100*time.Second || end.Sub(t0) != 100*time.Second {
		t.Fatalf("task ended at %v, simulation at %v; want both at 100s", ended.Sub(t0), end.Sub(t0))
	}
}
