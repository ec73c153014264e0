package asl

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// inline wraps fields (each followed by a comma) into a definition whose
// only state, M, is an INLINE Map state whose ItemProcessor has states and
// starts at P.
func inline(fields, states string) string {
	return `{"StartAt":"M","States":{"M":{"Type":"Map",` + fields +
		`"ItemProcessor":{"StartAt":"P","States":{` + states + `}},"End":true}}}`
}

// distributed is inline for a DISTRIBUTED Map state.
func distributed(fields, states string) string {
	return `{"StartAt":"M","States":{"M":{"Type":"Map",` + fields +
		`"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{` +
		states + `}},"End":true}}}`
}

const (
	// pass is an iteration that outputs its input.
	pass = `"P":{"Type":"Pass","End":true}`
	// failMarked is an iteration that fails with Bad for items with a
	// "fail" field and outputs the others unchanged.
	failMarked = `"P":{"Type":"Choice","Choices":[{"Variable":"$.fail","IsPresent":true,"Next":"F"}],"Default":"OK"},
		"F":{"Type":"Fail","Error":"Bad","Cause":"no"},"OK":{"Type":"Pass","End":true}`
)

func TestMapInline(t *testing.T) {
	tests := []struct {
		name, def, input string
		want, wantErr    string
	}{
		{name: "items in order", def: inline(``, `"P":{"Type":"Pass","Parameters":{"v.$":"$"},"End":true}`),
			input: `[1,2,3]`, want: `[{"v":1},{"v":2},{"v":3}]`},
		{name: "empty array", def: inline(``, pass), input: `[]`, want: `[]`},
		{name: "ItemSelector with the Map context",
			def: inline(`"ItemsPath":"$.items","ResultPath":"$.out",
				"ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value","n.$":"$$.Map.Item.Value.n","k.$":"$.k","s":"static"},`, pass),
			input: `{"items":[{"n":"a"},{"n":"b"}],"k":"K"}`,
			want: `{"items":[{"n":"a"},{"n":"b"}],"k":"K","out":[
				{"i":0,"v":{"n":"a"},"n":"a","k":"K","s":"static"},{"i":1,"v":{"n":"b"},"n":"b","k":"K","s":"static"}]}`},
		{name: "ItemSelector with an intrinsic",
			def:   inline(`"ItemSelector":{"s.$":"States.Format('{}:{}', $$.Map.Item.Index, $$.Map.Item.Value)"},`, pass),
			input: `["a","b"]`, want: `[{"s":"0:a"},{"s":"1:b"}]`},
		{name: "Iterator and Parameters, the older fields",
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items",
				"Parameters":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value"},
				"Iterator":{"StartAt":"P","States":{` + pass + `}},"End":true}}}`,
			input: `{"items":["x","y"]}`, want: `[{"i":0,"v":"x"},{"i":1,"v":"y"}]`},
		{name: "InputPath ResultSelector ResultPath OutputPath",
			def: inline(`"InputPath":"$.in","ItemsPath":"$.xs","ResultSelector":{"all.$":"$","first.$":"$[0]"},
				"ResultPath":"$.r","OutputPath":"$.r",`, pass),
			input: `{"in":{"xs":[5,6]},"other":1}`, want: `{"all":[5,6],"first":5}`},
		{name: "ResultPath null", def: inline(`"ResultPath":null,"ItemsPath":"$.xs",`, pass),
			input: `{"xs":[1]}`, want: `{"xs":[1]}`},
		{name: "nested Map",
			def: inline(``, `"P":{"Type":"Map","ItemProcessor":{"StartAt":"Q","States":{
				"Q":{"Type":"Pass","Parameters":{"x.$":"$"},"End":true}}},"End":true}`),
			input: `[[1,2],[3]]`, want: `[[{"x":1},{"x":2}],[{"x":3}]]`},
		{name: "iteration context",
			def:   inline(`"ItemsPath":"$.xs",`, `"P":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id","in.$":"$$.Execution.Input.tag","st.$":"$$.State.Name"},"End":true}`),
			input: `{"tag":"t","xs":[0,1]}`,
			want: `[{"id":"arn:aws:states:eu-west-1:1:execution:sm:run-1","in":"t","st":"P"},
				{"id":"arn:aws:states:eu-west-1:1:execution:sm:run-1","in":"t","st":"P"}]`},
		{name: "iteration failure fails the Map with its error", def: inline(``, failMarked),
			input: `[{"n":1},{"n":2,"fail":true},{"n":3}]`, wantErr: "Bad"},
		{name: "ItemsPath to no value", def: inline(`"ItemsPath":"$.nope",`, pass), input: `{}`, wantErr: "States.Runtime"},
		{name: "ItemsPath to a string", def: inline(`"ItemsPath":"$.s",`, pass), input: `{"s":"abc"}`, wantErr: "States.Runtime"},
		{name: "ItemSelector path to no value", def: inline(`"ItemSelector":{"x.$":"$.nope"},`, pass),
			input: `[1]`, wantErr: "States.Runtime"},
		{name: "runtime error in an iteration is not caught",
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{
				"P":{"Type":"Pass","Parameters":{"x.$":"$.nope"},"End":true}}},
				"Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},"H":{"Type":"Succeed"}}}`,
			input: `[{}]`, wantErr: "States.Runtime"},
		{name: "Catch of a failed Map",
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.xs","ItemProcessor":{"StartAt":"P","States":{` +
				failMarked + `}},"Catch":[{"ErrorEquals":["Bad"],"ResultPath":"$.err","Next":"H"}],"Next":"Z"},
				"H":{"Type":"Pass","End":true},"Z":{"Type":"Fail","Error":"NotCaught"}}}`,
			input: `{"xs":[{},{"fail":1}]}`, want: `{"xs":[{},{"fail":1}],"err":{"Error":"Bad","Cause":"no"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runDef(t, tt.def, tt.input, Options{})
			check(t, out, err, tt.want, tt.wantErr)
		})
	}
}

func TestMapItemsPathObjectRefused(t *testing.T) {
	_, err := runDef(t, inline(``, pass), `{"a":1}`, Options{})
	if errName(err) != "States.Runtime" || !strings.Contains(err.Error(), "can iterate only over an array") {
		t.Fatalf("error = %v", err)
	}
}

func TestMapRetry(t *testing.T) {
	// The first task call fails; the Map's retrier runs every iteration
	// again. One at a time, so the number of calls is fixed.
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","MaxConcurrency":1,"ItemProcessor":{"StartAt":"P","States":{
		"P":{"Type":"Task","Resource":"r","End":true}}},
		"Retry":[{"ErrorEquals":["E"],"IntervalSeconds":3}],"End":true}}}`
	var mu sync.Mutex
	calls := 0
	inv := invokerFunc(func(_ context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 2 {
			return nil, &Error{Name: "E"}
		}
		return in, nil
	})
	clock := newClock()
	out, err := runDef(t, def, `["a","b","c"]`, Options{Invoker: inv, Clock: clock})
	check(t, out, err, `["a","b","c"]`, "")
	if calls != 5 {
		t.Errorf("calls = %d, want 5", calls)
	}
	if got := clock.Sleeps(); !reflect.DeepEqual(got, seconds(3)) {
		t.Errorf("sleeps = %v, want 3s", got)
	}
}

func TestMapExecutionTimeoutIsNotCaught(t *testing.T) {
	def := `{"StartAt":"M","TimeoutSeconds":10,"States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"W","States":{
		"W":{"Type":"Wait","Seconds":20,"End":true}}},
		"Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}],"End":true},"H":{"Type":"Succeed"}}}`
	_, err := runDef(t, def, `[1,2]`, Options{})
	if errName(err) != "States.Timeout" {
		t.Fatalf("error = %v, want States.Timeout", err)
	}
}

func TestMapCancel(t *testing.T) {
	def := inline(``, `"P":{"Type":"Task","Resource":"r","End":true}`)
	ctx, cancel := context.WithCancel(context.Background())
	inv := invokerFunc(func(ctx context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	})
	m := mustParse(t, def)
	_, err := m.Run(ctx, Execution{Input: json.RawMessage(`[1,2,3]`)}, Options{Clock: newClock(), Invoker: inv})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestMapDistributed(t *testing.T) {
	items := `[{"n":1},{"n":2,"fail":true},{"n":3},{"n":4,"fail":true}]`
	tests := []struct {
		name, def, input string
		want, wantErr    string
	}{
		{name: "results in order", def: distributed(`"ItemsPath":"$.xs","ItemSelector":{"x.$":"$$.Map.Item.Value"},`, pass),
			input: `{"xs":[1,2,3]}`, want: `[{"x":1},{"x":2},{"x":3}]`},
		{name: "child executions have their own context",
			def: distributed(`"Label":"Lbl",`, `"P":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id","name.$":"$$.Execution.Name",
				"in.$":"$$.Execution.Input"},"End":true}`),
			input: `[{"a":1},{"b":2}]`,
			want: `[{"id":"arn:aws:states:eu-west-1:1:execution:sm:run-1/Lbl-0","name":"Lbl-0","in":{"a":1}},
				{"id":"arn:aws:states:eu-west-1:1:execution:sm:run-1/Lbl-1","name":"Lbl-1","in":{"b":2}}]`},
		{name: "without a Label children are named after the state",
			def:   distributed(``, `"P":{"Type":"Pass","Parameters":{"name.$":"$$.Execution.Name"},"End":true}`),
			input: `[0]`, want: `[{"name":"M-0"}]`},
		{name: "no tolerance by default", def: distributed(``, failMarked), input: items,
			wantErr: "States.ExceedToleratedFailureThreshold"},
		{name: "ToleratedFailureCount within", def: distributed(`"ToleratedFailureCount":2,`, failMarked), input: items,
			want: `[{"n":1},{"Error":"Bad","Cause":"no"},{"n":3},{"Error":"Bad","Cause":"no"}]`},
		{name: "ToleratedFailureCount exceeded", def: distributed(`"ToleratedFailureCount":1,`, failMarked), input: items,
			wantErr: "States.ExceedToleratedFailureThreshold"},
		{name: "ToleratedFailurePercentage within", def: distributed(`"ToleratedFailurePercentage":50,`, failMarked), input: items,
			want: `[{"n":1},{"Error":"Bad","Cause":"no"},{"n":3},{"Error":"Bad","Cause":"no"}]`},
		{name: "ToleratedFailurePercentage exceeded", def: distributed(`"ToleratedFailurePercentage":49.9,`, failMarked), input: items,
			wantErr: "States.ExceedToleratedFailureThreshold"},
		{name: "either threshold fails the Map",
			def: distributed(`"ToleratedFailurePercentage":100,"ToleratedFailureCount":1,`, failMarked), input: items,
			wantErr: "States.ExceedToleratedFailureThreshold"},
		{name: "thresholds from paths",
			def:   distributed(`"ItemsPath":"$.xs","ToleratedFailureCountPath":"$.c","ToleratedFailurePercentagePath":"$.p",`, failMarked),
			input: `{"c":2,"p":50,"xs":` + items + `}`,
			want:  `[{"n":1},{"Error":"Bad","Cause":"no"},{"n":3},{"Error":"Bad","Cause":"no"}]`},
		{name: "bad threshold path value", def: distributed(`"ItemsPath":"$.xs","ToleratedFailureCountPath":"$.c",`, pass),
			input: `{"c":-1,"xs":[1]}`, wantErr: "States.Runtime"},
		{name: "a child's runtime error is an item failure",
			def: distributed(`"ToleratedFailureCount":1,"ResultSelector":{"e.$":"$[0].Error"},`,
				`"P":{"Type":"Pass","Parameters":{"x.$":"$.nope"},"End":true}`),
			input: `[{}]`, want: `{"e":"States.Runtime"}`},
		{name: "Catch of the threshold error",
			def: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED",
				"ExecutionType":"STANDARD"},"StartAt":"P","States":{` + failMarked + `}},
				"Catch":[{"ErrorEquals":["States.ExceedToleratedFailureThreshold"],"Next":"H"}],"End":true},
				"H":{"Type":"Pass","End":true}}}`,
			input: items, want: `{"Error":"States.ExceedToleratedFailureThreshold","Cause":"The specified tolerated failure threshold was exceeded"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runDef(t, tt.def, tt.input, Options{})
			check(t, out, err, tt.want, tt.wantErr)
		})
	}
}

// TestMapItemBatcher: the ItemSelector shapes each item (its index is the
// item's own), then the batcher groups them into {"Items"[, "BatchInput"]}
// child inputs, closing a batch at the most items or bytes allowed, limits
// given as numbers or paths; each child execution gets one batch.
func TestMapItemBatcher(t *testing.T) {
	const echo = `"P":{"Type":"Pass","Parameters":{"name.$":"$$.Execution.Name","in.$":"$"},"End":true}`
	tests := []struct {
		name, fields, input string
		want, wantErr       string
	}{
		{name: "by count, the last batch shorter",
			fields: `"ItemsPath":"$.xs","ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value"},"ItemBatcher":{"MaxItemsPerBatch":2},`,
			input:  `{"xs":["a","b","c"]}`,
			want: `[{"name":"M-0","in":{"Items":[{"i":0,"v":"a"},{"i":1,"v":"b"}]}},
				{"name":"M-1","in":{"Items":[{"i":2,"v":"c"}]}}]`},
		{name: "count from a path, with BatchInput",
			fields: `"ItemsPath":"$.xs","ItemBatcher":{"MaxItemsPerBatchPath":"$.n","BatchInput":{"t.$":"$.t"}},`,
			input:  `{"n":3,"t":"T","xs":[1,2,3,4]}`,
			want: `[{"name":"M-0","in":{"Items":[1,2,3],"BatchInput":{"t":"T"}}},
				{"name":"M-1","in":{"Items":[4],"BatchInput":{"t":"T"}}}]`},
		{name: "by bytes: a batch closes before it would pass them",
			// {"Items":["aaaa","bbbb"]} is 24 bytes; a third item would make 31.
			fields: `"ItemBatcher":{"MaxInputBytesPerBatch":30},`,
			input:  `["aaaa","bbbb","cccc","dddddddddddddddddddddddddddddddd"]`,
			want: `[{"name":"M-0","in":{"Items":["aaaa","bbbb"]}},{"name":"M-1","in":{"Items":["cccc"]}},
				{"name":"M-2","in":{"Items":["dddddddddddddddddddddddddddddddd"]}}]`},
		{name: "no items, no batches", fields: `"ItemBatcher":{"MaxItemsPerBatch":2},`, input: `[]`, want: `[]`},
		{name: "bad path value", fields: `"ItemsPath":"$.xs","ItemBatcher":{"MaxItemsPerBatchPath":"$.n"},`,
			input: `{"n":0,"xs":[1]}`, wantErr: "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runDef(t, distributed(tt.fields, echo), tt.input, Options{})
			check(t, out, err, tt.want, tt.wantErr)
		})
	}
}

// readerDef is a distributed Map state reading JSON Lines from the object
// the input names.
func readerDef(readerConfig string) string {
	return distributed(`"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":`+readerConfig+`,
		"Parameters":{"Bucket.$":"$.bucket","Key.$":"States.Format('jobs/{}.jsonl', $.job)"}},
		"ItemSelector":{"job.$":"$.job","item.$":"$$.Map.Item.Value"},`, pass)
}

func TestMapItemReader(t *testing.T) {
	type call struct{ resource, params, config string }
	lines := []json.RawMessage{json.RawMessage(`{"a":1}`), json.RawMessage(`"b"`), json.RawMessage(`3`)}
	tests := []struct {
		name, def, input string
		items            []json.RawMessage
		readErr          error
		nilHook          bool
		wantCall         call
		want, wantErr    string
	}{
		{name: "JSONL", def: readerDef(`{"InputType":"JSONL"}`), input: `{"bucket":"b","job":"j1"}`, items: lines,
			wantCall: call{"arn:aws:states:::s3:getObject", `{"Bucket":"b","Key":"jobs/j1.jsonl"}`, `{"InputType":"JSONL"}`},
			want:     `[{"job":"j1","item":{"a":1}},{"job":"j1","item":"b"},{"job":"j1","item":3}]`},
		{name: "MaxItems holds even when the reader ignores it", def: readerDef(`{"InputType":"JSON","MaxItems":2}`),
			input: `{"bucket":"b","job":"j2"}`, items: lines,
			wantCall: call{"arn:aws:states:::s3:getObject", `{"Bucket":"b","Key":"jobs/j2.jsonl"}`, `{"InputType":"JSON","MaxItems":2}`},
			want:     `[{"job":"j2","item":{"a":1}},{"job":"j2","item":"b"}]`},
		{name: "MaxItemsPath", def: readerDef(`{"InputType":"JSONL","MaxItemsPath":"$.max"}`),
			input: `{"bucket":"b","job":"j3","max":1}`, items: lines,
			wantCall: call{"arn:aws:states:::s3:getObject", `{"Bucket":"b","Key":"jobs/j3.jsonl"}`, `{"InputType":"JSONL","MaxItems":1}`},
			want:     `[{"job":"j3","item":{"a":1}}]`},
		{name: "no hook", def: readerDef(`{"InputType":"JSONL"}`), input: `{"bucket":"b","job":"j"}`, nilHook: true,
			wantErr: "States.Runtime"},
		{name: "read error", def: readerDef(`{"InputType":"JSONL"}`), input: `{"bucket":"b","job":"j"}`,
			readErr: errors.New("no such key"), wantErr: "States.ItemReaderFailed"},
		{name: "named read error", def: readerDef(`{"InputType":"JSONL"}`), input: `{"bucket":"b","job":"j"}`,
			readErr: &Error{Name: "S3.NoSuchKey", Cause: "gone"}, wantErr: "S3.NoSuchKey"},
		{name: "item not JSON", def: readerDef(`{"InputType":"JSONL"}`), input: `{"bucket":"b","job":"j"}`,
			items: []json.RawMessage{json.RawMessage(`{`)}, wantErr: "States.ItemReaderFailed"},
		{name: "parameter path to no value", def: readerDef(`{"InputType":"JSONL"}`), input: `{"job":"j"}`,
			items: lines, wantErr: "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []call
			opts := Options{ReadItems: func(_ context.Context, resource string, params, config json.RawMessage) ([]json.RawMessage, error) {
				got = append(got, call{resource, string(params), string(config)})
				return tt.items, tt.readErr
			}}
			if tt.nilHook {
				opts.ReadItems = nil
			}
			out, err := runDef(t, tt.def, tt.input, opts)
			check(t, out, err, tt.want, tt.wantErr)
			if tt.nilHook && !strings.Contains(err.Error(), "Options.ReadItems is not set") {
				t.Errorf("error %q does not say ReadItems is missing", err)
			}
			if tt.wantCall != (call{}) && !reflect.DeepEqual(got, []call{tt.wantCall}) {
				t.Errorf("ReadItems calls = %q, want %q", got, tt.wantCall)
			}
		})
	}
}

// peakInvoker records how many calls run at once. Each call waits until
// limit calls are in flight, or every call of the run has started, so a
// correct Map reaches its concurrency limit; then it yields the processor
// before it ends, so that a Map starting more iterations than it may gets
// them running alongside and shows in the peak.
type peakInvoker struct {
	mu                     sync.Mutex
	cond                   *sync.Cond
	limit, total           int
	running, started, peak int
	order                  []string // inputs in the order the calls began
}

func newPeakInvoker(limit, total int) *peakInvoker {
	p := &peakInvoker{limit: limit, total: total}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *peakInvoker) Invoke(_ context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
	p.mu.Lock()
	p.running++
	p.started++
	p.peak = max(p.peak, p.running)
	p.order = append(p.order, string(in))
	p.cond.Broadcast()
	for p.running < p.limit && p.started < p.total {
		p.cond.Wait()
	}
	p.mu.Unlock()
	for range 100 {
		runtime.Gosched()
	}
	p.mu.Lock()
	p.running--
	p.mu.Unlock()
	return in, nil
}

func TestMapMaxConcurrency(t *testing.T) {
	task := `"P":{"Type":"Task","Resource":"r","End":true}`
	tests := []struct {
		name, def string
		items     int
		wantPeak  int
	}{
		{"inline one at a time", inline(`"ItemsPath":"$.xs","MaxConcurrency":1,`, task), 4, 1},
		{"inline two", inline(`"ItemsPath":"$.xs","MaxConcurrency":2,`, task), 5, 2},
		{"inline unbounded", inline(`"ItemsPath":"$.xs","MaxConcurrency":0,`, task), 6, 6},
		{"inline default is unbounded", inline(`"ItemsPath":"$.xs",`, task), 3, 3},
		{"limit above the item count", inline(`"ItemsPath":"$.xs","MaxConcurrency":10,`, task), 3, 3},
		{"MaxConcurrencyPath", inline(`"ItemsPath":"$.xs","MaxConcurrencyPath":"$.max",`, task), 5, 2},
		{"distributed three", distributed(`"ItemsPath":"$.xs","MaxConcurrency":3,`, task), 7, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs := make([]int, tt.items)
			for i := range xs {
				xs[i] = i
			}
			in, _ := json.Marshal(map[string]any{"xs": xs, "max": 2})
			inv := newPeakInvoker(tt.wantPeak, tt.items)
			out, err := runDef(t, tt.def, string(in), Options{Invoker: inv})
			want, _ := json.Marshal(xs)
			check(t, out, err, string(want), "")
			if inv.peak != tt.wantPeak {
				t.Errorf("peak concurrency = %d, want %d", inv.peak, tt.wantPeak)
			}
			if tt.wantPeak == 1 && strings.Join(inv.order, ",") != "0,1,2,3" {
				t.Errorf("order = %v, want item order", inv.order)
			}
		})
	}
}

func TestMapBadMaxConcurrencyPath(t *testing.T) {
	_, err := runDef(t, inline(`"ItemsPath":"$.xs","MaxConcurrencyPath":"$.max",`, pass), `{"xs":[1],"max":"2"}`, Options{})
	if errName(err) != "States.Runtime" {
		t.Fatalf("error = %v, want States.Runtime", err)
	}
}

func TestMapCheckpointAndResume(t *testing.T) {
	// Iterations are not checkpointed: a resumed run enters the Map state
	// again and runs every iteration.
	def := `{"StartAt":"A","States":{
		"A":{"Type":"Pass","Next":"M"},
		"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{
			"P":{"Type":"Task","Resource":"r","Next":"Q"},"Q":{"Type":"Pass","End":true}}},"End":true}}}`
	m := mustParse(t, def)
	var mu sync.Mutex
	calls := 0
	inv := invokerFunc(func(_ context.Context, _ string, in json.RawMessage) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return in, nil
	})
	var cps []Checkpoint
	record := func(_ context.Context, c Checkpoint) error {
		cps = append(cps, c)
		return nil
	}
	exe := Execution{ID: "id", Name: "n", Input: json.RawMessage(`[1,2]`), StartTime: t0}
	out, err := m.Run(context.Background(), exe, Options{Clock: newClock(), Invoker: inv, Checkpoint: record})
	check(t, string(out), err, `[1,2]`, "")
	var states []string
	for _, c := range cps {
		states = append(states, c.State)
	}
	if strings.Join(states, ",") != "A,M" {
		t.Fatalf("checkpointed states = %v, want A,M", states)
	}

	out, err = m.Resume(context.Background(), exe, cps[1], Options{Clock: newClock(), Invoker: inv})
	check(t, string(out), err, `[1,2]`, "")
	if calls != 4 {
		t.Fatalf("calls = %d, want 4 (every iteration runs again)", calls)
	}
}

func TestMapNeedsInvokerForNestedTasks(t *testing.T) {
	m := mustParse(t, inline(``, `"P":{"Type":"Task","Resource":"r","End":true}`))
	_, err := m.Run(context.Background(), Execution{Input: json.RawMessage(`[1]`)}, Options{Clock: newClock()})
	if err == nil || !strings.Contains(err.Error(), "Options.Invoker is required") {
		t.Fatalf("error = %v", err)
	}
}

func TestMapParseRefuses(t *testing.T) {
	// withMap wraps the fields of a Map state M, which ends.
	withMap := func(fields string) string {
		return `{"StartAt":"M","States":{"M":{"Type":"Map",` + fields + `"End":true}}}`
	}
	const proc = `"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},`
	const dproc = `"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},
		"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},`
	reader := func(r string) string { return withMap(dproc + `"ItemReader":` + r + `,`) }
	tests := []refusal{
		{"no ItemProcessor", withMap(``), []string{`asl: state "M": field "ItemProcessor" is required`}},
		{"ResultWriter on an INLINE Map", withMap(proc + `"ResultWriter":{"WriterConfig":{"Transformation":"FLATTEN"}},`),
			[]string{`state "M": field "ResultWriter" is only allowed when the ItemProcessor's ProcessorConfig has Mode DISTRIBUTED`}},
		{"empty ResultWriter", withMap(dproc + `"ResultWriter":{},`),
			[]string{`state "M": ResultWriter: needs fields "Resource" and "Parameters", field "WriterConfig", or all three`}},
		{"ResultWriter Resource alone", withMap(dproc + `"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject"},`),
			[]string{`ResultWriter: fields "Resource" and "Parameters" must be given together`}},
		{"ResultWriter other Resource", withMap(dproc + `"ResultWriter":{"Resource":"arn:aws:states:::dynamodb:putItem","Parameters":{"Bucket":"b"}},`),
			[]string{`ResultWriter: field "Resource": "arn:aws:states:::dynamodb:putItem" is not supported, only arn:aws:states:::s3:putObject`}},
		{"ResultWriter without Bucket", withMap(dproc + `"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Prefix":"p"}},`),
			[]string{`ResultWriter: field "Parameters" needs field "Bucket" or "Bucket.$"`}},
		{"ResultWriter unknown parameter", withMap(dproc + `"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"b","Key":"k"}},`),
			[]string{`ResultWriter: field "Parameters": field "Key" is not supported, only Bucket and Prefix`}},
		{"ResultWriter Arguments", withMap(dproc + `"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Arguments":{"Bucket":"b"}},`),
			[]string{`ResultWriter: field "Arguments" is not supported`}},
		{"WriterConfig values", withMap(dproc + `"ResultWriter":{"WriterConfig":{"Transformation":"ALL","OutputType":"CSV","Compress":true}},`),
			[]string{`WriterConfig: field "Compress" is not supported`, `WriterConfig: field "Transformation" must be NONE, COMPACT or FLATTEN`,
				`WriterConfig: field "OutputType" must be JSON or JSONL`}},
		{"JSONL to the state output", withMap(dproc + `"ResultWriter":{"WriterConfig":{"OutputType":"JSONL"}},`),
			[]string{`WriterConfig: field "OutputType": JSONL needs "Resource" and "Parameters"`}},
		{"ItemBatcher on an INLINE Map", withMap(proc + `"ItemBatcher":{"MaxItemsPerBatch":10},`),
			[]string{`state "M": field "ItemBatcher" is only allowed when the ItemProcessor's ProcessorConfig has Mode DISTRIBUTED`}},
		{"ItemBatcher without a limit", withMap(dproc + `"ItemBatcher":{"BatchInput":{"a":1}},`),
			[]string{`ItemBatcher: needs field "MaxItemsPerBatch", "MaxInputBytesPerBatch" or both`}},
		{"ItemBatcher limits out of range", withMap(dproc + `"ItemBatcher":{"MaxItemsPerBatch":0,"MaxInputBytesPerBatch":262145,"Size":1},`),
			[]string{`field "MaxItemsPerBatch" must be an integer from 1 to`, `field "MaxInputBytesPerBatch" must be an integer from 1 to 262144`,
				`ItemBatcher: field "Size" is not supported`}},
		{"ItemBatcher both forms", withMap(dproc + `"ItemBatcher":{"MaxItemsPerBatch":2,"MaxItemsPerBatchPath":"$.n"},`),
			[]string{`fields "MaxItemsPerBatch" and "MaxItemsPerBatchPath" cannot both be set`}},
		{"ItemBatcher with tolerated failures", withMap(dproc + `"ToleratedFailureCount":1,"ItemBatcher":{"MaxItemsPerBatch":2},`),
			[]string{`tolerated failures of batched items are not supported`}},
		{"CSV", reader(`{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW"},
			"Parameters":{"Bucket":"b","Key":"k"}}`),
			[]string{`state "M": ItemReader: ReaderConfig: field "InputType": "CSV" is not supported, only JSON and JSONL`,
				`ReaderConfig: field "CSVHeaderLocation" is not supported`}},
		{"unknown InputType", reader(`{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"XML"},"Parameters":{"Bucket":"b","Key":"k"}}`),
			[]string{`field "InputType": "XML" is not supported, only JSON and JSONL`}},
		{"no InputType", reader(`{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{},"Parameters":{"Bucket":"b","Key":"k"}}`),
			[]string{`ItemReader: ReaderConfig: field "InputType" is required`}},
		{"listObjectsV2", reader(`{"Resource":"arn:aws:states:::s3:listObjectsV2","Parameters":{"Bucket":"b","Prefix":"p"}}`),
			[]string{`ItemReader: field "Resource": "arn:aws:states:::s3:listObjectsV2" is not supported, only arn:aws:states:::s3:getObject`,
				`ItemReader: field "Parameters" needs field "Key" or "Key.$"`, `ItemReader: field "ReaderConfig" is required`}},
		{"reader without Parameters", reader(`{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON"}}`),
			[]string{`ItemReader: field "Parameters" is required`}},
		{"MaxItems and MaxItemsPath", reader(`{"Resource":"arn:aws:states:::s3:getObject",
			"ReaderConfig":{"InputType":"JSON","MaxItems":1,"MaxItemsPath":"$.m"},"Parameters":{"Bucket":"b","Key":"k"}}`),
			[]string{`ReaderConfig: fields "MaxItems" and "MaxItemsPath" cannot both be set`}},
		{"ItemsPath with ItemReader", withMap(dproc + `"ItemsPath":"$.xs","ItemReader":{"Resource":"arn:aws:states:::s3:getObject",
			"ReaderConfig":{"InputType":"JSON"},"Parameters":{"Bucket":"b","Key":"k"}},`),
			[]string{`fields "ItemsPath" and "ItemReader" cannot both be set`}},
		{"ItemReader in INLINE mode", withMap(proc + `"ItemReader":{"Resource":"arn:aws:states:::s3:getObject",
			"ReaderConfig":{"InputType":"JSON"},"Parameters":{"Bucket":"b","Key":"k"}},`),
			[]string{`state "M": field "ItemReader" is only allowed when the ItemProcessor's ProcessorConfig has Mode DISTRIBUTED`}},
		{"tolerance in INLINE mode", withMap(proc + `"ToleratedFailureCount":1,"Label":"x",`),
			[]string{`field "ToleratedFailureCount" is only allowed`, `field "Label" is only allowed`}},
		{"EXPRESS", withMap(`"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},
			"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},`),
			[]string{`state "M": ItemProcessor: ProcessorConfig: field "ExecutionType": EXPRESS is not supported, only STANDARD`}},
		{"DISTRIBUTED without ExecutionType", withMap(`"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED"},
			"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},`),
			[]string{`ProcessorConfig: field "ExecutionType" is required when Mode is DISTRIBUTED`}},
		{"unknown Mode", withMap(`"ItemProcessor":{"ProcessorConfig":{"Mode":"PARALLEL"},
			"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},`),
			[]string{`ProcessorConfig: field "Mode" must be INLINE or DISTRIBUTED`}},
		{"ItemSelector and Parameters", withMap(proc + `"ItemSelector":{},"Parameters":{},`),
			[]string{`state "M": fields "ItemSelector" and "Parameters" cannot both be set`}},
		{"ItemProcessor and Iterator", withMap(proc + `"Iterator":{"StartAt":"Q","States":{"Q":{"Type":"Pass","End":true}}},`),
			[]string{`state "M": fields "ItemProcessor" and "Iterator" cannot both be set`}},
		{"Iterator with ProcessorConfig", withMap(`"Iterator":{"ProcessorConfig":{},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},`),
			[]string{`state "M": Iterator: field "ProcessorConfig" is not supported`}},
		{"transition out of the iteration", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{
			"P":{"Type":"Pass","Next":"After"}}},"Next":"After"},"After":{"Type":"Succeed"}}}`,
			[]string{`state "M": ItemProcessor: state "P": field "Next": there is no state named "After"`}},
		{"transition into the iteration", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{
			"P":{"Type":"Pass","End":true}}},"Catch":[{"ErrorEquals":["States.ALL"],"Next":"P"}],"End":true}}}`,
			[]string{`state "M": Catch[0]: field "Next": there is no state named "P"`}},
		{"duplicate state name", `{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"M"},"M":{"Type":"Map","ItemProcessor":{
			"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			[]string{`asl: state name "P" is used more than once; names must be unique in the whole state machine`}},
		{"unreachable in the iteration", withMap(`"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true},
			"Orphan":{"Type":"Succeed"}}},`),
			[]string{`asl: state "M": ItemProcessor: state "Orphan": is not reachable from StartAt "P"`}},
		{"iteration StartAt missing", withMap(`"ItemProcessor":{"StartAt":"X","States":{"P":{"Type":"Pass","End":true}}},`),
			[]string{`state "M": ItemProcessor: field "StartAt": there is no state named "X"`}},
		{"bad state in the iteration", withMap(`"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Task","End":true}}},`),
			[]string{`state "M": ItemProcessor: state "P": field "Resource" is required`}},
		{"Map context outside ItemSelector", withMap(`"ItemProcessor":{"StartAt":"P","States":{
			"P":{"Type":"Pass","Parameters":{"v.$":"$$.Map.Item.Value"},"End":true}}},`),
			[]string{`context path "$$.Map.Item.Value" is only available in the ItemSelector of a Map state`}},
		{"Map context in ResultSelector", withMap(proc + `"ResultSelector":{"i.$":"$$.Map.Item.Index"},`),
			[]string{`field "ResultSelector": field "i.$": context path "$$.Map.Item.Index" is only available in the ItemSelector`}},
		{"unknown Map context field", withMap(proc + `"ItemSelector":{"i.$":"$$.Map.Item.Source","j.$":"$$.Map.Item.Index.x"},`),
			[]string{`context path "$$.Map.Item.Source" is not supported`, `context path "$$.Map.Item.Index.x" is not supported`}},
		{"MaxConcurrency", withMap(proc + `"MaxConcurrency":-1,`), []string{`field "MaxConcurrency" must be an integer from 0`}},
		{"MaxConcurrency and MaxConcurrencyPath", withMap(proc + `"MaxConcurrency":1,"MaxConcurrencyPath":"$.m",`),
			[]string{`fields "MaxConcurrency" and "MaxConcurrencyPath" cannot both be set`}},
		{"bad tolerances", withMap(dproc + `"ToleratedFailurePercentage":101,"ToleratedFailureCount":1.5,"ToleratedFailureCountPath":"$.c",`),
			[]string{`field "ToleratedFailurePercentage" must be a number from 0 to 100`,
				`field "ToleratedFailureCount" must be a non-negative integer`,
				`fields "ToleratedFailureCount" and "ToleratedFailureCountPath" cannot both be set`}},
		{"long Label", withMap(dproc + `"Label":"` + strings.Repeat("l", 41) + `",`), []string{`field "Label" is longer than 40 characters`}},
		{"TimeoutSeconds", withMap(proc + `"TimeoutSeconds":5,`), []string{`state "M": field "TimeoutSeconds" is not supported`}},
	}
	wantRefused(t, tests)
}

func TestMapParseAccepts(t *testing.T) {
	// Every supported Map field at once, so none is refused by mistake.
	mustParse(t, `{"StartAt":"I","States":{
		"I":{"Type":"Map","Comment":"c","InputPath":"$","ItemsPath":"$.xs","MaxConcurrency":3,
			"ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index","m.$":"$$.Map","x.$":"$$.Map.Item.Value.a[0]"},
			"ItemProcessor":{"Comment":"c","ProcessorConfig":{"Mode":"INLINE"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},
			"ResultSelector":{"r.$":"$"},"ResultPath":"$.r","OutputPath":"$",
			"Retry":[{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"}],"Next":"D"},
		"D":{"Type":"Map","QueryLanguage":"JSONPath","Label":"Run","MaxConcurrencyPath":"$.m",
			"ToleratedFailurePercentagePath":"$.p","ToleratedFailureCount":0,
			"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSONL","MaxItemsPath":"$.n"},
				"Parameters":{"Bucket":"b","Key.$":"$.k"}},
			"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"T",
				"States":{"T":{"Type":"Task","Resource":"r","End":true}}},"Next":"O"},
		"O":{"Type":"Map","Parameters":{"a.$":"$$.Map.Item.Value"},"Iterator":{"StartAt":"Q","States":{"Q":{"Type":"Succeed"}}},
			"End":true},
		"F":{"Type":"Fail"}}}`)
}
