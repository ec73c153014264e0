package lambdas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/localarn"
)

// uuidV4 is the form of Lambda request ids.
var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestConcurrentCallsKeepTheirAnswers calls one function from many
// goroutines at once, as concurrent executions do: each must get its own
// answer. aws-lambda-go's handler answers with a slice of a pooled buffer,
// which a shared handler would hand to the next call while this one reads.
func TestConcurrentCallsKeepTheirAnswers(t *testing.T) {
	type in struct{ N int }
	type out struct{ Echo string }
	f := NewFunctions(map[string]any{"Echo": func(_ context.Context, v in) (out, error) {
		return out{Echo: fmt.Sprintf("answer-%04d", v.N)}, nil
	}})
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for n := range 200 {
		wg.Go(func() {
			got, err := f.Call(context.Background(), "Echo", fmt.Appendf(nil, `{"N":%d}`, n))
			if want := fmt.Sprintf(`{"Echo":"answer-%04d"}`, n); err != nil || string(got) != want+"\n" && string(got) != want {
				errs <- fmt.Errorf("call %d = %q, %v; want %s", n, got, err, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestFunctionTimeout runs handlers within their Timeout: the context
// carries the deadline, a handler still running at the deadline fails with
// Sandbox.Timedout even if it answers afterwards, and what it did before
// stays done. No test waits on the clock: the handlers that time out block
// on their context, which ends after a millisecond.
func TestFunctionTimeout(t *testing.T) {
	type seen struct {
		deadline  bool
		requestID string
		arn       string
	}
	tests := []struct {
		name    string
		timeout time.Duration // 0: none
		parent  func() (context.Context, context.CancelFunc)
		handler func(ctx context.Context, s *seen, writes *atomic.Int32) (string, error)
		want    string // the answer, or the error name
		writes  int32
	}{
		{name: "answers in time", timeout: time.Minute,
			handler: func(ctx context.Context, s *seen, w *atomic.Int32) (string, error) { w.Add(1); return "ok", nil },
			want:    `"ok"`, writes: 1},
		{name: "no timeout, no deadline",
			handler: func(ctx context.Context, s *seen, w *atomic.Int32) (string, error) { return "ok", nil },
			want:    `"ok"`},
		{name: "blocks past the deadline", timeout: time.Millisecond,
			handler: func(ctx context.Context, s *seen, w *atomic.Int32) (string, error) {
				w.Add(1)
				<-ctx.Done()
				return "", ctx.Err()
			},
			want: SandboxTimedout, writes: 1},
		{name: "answers after the deadline", timeout: time.Millisecond,
			handler: func(ctx context.Context, s *seen, w *atomic.Int32) (string, error) {
				<-ctx.Done()
				w.Add(1) // Call waits for the handler, so a late write stays too
				return "too late", nil
			},
			want: SandboxTimedout, writes: 1},
		{name: "the caller gives up first", timeout: time.Minute,
			parent: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, func() {}
			},
			// Not Sandbox.Timedout: the handler's own error, as aws-lambda-go
			// names it, for the caller (a Task's timeout) to judge.
			handler: func(ctx context.Context, s *seen, w *atomic.Int32) (string, error) {
				<-ctx.Done()
				return "", ctx.Err()
			},
			want: "errorString"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			var writes atomic.Int32
			f := NewFunctions(map[string]any{"Fn": func(ctx context.Context) (string, error) {
				_, s.deadline = ctx.Deadline()
				if lc, ok := lambdacontext.FromContext(ctx); ok {
					s.requestID, s.arn = lc.AwsRequestID, lc.InvokedFunctionArn
				}
				return tt.handler(ctx, &s, &writes)
			}})
			if tt.timeout > 0 {
				f.Timeouts = map[string]time.Duration{"Fn": tt.timeout}
			}
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.parent != nil {
				ctx, cancel = tt.parent()
			}
			defer cancel()
			out, err := f.Call(ctx, "Fn", []byte(`{}`))
			got := strings.TrimSpace(string(out))
			var se *asl.Error
			if errors.As(err, &se) {
				got = se.Name
			}
			if got != tt.want {
				t.Fatalf("got %q (%v), want %s", got, err, tt.want)
			}
			if n := writes.Load(); n != tt.writes {
				t.Errorf("%d writes stayed, want %d", n, tt.writes)
			}
			if s.deadline != (tt.timeout > 0) || !uuidV4.MatchString(s.requestID) || s.arn != localarn.Function("Fn") {
				t.Errorf("handler context: %+v", s)
			}
			if tt.want == SandboxTimedout {
				want := `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: ` + s.requestID + ` Error: Task timed out after 0.00 seconds"}`
				if se.Cause != want {
					t.Errorf("cause\n got %s\nwant %s", se.Cause, want)
				}
			}
		})
	}
}

// TestTimedOutCause is the cause Lambda gives for a timeout.
func TestTimedOutCause(t *testing.T) {
	for timeout, want := range map[time.Duration]string{
		45 * time.Second:        `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: r-1 Error: Task timed out after 45.00 seconds"}`,
		1500 * time.Millisecond: `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: r-1 Error: Task timed out after 1.50 seconds"}`,
		0:                       `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: r-1 Error: Task timed out after 3.00 seconds"}`,
	} {
		var se *asl.Error
		if !errors.As(timedOut("r-1", timeout), &se) || se.Name != SandboxTimedout || se.Cause != want {
			t.Errorf("timeout %v: %+v, want cause %s", timeout, se, want)
		}
	}
}

// A function's Timeout is measured on the clock its handler waits on
// (Functions.Clock), as Lambda measures it in AWS, and so is the Task's
// TimeoutSeconds: a handler that waits out a 10-minute window of a 900-s
// function answers; one that waits past its Timeout is cut off then, its
// wait ended by its context, and fails with Sandbox.Timedout. In a state
// machine a Task whose TimeoutSeconds (930) exceeds the function's Timeout
// sees the function's Sandbox.Timedout at 900 s, and one whose
// TimeoutSeconds is shorter fails with States.Timeout at its own. Nothing
// waits: the clock is Manual.
func TestFunctionTimeoutOnTheHandlersClock(t *testing.T) {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name         string
		waits        time.Duration // what the handler waits, in 1.5-s steps
		taskTimeout  int           // the Task's TimeoutSeconds; 0: called directly
		want         string        // the answer, or the error name
		took         time.Duration // on the clock
		contextEnded bool          // the handler saw its context end
		noTimeout    bool          // the function has no Timeout
	}{
		{name: "a window within its Timeout", waits: 10 * time.Minute, want: `{"ok":true}`, took: 10 * time.Minute},
		{name: "waits past its Timeout", waits: 20 * time.Minute, want: SandboxTimedout, took: 900 * time.Second, contextEnded: true},
		{name: "a Task longer than its function", waits: 20 * time.Minute, taskTimeout: 930, want: SandboxTimedout, took: 900 * time.Second, contextEnded: true},
		{name: "a Task shorter than its function", waits: 20 * time.Minute, taskTimeout: 600, want: "States.Timeout", took: 600 * time.Second, contextEnded: true},
		{name: "a window within both", waits: 10 * time.Minute, taskTimeout: 930, want: `{"ok":true}`, took: 10 * time.Minute},
		{name: "no Timeout of its own, within the Task's", waits: 10 * time.Minute, taskTimeout: 930, noTimeout: true, want: `{"ok":true}`, took: 10 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewManual(start)
			var ended bool
			f := NewFunctions(map[string]any{"Poll": func(ctx context.Context) (map[string]bool, error) {
				for waited := time.Duration(0); waited < tt.waits; waited += 1500 * time.Millisecond {
					if err := clk.Sleep(ctx, 1500*time.Millisecond); err != nil {
						ended = true
						return nil, err
					}
				}
				return map[string]bool{"ok": true}, nil
			}})
			f.Clock = clk
			if !tt.noTimeout {
				f.Timeouts = map[string]time.Duration{"Poll": 900 * time.Second}
			}
			var got string
			if tt.taskTimeout == 0 {
				out, err := f.Call(context.Background(), "Poll", []byte(`{}`))
				got = string(out)
				if se, ok := errors.AsType[*asl.Error](err); ok {
					got = se.Name
				} else if err != nil {
					t.Fatal(err)
				}
			} else {
				def := fmt.Sprintf(`{"StartAt":"Poll","States":{"Poll":{"Type":"Task","Resource":%q,"TimeoutSeconds":%d,
					"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.failure","Next":"Caught"}],"End":true},
					"Caught":{"Type":"Pass","OutputPath":"$.failure.Error","End":true}}}`, localarn.Function("Poll"), tt.taskTimeout)
				m, err := asl.Parse([]byte(def))
				if err != nil {
					t.Fatal(err)
				}
				out, err := m.Run(context.Background(), asl.Execution{ID: "m-1", Name: "m-1", Input: json.RawMessage(`{}`), StartTime: clk.Now()},
					asl.Options{Clock: clk, Invoker: f})
				if err != nil {
					t.Fatal(err)
				}
				if got = string(out); strings.HasPrefix(got, `"`) {
					got = strings.Trim(got, `"`)
				}
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if d := clk.Now().Sub(start); d != tt.took {
				t.Errorf("the clock moved %s, want %s", d, tt.took)
			}
			if ended != tt.contextEnded {
				t.Errorf("the handler saw its context end: %v, want %v", ended, tt.contextEnded)
			}
		})
	}
}
