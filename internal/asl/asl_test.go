package asl

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is the execution start time in tests; the test clock starts 250 ms
// later so StartTime and EnteredTime differ.
var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// testClock is a manual clock: Sleep advances virtual time and returns at
// once, recording how long it was asked to sleep.
type testClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock() *testClock { return &testClock{now: t0.Add(250 * time.Millisecond)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *testClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

type invokerFunc func(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error)

func (f invokerFunc) Invoke(ctx context.Context, resource string, input json.RawMessage) (json.RawMessage, error) {
	return f(ctx, resource, input)
}

// echo is an Invoker that returns its input.
var echo = invokerFunc(func(_ context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
	return in, nil
})

func mustParse(t *testing.T, def string) *Machine {
	t.Helper()
	m, err := Parse([]byte(def))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// runDef parses def and runs it with input, filling in a test clock and the
// echo invoker when opts leaves them unset.
func runDef(t *testing.T, def, input string, opts Options) (string, error) {
	t.Helper()
	m := mustParse(t, def)
	if opts.Clock == nil {
		opts.Clock = newClock()
	}
	if opts.Invoker == nil {
		opts.Invoker = echo
	}
	exe := Execution{ID: "arn:aws:states:eu-west-1:1:execution:sm:run-1", Name: "run-1", Input: json.RawMessage(input), StartTime: t0}
	out, err := m.Run(context.Background(), exe, opts)
	return string(out), err
}

// single wraps the fields of one terminal state into a definition.
func single(fields string) string {
	return `{"StartAt":"S","States":{"S":{` + fields + `,"End":true}}}`
}

func errName(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	g, err := decode([]byte(got))
	if err != nil {
		t.Fatalf("output %q: %v", got, err)
	}
	w, err := decode([]byte(want))
	if err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// check asserts either the output or the name of the *Error.
func check(t *testing.T, out string, err error, want, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if errName(err) != wantErr {
			t.Fatalf("error = %v, want %s", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("error = %v", err)
	}
	if !jsonEqual(t, out, want) {
		t.Fatalf("output = %s, want %s", out, want)
	}
}

func TestPassDataFlow(t *testing.T) {
	const in = `{"a":{"b":1,"c":[10,20]},"x y":"sp","big":4294967295,"huge":123456789012345678901234567890}`
	tests := []struct {
		name, fields, input, want, wantErr string
	}{
		{name: "identity", fields: `"Type":"Pass"`, want: in},
		{name: "InputPath field", fields: `"Type":"Pass","InputPath":"$.a"`, want: `{"b":1,"c":[10,20]}`},
		{name: "InputPath index", fields: `"Type":"Pass","InputPath":"$.a.c[1]"`, want: `20`},
		{name: "InputPath bracket", fields: `"Type":"Pass","InputPath":"$['x y']"`, want: `"sp"`},
		{name: "InputPath quoted chain", fields: `"Type":"Pass","InputPath":"$[\"a\"]['c'][0]"`, want: `10`},
		{name: "InputPath null", fields: `"Type":"Pass","InputPath":null`, want: `{}`},
		{name: "large numbers survive", fields: `"Type":"Pass","Parameters":{"b.$":"$.big","h.$":"$.huge"}`,
			want: `{"b":4294967295,"h":123456789012345678901234567890}`},
		{name: "Result replaces", fields: `"Type":"Pass","Result":{"r":1}`, want: `{"r":1}`},
		{name: "Result at ResultPath", fields: `"Type":"Pass","Result":{"r":1},"ResultPath":"$.res"`,
			want: `{"a":{"b":1,"c":[10,20]},"x y":"sp","big":4294967295,"huge":123456789012345678901234567890,"res":{"r":1}}`},
		{name: "ResultPath creates objects", fields: `"Type":"Pass","Result":true,"ResultPath":"$.new.deep['f g']"`,
			input: `{"k":1}`, want: `{"k":1,"new":{"deep":{"f g":true}}}`},
		{name: "ResultPath into existing object", fields: `"Type":"Pass","Result":2,"ResultPath":"$.a.z"`,
			input: `{"a":{"y":1}}`, want: `{"a":{"y":1,"z":2}}`},
		{name: "ResultPath null keeps input", fields: `"Type":"Pass","Result":{"r":1},"ResultPath":null`, want: in},
		{name: "Parameters", fields: `"Type":"Pass","Parameters":{"k.$":"$.a.b","lit":"v","n":{"arr":[{"z.$":"$.big"},3]}}`,
			want: `{"k":1,"lit":"v","n":{"arr":[{"z":4294967295},3]}}`},
		{name: "Parameters after InputPath, ResultPath on raw input",
			fields: `"Type":"Pass","InputPath":"$.a","Parameters":{"b.$":"$.b","all.$":"$"},"ResultPath":"$.out"`,
			input:  `{"a":{"b":1},"keep":true}`, want: `{"a":{"b":1},"keep":true,"out":{"b":1,"all":{"b":1}}}`},
		{name: "OutputPath", fields: `"Type":"Pass","Parameters":{"p.$":"$.a.b"},"ResultPath":"$.p","OutputPath":"$.p"`,
			want: `{"p":1}`},
		{name: "OutputPath null", fields: `"Type":"Pass","OutputPath":null`, want: `{}`},
		{name: "Result wins over Parameters", fields: `"Type":"Pass","Parameters":{"x":1},"Result":"r"`, want: `"r"`},
		{name: "missing InputPath", fields: `"Type":"Pass","InputPath":"$.nope"`, wantErr: "States.Runtime"},
		{name: "missing index", fields: `"Type":"Pass","InputPath":"$.a.c[5]"`, wantErr: "States.Runtime"},
		{name: "missing Parameters path", fields: `"Type":"Pass","Parameters":{"x.$":"$.nope"}`, wantErr: "States.Runtime"},
		{name: "missing OutputPath", fields: `"Type":"Pass","OutputPath":"$.nope"`, wantErr: "States.Runtime"},
		{name: "ResultPath into array", fields: `"Type":"Pass","Result":1,"ResultPath":"$.r"`, input: `[1,2]`,
			wantErr: "States.ResultPathMatchFailure"},
		{name: "ResultPath through number", fields: `"Type":"Pass","Result":1,"ResultPath":"$.a.b.x"`,
			wantErr: "States.ResultPathMatchFailure"},
		{name: "Succeed with paths", fields: `"Type":"Succeed","InputPath":"$.a","OutputPath":"$.c"`, want: `[10,20]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := single(tt.fields)
			if strings.Contains(tt.fields, `"Succeed"`) {
				def = `{"StartAt":"S","States":{"S":{` + tt.fields + `}}}`
			}
			input := tt.input
			if input == "" {
				input = in
			}
			out, err := runDef(t, def, input, Options{})
			check(t, out, err, tt.want, tt.wantErr)
		})
	}
}

func TestContextObject(t *testing.T) {
	def := `{"StartAt":"First","States":{
		"First":{"Type":"Wait","Seconds":2,"Next":"Ctx"},
		"Ctx":{"Type":"Pass","Parameters":{
			"id.$":"$$.Execution.Id","name.$":"$$.Execution.Name","input.$":"$$.Execution.Input",
			"inB.$":"$$.Execution.Input.a[1]","start.$":"$$.Execution.StartTime",
			"state.$":"$$.State.Name","entered.$":"$$.State.EnteredTime","retries.$":"$$.State.RetryCount",
			"exec.$":"$$.Execution.Name"},"End":true}}}`
	out, err := runDef(t, def, `{"a":[1,2]}`, Options{})
	want := `{"id":"arn:aws:states:eu-west-1:1:execution:sm:run-1","name":"run-1","input":{"a":[1,2]},"inB":2,
		"start":"2024-05-01T12:00:00.000Z","state":"Ctx","entered":"2024-05-01T12:00:02.250Z","retries":0,"exec":"run-1"}`
	check(t, out, err, want, "")
}

func TestEmptyInputIsObject(t *testing.T) {
	out, err := runDef(t, single(`"Type":"Pass"`), "", Options{})
	check(t, out, err, `{}`, "")
}

func TestIntrinsics(t *testing.T) {
	const in = `{"name":"Ann","n":41,"xs":[1,2,3],"s":"{\"k\":[1,2]}","obj":{"a":1,"h":"<&>"},"csv":"a,b,,c","f":1.5,"tmpl":"{} and {}",
		"j1":{"a":{"a1":1,"a2":2},"b":2},"j2":{"a":{"a3":1},"c":3}}`
	tests := []struct {
		name, expr, want, wantErr string
	}{
		{"Format", `States.Format('Hello, {}!', $.name)`, `"Hello, Ann!"`, ""},
		{"Format types", `States.Format('{} is {} {} {}', $.name, $.n, true, null)`, `"Ann is 41 true null"`, ""},
		{"Format escapes", `States.Format('esc \{\} it\'s \\ {}', $.n)`, `"esc {} it's \\ 41"`, ""},
		{"Format template from path", `States.Format($.tmpl, 1, 'x')`, `"1 and x"`, ""},
		{"Format float literal", `States.Format('{}', 2.50)`, `"2.50"`, ""},
		{"Format too few args", `States.Format('{} {}', $.name)`, "", "States.Runtime"},
		{"Format too many args", `States.Format('{}', 1, 2)`, "", "States.Runtime"},
		{"Format object arg", `States.Format('{}', $.obj)`, "", "States.Runtime"},
		{"Format missing path", `States.Format('{}', $.nope)`, "", "States.Runtime"},
		{"StringToJson", `States.StringToJson($.s)`, `{"k":[1,2]}`, ""},
		{"StringToJson invalid", `States.StringToJson($.name)`, "", "States.Runtime"},
		{"StringToJson number", `States.StringToJson($.n)`, "", "States.Runtime"},
		{"JsonToString", `States.JsonToString($.obj)`, `"{\"a\":1,\"h\":\"<&>\"}"`, ""},
		{"Array", `States.Array($.name, 1, States.Array(), 'x')`, `["Ann",1,[],"x"]`, ""},
		{"Array empty", `States.Array()`, `[]`, ""},
		{"ArrayLength", `States.ArrayLength($.xs)`, `3`, ""},
		{"ArrayLength of a string", `States.ArrayLength($.name)`, "", "States.Runtime"},
		{"MathAdd", `States.MathAdd($.n, 1)`, `42`, ""},
		{"MathAdd negative", `States.MathAdd($.n, -50)`, `-9`, ""},
		{"MathAdd rounds", `States.MathAdd($.f, 1)`, `3`, ""},
		{"MathAdd big", `States.MathAdd(4294967295, 1)`, `4294967296`, ""},
		{"MathAdd string", `States.MathAdd($.name, 1)`, "", "States.Runtime"},
		{"StringSplit", `States.StringSplit($.csv, ',')`, `["a","b","c"]`, ""},
		{"StringSplit many delimiters", `States.StringSplit('This.is+a,test=string', '.+,=')`, `["This","is","a","test","string"]`, ""},
		{"StringSplit non-string", `States.StringSplit($.n, ',')`, "", "States.Runtime"},
		{"UUID from Rand", `States.UUID()`, `"80808080-8080-4080-8080-808080808080"`, ""},
		{"nested", `States.Format('{}-{}', States.MathAdd(1, 2), States.JsonToString(States.Array('x')))`, `"3-[\"x\"]"`, ""},
		{"context argument", `States.Format('{}@{}', $$.State.Name, $$.Execution.Name)`, `"S@run-1"`, ""},
		// AWS's own example: json2 wins a collision, nested objects are not merged.
		{"JsonMerge", `States.JsonMerge($.j1, $.j2, false)`, `{"a":{"a3":1},"b":2,"c":3}`, ""},
		{"JsonMerge reversed", `States.JsonMerge($.j2, $.j1, false)`, `{"a":{"a1":1,"a2":2},"b":2,"c":3}`, ""},
		{"JsonMerge empty", `States.JsonMerge($.j1, States.StringToJson('{}'), false)`, `{"a":{"a1":1,"a2":2},"b":2}`, ""},
		{"JsonMerge nested call", `States.JsonMerge($.obj, States.StringToJson($.s), false)`, `{"a":1,"h":"<&>","k":[1,2]}`, ""},
		{"JsonMerge deep", `States.JsonMerge($.j1, $.j2, true)`, "", "States.Runtime"},
		{"JsonMerge isDeep string", `States.JsonMerge($.j1, $.j2, 'false')`, "", "States.Runtime"},
		{"JsonMerge isDeep null", `States.JsonMerge($.j1, $.j2, null)`, "", "States.Runtime"},
		{"JsonMerge first not object", `States.JsonMerge($.csv, $.j2, false)`, "", "States.Runtime"},
		{"JsonMerge second not object", `States.JsonMerge($.j1, States.Array(), false)`, "", "States.Runtime"},
		{"JsonMerge null", `States.JsonMerge($.j1, null, false)`, "", "States.Runtime"},
		{"JsonMerge missing path", `States.JsonMerge($.j1, $.nope, false)`, "", "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr, _ := json.Marshal(tt.expr)
			def := single(`"Type":"Pass","Parameters":{"v.$":` + string(expr) + `}`)
			out, err := runDef(t, def, in, Options{Rand: func() float64 { return 0.5 }})
			check(t, out, err, `{"v":`+tt.want+`}`, tt.wantErr)
		})
	}
}

func TestJsonMergeInParameters(t *testing.T) {
	// The merge must leave the input's objects alone: "base.$" reads one
	// of them after the merge has used it.
	def := single(`"Type":"Pass","Parameters":{
		"merged.$":"States.JsonMerge($.defaults, $.job.options, false)","base.$":"$.defaults"}`)
	in := `{"defaults":{"ratio":"16:9","duration":5,"seed":null},"job":{"options":{"duration":10,"prompt":"sea"}}}`
	out, err := runDef(t, def, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Compared as text: keys come out sorted, whichever object they came from.
	want := `{"base":{"duration":5,"ratio":"16:9","seed":null},"merged":{"duration":10,"prompt":"sea","ratio":"16:9","seed":null}}`
	if out != want {
		t.Fatalf("output = %s, want %s", out, want)
	}

	_, err = runDef(t, single(`"Type":"Pass","Parameters":{"m.$":"States.JsonMerge($.a, $.b, true)"}`), `{"a":{},"b":{}}`, Options{})
	var e *Error
	if !errors.As(err, &e) || e.Name != "States.Runtime" || !strings.Contains(e.Cause, "States.JsonMerge") ||
		!strings.Contains(e.Cause, "deep merging is not supported") {
		t.Fatalf("deep merge: error = %v, want States.Runtime naming the function and the reason", err)
	}
}

func TestUUIDFromCryptoRand(t *testing.T) {
	out, err := runDef(t, single(`"Type":"Pass","Parameters":{"a.$":"States.UUID()","b.$":"States.UUID()"}`), `{}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ A, B string }
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !re.MatchString(v.A) || !re.MatchString(v.B) || v.A == v.B {
		t.Fatalf("UUIDs = %q, %q", v.A, v.B)
	}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name, fields, input string
		wantSleep           time.Duration
		want, wantErr       string
	}{
		{name: "Seconds", fields: `"Seconds":30`, input: `{"k":1}`, wantSleep: 30 * time.Second, want: `{"k":1}`},
		{name: "Seconds zero", fields: `"Seconds":0`, input: `{}`, want: `{}`},
		{name: "SecondsPath", fields: `"SecondsPath":"$.w"`, input: `{"w":45}`, wantSleep: 45 * time.Second, want: `{"w":45}`},
		{name: "SecondsPath after InputPath", fields: `"InputPath":"$.in","SecondsPath":"$.w","OutputPath":"$.w"`,
			input: `{"in":{"w":5}}`, wantSleep: 5 * time.Second, want: `5`},
		{name: "SecondsPath negative", fields: `"SecondsPath":"$.w"`, input: `{"w":-1}`, wantErr: "States.Runtime"},
		{name: "SecondsPath fraction", fields: `"SecondsPath":"$.w"`, input: `{"w":1.5}`, wantErr: "States.Runtime"},
		{name: "SecondsPath string", fields: `"SecondsPath":"$.w"`, input: `{"w":"10"}`, wantErr: "States.Runtime"},
		{name: "SecondsPath missing", fields: `"SecondsPath":"$.w"`, input: `{}`, wantErr: "States.Runtime"},
		{name: "Timestamp", fields: `"Timestamp":"2024-05-01T13:00:00Z"`, input: `{}`,
			wantSleep: time.Hour - 250*time.Millisecond, want: `{}`},
		{name: "Timestamp with offset", fields: `"Timestamp":"2024-05-01T14:00:00.250+02:00"`, input: `{}`, want: `{}`},
		{name: "Timestamp in the past", fields: `"Timestamp":"2020-01-01T00:00:00Z"`, input: `{}`, want: `{}`},
		{name: "TimestampPath", fields: `"TimestampPath":"$.t"`, input: `{"t":"2024-05-01T12:01:00.250Z"}`,
			wantSleep: time.Minute, want: `{"t":"2024-05-01T12:01:00.250Z"}`},
		{name: "TimestampPath invalid", fields: `"TimestampPath":"$.t"`, input: `{"t":"tomorrow"}`, wantErr: "States.Runtime"},
		{name: "TimestampPath without zone", fields: `"TimestampPath":"$.t"`, input: `{"t":"2024-05-01T12:01:00"}`, wantErr: "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			start := clock.Now()
			out, err := runDef(t, single(`"Type":"Wait",`+tt.fields), tt.input, Options{Clock: clock})
			check(t, out, err, tt.want, tt.wantErr)
			if got := clock.Now().Sub(start); got != tt.wantSleep {
				t.Errorf("virtual time advanced %v, want %v", got, tt.wantSleep)
			}
		})
	}
}

func TestFail(t *testing.T) {
	tests := []struct {
		name, fields string
		want         Error
		wantErr      string
	}{
		{name: "literals", fields: `"Error":"Boom","Cause":"it broke"`, want: Error{"Boom", "it broke"}},
		{name: "none", fields: `"Comment":"bare"`, want: Error{}},
		{name: "paths", fields: `"ErrorPath":"$.err.name","CausePath":"$.err.msg"`, want: Error{"Upstream", "disk full"}},
		{name: "intrinsic cause", fields: `"Error":"E","CausePath":"States.Format('{} failed: {}', $$.State.Name, $.err.msg)"`,
			want: Error{"E", "S failed: disk full"}},
		{name: "non-string path", fields: `"ErrorPath":"$.err.code"`, wantErr: "States.Runtime"},
		{name: "missing path", fields: `"CausePath":"$.nope"`, wantErr: "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := `{"StartAt":"S","States":{"S":{"Type":"Fail",` + tt.fields + `}}}`
			_, err := runDef(t, def, `{"err":{"name":"Upstream","msg":"disk full","code":7}}`, Options{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v, want *Error", err)
			}
			if tt.wantErr != "" {
				if e.Name != tt.wantErr {
					t.Fatalf("error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if *e != tt.want {
				t.Fatalf("error = %#v, want %#v", *e, tt.want)
			}
		})
	}
}

func TestRuntimeErrorNamesState(t *testing.T) {
	_, err := runDef(t, single(`"Type":"Pass","InputPath":"$.nope"`), `{}`, Options{})
	if errName(err) != "States.Runtime" || !strings.Contains(err.Error(), "state 'S'") || !strings.Contains(err.Error(), "$.nope") {
		t.Fatalf("error = %v", err)
	}
}

func TestDataLimitExceeded(t *testing.T) {
	const overhead = len(`{"s":""}`)
	tests := []struct {
		name, fields string
		size         int
		wantErr      string
	}{
		{name: "input at the limit", fields: `"Type":"Pass"`, size: maxPayload - overhead},
		{name: "input over the limit", fields: `"Type":"Pass"`, size: maxPayload - overhead + 1, wantErr: "States.DataLimitExceeded"},
		{name: "output over the limit", fields: `"Type":"Pass","Parameters":{"a.$":"$.s","b.$":"$.s"}`, size: 140000,
			wantErr: "States.DataLimitExceeded"},
		{name: "output under the limit", fields: `"Type":"Pass","Parameters":{"a.$":"$.s","b.$":"$.s"}`, size: 100000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := `{"s":"` + strings.Repeat("x", tt.size) + `"}`
			_, err := runDef(t, single(tt.fields), input, Options{})
			if errName(err) != tt.wantErr || tt.wantErr == "" && err != nil {
				t.Fatalf("error = %.200v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMachineAccessors(t *testing.T) {
	m := mustParse(t, `{"Comment":"c","Version":"1.0","StartAt":"S","TimeoutSeconds":30,"QueryLanguage":"JSONPath",
		"States":{"S":{"Type":"Succeed","QueryLanguage":"JSONPath"}}}`)
	if m.StartAt() != "S" || m.TimeoutSeconds() != 30 {
		t.Fatalf("StartAt, TimeoutSeconds = %q, %d", m.StartAt(), m.TimeoutSeconds())
	}
	if m := mustParse(t, single(`"Type":"Pass"`)); m.TimeoutSeconds() != 0 {
		t.Fatalf("TimeoutSeconds = %d, want 0", m.TimeoutSeconds())
	}
}

func TestCancel(t *testing.T) {
	m := mustParse(t, single(`"Type":"Task","Resource":"r"`))
	ctx, cancel := context.WithCancel(context.Background())
	inv := invokerFunc(func(ctx context.Context, _ string, _ json.RawMessage) (json.RawMessage, error) {
		cancel()
		return nil, ctx.Err()
	})
	_, err := m.Run(ctx, Execution{StartTime: t0}, Options{Clock: newClock(), Invoker: inv})
	if !errors.Is(err, context.Canceled) || errName(err) != "" {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	_, err = m.Run(ctx, Execution{StartTime: t0}, Options{Clock: newClock(), Invoker: inv})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestMissingInvoker(t *testing.T) {
	m := mustParse(t, single(`"Type":"Task","Resource":"r"`))
	if _, err := m.Run(context.Background(), Execution{}, Options{Clock: newClock()}); err == nil {
		t.Fatal("Run without an Invoker succeeded")
	}
}
