package lambdas

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/asl"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/local/localarn"
)

func TestFaultsDecide(t *testing.T) {
	seeded := func() func() float64 { return rand.New(rand.NewPCG(1, 2)).Float64 }
	tests := []struct {
		name   string
		faults *Faults
		fn     string
		calls  int
		want   map[int]Fault // invocation number → fault; the others none
	}{
		{name: "nil injects nothing", fn: "F", calls: 5},
		{name: "zero value injects nothing", faults: &Faults{}, fn: "F", calls: 5},
		{name: "by function and number", fn: "Submit", calls: 4,
			faults: &Faults{At: map[string]map[int]Fault{"Submit": {2: TimedoutAfter, 4: TooManyRequests}, "Poll": {1: Timedout}}},
			want:   map[int]Fault{2: TimedoutAfter, 4: TooManyRequests}},
		{name: "every one", fn: "F", calls: 3, faults: &Faults{Rate: 1, Kinds: []Fault{ServiceException}},
			want: map[int]Fault{1: ServiceException, 2: ServiceException, 3: ServiceException}},
		{name: "rate for other functions only", fn: "F", calls: 3, faults: &Faults{Rate: 1, Only: []string{"G"}}},
		{name: "At wins over the rate", fn: "F", calls: 2,
			faults: &Faults{Rate: 1, Kinds: []Fault{Timedout}, At: map[string]map[int]Fault{"F": {2: NoFault}}},
			want:   map[int]Fault{1: Timedout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n := 1; n <= tt.calls; n++ {
				if got := tt.faults.Decide(tt.fn, n); got != tt.want[n] {
					t.Errorf("invocation %d: %v, want %v", n, got, tt.want[n])
				}
			}
		})
	}

	// A seeded source fails the same invocations every time, about Rate of
	// them, with every kind of fault.
	decide := func() []Fault {
		f := &Faults{Rate: 0.3, Rand: seeded()}
		var out []Fault
		for n := 1; n <= 1000; n++ {
			out = append(out, f.Decide("F", n))
		}
		return out
	}
	first, again := decide(), decide()
	kinds := map[Fault]int{}
	for i := range first {
		if first[i] != again[i] {
			t.Fatalf("invocation %d: %v, then %v with the same seed", i+1, first[i], again[i])
		}
		kinds[first[i]]++
	}
	if failed := 1000 - kinds[NoFault]; failed < 250 || failed > 350 || len(kinds) != 5 {
		t.Errorf("rate 0.3 failed %d of 1000 invocations: %v", failed, kinds)
	}

	// Injected hears of every fault returned, and of nothing else.
	type heard struct {
		fn    string
		n     int
		fault Fault
	}
	var got []heard
	f := &Faults{At: map[string]map[int]Fault{"F": {2: NoFault, 3: Timedout}}, Rate: 1, Kinds: []Fault{ServiceException}, Only: []string{"F"},
		Injected: func(fn string, n int, fault Fault) { got = append(got, heard{fn, n, fault}) }}
	for n := 1; n <= 3; n++ {
		f.Decide("F", n)
		f.Decide("G", n)
	}
	if want := []heard{{"F", 1, ServiceException}, {"F", 3, Timedout}}; !slices.Equal(got, want) {
		t.Errorf("Injected heard %v, want %v", got, want)
	}
}

// TestFaultsFailInvocations: each fault fails the invocation with the error
// name and cause Step Functions reports, and only TimedoutAfter runs the
// handler.
func TestFaultsFailInvocations(t *testing.T) {
	tests := []struct {
		fault      Fault
		name       string
		cause      string // a part of it
		handlerRan bool
	}{
		{Timedout, SandboxTimedout, `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: `, false},
		{TimedoutAfter, SandboxTimedout, ` Error: Task timed out after 45.00 seconds"}`, true},
		{ServiceException, LambdaServiceException, "(Service: AWSLambda; Status Code: 500; Error Code: ServiceException; Request ID: ", false},
		{TooManyRequests, LambdaTooManyRequests, "Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: ", false},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			ran := 0
			f := NewFunctions(map[string]any{"Fn": func() (string, error) { ran++; return "ok", nil }})
			f.Timeouts = map[string]time.Duration{"Fn": 45 * time.Second}
			f.Faults = &Faults{At: map[string]map[int]Fault{"Fn": {2: tt.fault}}}
			for n := 1; n <= 3; n++ {
				out, err := f.Call(context.Background(), "Fn", nil)
				if n != 2 {
					if err != nil || strings.TrimSpace(string(out)) != `"ok"` {
						t.Fatalf("invocation %d: %s, %v", n, out, err)
					}
					continue
				}
				var se *asl.Error
				if !errors.As(err, &se) || se.Name != tt.name || !strings.Contains(se.Cause, tt.cause) || out != nil {
					t.Fatalf("invocation 2: %s, %v; want %s with cause containing %q", out, err, tt.name, tt.cause)
				}
			}
			if want := 2 + btoi(tt.handlerRan); ran != want {
				t.Errorf("the handler ran %d times, want %d", ran, want)
			}
			if n := f.Invocations("Fn"); n != 3 {
				t.Errorf("%d invocations counted, want 3", n)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSandboxTimedoutInAStateMachine: a Task whose function runs out of
// time fails with Sandbox.Timedout, which a Retry and a Catch match by
// name, and States.TaskFailed matches too.
func TestSandboxTimedoutInAStateMachine(t *testing.T) {
	task := func(retry, catch string) string {
		return `{"StartAt":"Slow","States":{"Slow":{"Type":"Task","Resource":"` + localarn.Function("Slow") + `",
			"Retry":[{"ErrorEquals":["` + retry + `"],"IntervalSeconds":1,"MaxAttempts":2}],
			"Catch":[{"ErrorEquals":["` + catch + `"],"ResultPath":"$.failure","Next":"Caught"}],"End":true},
			"Caught":{"Type":"Pass","End":true}}}`
	}
	tests := []struct {
		name         string
		retry, catch string
		invocations  int
	}{
		{"retried, then caught", SandboxTimedout, SandboxTimedout, 3},
		{"caught as a task failure", "Other", "States.TaskFailed", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := asl.Parse([]byte(task(tt.retry, tt.catch)))
			if err != nil {
				t.Fatal(err)
			}
			fns := NewFunctions(map[string]any{
				"Slow": func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			})
			fns.Timeouts = map[string]time.Duration{"Slow": time.Millisecond}
			clk := clock.NewManual(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
			output, err := m.Run(context.Background(), asl.Execution{ID: "m-1", Name: "m-1", Input: json.RawMessage(`{}`), StartTime: clk.Now()},
				asl.Options{Clock: clk, Invoker: fns})
			var out struct{ Failure struct{ Error, Cause string } }
			json.Unmarshal(output, &out)
			if err != nil || out.Failure.Error != SandboxTimedout || !strings.Contains(out.Failure.Cause, "Task timed out after") {
				t.Fatalf("execution %s, %v", output, err)
			}
			if n := fns.Invocations("Slow"); n != tt.invocations {
				t.Errorf("%d invocations, want %d", n, tt.invocations)
			}
		})
	}
}
