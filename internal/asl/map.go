package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// s3GetObject is the only ItemReader resource the interpreter supports: it
// reads one object of JSON or JSON Lines through Options.ReadItems.
const s3GetObject = "arn:aws:states:::s3:getObject"

// maxReaderItems is the largest MaxItems AWS accepts in a ReaderConfig.
const maxReaderItems = 100_000_000

// mapState reads the fields of a Map state.
func (l *loader) mapState(where string, obj map[string]any, st *state) {
	m := &mapSpec{label: st.name}
	st.mapping = m
	st.resultSelector = l.template(where, obj, "ResultSelector", false)
	l.errorHandling(where, obj, st)

	// AWS still accepts the fields these replaced, with the same meaning.
	m.selector = l.template(where, obj, l.synonym(where, obj, "ItemSelector", "Parameters"), true)
	l.processor(where, obj, l.synonym(where, obj, "ItemProcessor", "Iterator"), m)

	m.itemsPath = l.optionalPath(where, obj, "ItemsPath")
	if n, ok := l.integer(where, obj, "MaxConcurrency", 0, math.MaxInt32); ok {
		m.maxConcurrency = int(n)
	}
	m.maxConcurrencyPath = l.optionalPath(where, obj, "MaxConcurrencyPath")
	l.exclusive(where, obj, "MaxConcurrency", "MaxConcurrencyPath")

	if !m.distributed {
		for _, k := range []string{"ItemReader", "ResultWriter", "ToleratedFailureCount", "ToleratedFailureCountPath",
			"ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "Label"} {
			if _, ok := obj[k]; ok {
				l.errorf(where, "field %q is only allowed when the ItemProcessor's ProcessorConfig has Mode DISTRIBUTED", k)
			}
		}
	} else {
		if label, ok := l.str(where, obj, "Label", false); ok {
			if utf8.RuneCountInString(label) > 40 {
				l.errorf(where, "field %q is longer than 40 characters", "Label")
			}
			if label != "" {
				m.label = label
			}
		}
		m.toleratedCount = l.limit(where, obj, "ToleratedFailureCount", false)
		m.toleratedPercentage = l.limit(where, obj, "ToleratedFailurePercentage", true)
		if v, ok := obj["ItemReader"]; ok {
			if _, ok := obj["ItemsPath"]; ok {
				l.errorf(where, "fields %q and %q cannot both be set: ItemsPath selects items only from the state input",
					"ItemsPath", "ItemReader")
			}
			m.reader = l.itemReader(where+": ItemReader", v)
		}
		if v, ok := obj["ResultWriter"]; ok {
			m.writer = l.resultWriter(where+": ResultWriter", v)
		}
	}
	if v, ok := obj["ItemBatcher"]; ok {
		switch {
		case !m.distributed:
			l.errorf(where, "field %q is only allowed when the ItemProcessor's ProcessorConfig has Mode DISTRIBUTED", "ItemBatcher")
		case m.toleratedCount.set || m.toleratedPercentage.set:
			// A failed child then stands for a batch of items; how AWS
			// counts those against the thresholds is not modelled.
			l.errorf(where, "fields %q and %q: tolerated failures of batched items are not supported", "ItemBatcher", "ToleratedFailure*")
		default:
			m.batcher = l.itemBatcher(where+": ItemBatcher", v)
		}
	}
}

// maxBatchBytes is the largest MaxInputBytesPerBatch AWS accepts: a child
// execution's input, 256 KiB.
const maxBatchBytes = 256 * 1024

// itemBatcher reads an ItemBatcher: at least one of the limits, each set
// as a number or a path, and an optional BatchInput
// (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html).
func (l *loader) itemBatcher(where string, v any) *itemBatcher {
	b := &itemBatcher{}
	obj := l.object(where, v)
	if obj == nil {
		return b
	}
	l.fields(where, obj, "MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", "BatchInput")
	if n, ok := l.integer(where, obj, "MaxItemsPerBatch", 1, maxReaderItems); ok {
		b.maxItems = n
	}
	b.maxItemsPath = l.optionalPath(where, obj, "MaxItemsPerBatchPath")
	l.exclusive(where, obj, "MaxItemsPerBatch", "MaxItemsPerBatchPath")
	if n, ok := l.integer(where, obj, "MaxInputBytesPerBatch", 1, maxBatchBytes); ok {
		b.maxInputBytes = n
	}
	b.maxInputBytesPath = l.optionalPath(where, obj, "MaxInputBytesPerBatchPath")
	l.exclusive(where, obj, "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath")
	if b.maxItems == 0 && b.maxItemsPath == nil && b.maxInputBytes == 0 && b.maxInputBytesPath == nil {
		l.errorf(where, "needs field %q, %q or both (or their Path forms)", "MaxItemsPerBatch", "MaxInputBytesPerBatch")
	}
	b.batchInput = l.template(where, obj, "BatchInput", false)
	return b
}

// batches groups the iteration inputs into child inputs
// {"Items": [...], "BatchInput": ...}: the next item starts a new batch
// when the current one holds the most items allowed, or when adding it
// would pass the bytes allowed. An item too big on its own goes alone (its
// child's input is then over the limit, which the child's start refuses as
// AWS would).
func (b *itemBatcher) batches(inputs []any, s scope) ([]any, error) {
	maxItems, err := b.limit(b.maxItems, b.maxItemsPath, s, "MaxItemsPerBatchPath", maxReaderItems)
	if err != nil {
		return nil, err
	}
	maxBytes, err := b.limit(b.maxInputBytes, b.maxInputBytesPath, s, "MaxInputBytesPerBatchPath", maxBatchBytes)
	if err != nil {
		return nil, err
	}
	var batchInput any
	overhead := len(`{"Items":[]}`)
	if b.batchInput != nil {
		if batchInput, err = evalTemplate(b.batchInput, s); err != nil {
			return nil, err
		}
		raw, err := encode(batchInput)
		if err != nil {
			return nil, fmt.Errorf("asl: BatchInput: %w", err)
		}
		overhead += len(`,"BatchInput":`) + len(raw)
	}
	var (
		out   []any
		items []any
		size  int
	)
	flush := func() {
		if len(items) == 0 {
			return
		}
		in := map[string]any{"Items": items}
		if b.batchInput != nil {
			in["BatchInput"] = batchInput
		}
		out = append(out, in)
		items, size = nil, overhead
	}
	size = overhead
	for i, it := range inputs {
		raw, err := encode(it)
		if err != nil {
			return nil, fmt.Errorf("asl: input of item %d: %w", i, err)
		}
		add := len(raw)
		if len(items) > 0 {
			add++ // the comma
		}
		if len(items) > 0 && (maxItems > 0 && int64(len(items)) >= maxItems || maxBytes > 0 && int64(size+add) > maxBytes) {
			flush()
			add = len(raw)
		}
		items = append(items, it)
		size += add
	}
	flush()
	return out, nil
}

// limit resolves one of an ItemBatcher's limits; 0 means none.
func (b *itemBatcher) limit(n int64, p *path, s scope, field string, hi int64) (int64, error) {
	if p == nil {
		return n, nil
	}
	v, err := p.eval(s)
	if err != nil {
		return 0, err
	}
	if i, ok := nonNegative(v); ok && i >= 1 && i <= hi {
		return i, nil
	}
	return 0, runtimeError("The %s field refers to %s, which is not an integer from 1 to %d", field, abbrev(v), hi)
}

// synonym returns which of field and its older synonym obj uses, refusing
// both at once.
func (l *loader) synonym(where string, obj map[string]any, field, old string) string {
	_, hasNew := obj[field]
	if _, hasOld := obj[old]; hasOld {
		if hasNew {
			l.errorf(where, "fields %q and %q cannot both be set", field, old)
		}
		return old
	}
	return field
}

// exclusive refuses two fields that cannot both be set.
func (l *loader) exclusive(where string, obj map[string]any, a, b string) {
	_, hasA := obj[a]
	if _, hasB := obj[b]; hasA && hasB {
		l.errorf(where, "fields %q and %q cannot both be set", a, b)
	}
}

// optionalPath reads a reference path field, returning nil when it is unset.
func (l *loader) optionalPath(where string, obj map[string]any, key string) *path {
	src, ok := l.str(where, obj, key, false)
	if !ok {
		return nil
	}
	return l.path(where, key, src)
}

// processor reads the ItemProcessor (or Iterator) of a Map state: a nested
// state machine, checked like the top level.
func (l *loader) processor(where string, obj map[string]any, key string, m *mapSpec) {
	v, ok := obj[key]
	if !ok {
		l.errorf(where, "field %q is required", "ItemProcessor")
		return
	}
	where += ": " + key
	p := l.object(where, v)
	if p == nil {
		return
	}
	allowed := []string{"Comment", "StartAt", "States"}
	if key == "ItemProcessor" {
		allowed = append(allowed, "ProcessorConfig")
	}
	l.fields(where, p, allowed...)
	l.str(where, p, "Comment", false)
	if c, ok := p["ProcessorConfig"]; ok {
		cw := where + ": ProcessorConfig"
		l.processorConfig(cw, l.object(cw, c), m)
	}
	m.processor = l.graph(where, p)
}

func (l *loader) processorConfig(where string, cfg map[string]any, m *mapSpec) {
	l.fields(where, cfg, "Mode", "ExecutionType")
	mode, _ := l.str(where, cfg, "Mode", false)
	switch mode {
	case "", "INLINE":
	case "DISTRIBUTED":
		m.distributed = true
	default:
		l.errorf(where, "field %q must be INLINE or DISTRIBUTED", "Mode")
	}
	_, hasType := cfg["ExecutionType"]
	typ, _ := l.str(where, cfg, "ExecutionType", false)
	switch {
	case !hasType:
		if m.distributed {
			l.errorf(where, "field %q is required when Mode is DISTRIBUTED", "ExecutionType")
		}
	case !m.distributed:
		l.errorf(where, "field %q is only allowed when Mode is DISTRIBUTED", "ExecutionType")
	case typ == "EXPRESS":
		// Express child workflows run at least once and for at most five
		// minutes, which the interpreter does not model.
		l.errorf(where, "field %q: EXPRESS is not supported, only STANDARD", "ExecutionType")
	case typ != "STANDARD":
		l.errorf(where, "field %q must be STANDARD or EXPRESS", "ExecutionType")
	}
}

// limit reads a tolerated failure threshold, set as key or as key+"Path".
func (l *loader) limit(where string, obj map[string]any, key string, percentage bool) limit {
	var lm limit
	l.exclusive(where, obj, key, key+"Path")
	if p := l.optionalPath(where, obj, key+"Path"); p != nil {
		lm.set, lm.path = true, p
	}
	v, ok := obj[key]
	if !ok {
		return lm
	}
	n, _ := v.(json.Number)
	if percentage {
		f, err := n.Float64()
		if err != nil || f < 0 || f > 100 {
			l.errorf(where, "field %q must be a number from 0 to 100", key)
		}
		lm.set, lm.value = true, f
		return lm
	}
	i, err := n.Int64()
	if err != nil || i < 0 {
		l.errorf(where, "field %q must be a non-negative integer", key)
	}
	lm.set, lm.value = true, float64(i)
	return lm
}

func (l *loader) itemReader(where string, v any) *itemReader {
	obj := l.object(where, v)
	r := &itemReader{}
	if obj == nil {
		return r
	}
	l.fields(where, obj, "Resource", "ReaderConfig", "Parameters")
	if res, ok := l.str(where, obj, "Resource", true); ok {
		r.resource = res
		if res != s3GetObject {
			l.errorf(where, "field %q: %q is not supported, only %s", "Resource", res, s3GetObject)
		}
	}
	if _, ok := obj["Parameters"]; !ok {
		l.errorf(where, "field %q is required", "Parameters")
	}
	r.parameters = l.template(where, obj, "Parameters", false)
	if params, ok := r.parameters.(map[string]any); ok {
		for _, k := range []string{"Bucket", "Key"} {
			if _, ok := params[k]; !ok {
				l.errorf(where, "field %q needs field %q or %q", "Parameters", k, k+".$")
			}
		}
	}
	cv, ok := obj["ReaderConfig"]
	if !ok {
		l.errorf(where, "field %q is required", "ReaderConfig")
		return r
	}
	where += ": ReaderConfig"
	cfg := l.object(where, cv)
	if cfg == nil {
		return r
	}
	l.fields(where, cfg, "InputType", "MaxItems", "MaxItemsPath")
	if t, ok := l.str(where, cfg, "InputType", true); ok {
		r.inputType = t
		if t != "JSON" && t != "JSONL" {
			l.errorf(where, "field %q: %q is not supported, only JSON and JSONL", "InputType", t)
		}
	}
	if n, ok := l.integer(where, cfg, "MaxItems", 0, maxReaderItems); ok {
		r.maxItems = n
	}
	r.maxItemsPath = l.optionalPath(where, cfg, "MaxItemsPath")
	l.exclusive(where, cfg, "MaxItems", "MaxItemsPath")
	return r
}

// errMapStopped cancels the iterations still running once the Map state's
// outcome is decided.
var errMapStopped = errors.New("asl: map state stopped")

// mapState runs a Map state, retrying and catching its errors. A retry runs
// every iteration again.
func (r *runner) mapState(ctx context.Context, st *state, input any, entered time.Time) (any, string, error) {
	return r.handled(ctx, st, input, entered, func(s scope) (any, error) {
		return r.mapAttempt(ctx, st, input, s)
	})
}

func (r *runner) mapAttempt(ctx context.Context, st *state, input any, s scope) (result any, err error) {
	if err := r.hist.record(1); err != nil { // MapStateStarted
		return nil, err
	}
	defer func() {
		// MapStateSucceeded or MapStateFailed, unless the run is ending.
		if !errors.Is(err, errExecTimeout) && ctx.Err() == nil {
			if herr := r.hist.record(1); herr != nil {
				result, err = nil, herr
			}
		}
	}()
	m := st.mapping
	eff, err := selectPath(st.inputPath, s.with(input), "InputPath")
	if err != nil {
		return nil, err
	}
	es := s.with(eff)
	var items []any
	if m.reader != nil {
		items, err = r.readItems(ctx, m.reader, es)
	} else {
		items, err = selectItems(m.itemsPath, es)
	}
	if err != nil {
		return nil, err
	}
	inputs, err := iterationInputs(m.selector, items, es)
	if err != nil {
		return nil, err
	}
	if m.batcher != nil {
		// The ItemSelector shapes each item, then the batcher groups them
		// ("batch selected items into sub-arrays", the ASL specification's
		// ItemBatcher): $$.Map.Item.Index stays the item's own index.
		if inputs, err = m.batcher.batches(inputs, es); err != nil {
			return nil, err
		}
	}
	workers := m.maxConcurrency
	if m.maxConcurrencyPath != nil {
		v, err := m.maxConcurrencyPath.eval(es)
		if err != nil {
			return nil, err
		}
		n, ok := nonNegative(v)
		if !ok || n > math.MaxInt32 {
			return nil, runtimeError("The MaxConcurrencyPath field refers to %s, which is not a non-negative integer", abbrev(v))
		}
		workers = int(n)
	}
	tol, err := m.tolerance(es)
	if err != nil {
		return nil, err
	}
	if m.distributed {
		if err := r.hist.record(1); err != nil { // MapRunStarted
			return nil, err
		}
	}
	ran, err := r.iterate(ctx, st, inputs, workers, tol)
	if m.distributed && !errors.Is(err, errExecTimeout) && ctx.Err() == nil {
		if herr := r.hist.record(1); herr != nil { // MapRunSucceeded or MapRunFailed
			return nil, herr
		}
	}
	if m.writer != nil {
		result, err = r.writeResults(ctx, st, es, inputs, ran, err)
	} else if err == nil {
		result = collect(ran)
	}
	if err != nil {
		return nil, err
	}
	return resultOutput(st, input, result, s)
}

// collect gathers the results of a Map state without a ResultWriter: each
// item's output, or the {"Error", "Cause"} of a failed one that the
// tolerance let pass.
func collect(items []item) []any {
	results := make([]any, len(items))
	for i, it := range items {
		if it.status == statusSucceeded {
			results[i] = it.output
		} else if it.err != nil {
			results[i] = map[string]any{"Error": it.err.Name, "Cause": it.err.Cause}
		}
	}
	return results
}

// selectItems applies ItemsPath to the effective input.
func selectItems(p *path, s scope) ([]any, error) {
	if p == nil {
		p = &path{src: "$"}
	}
	v, ok := s.resolve(p)
	if !ok {
		return nil, runtimeError("Invalid path '%s' specified for the field ItemsPath: no value at that path in the input %s",
			p.src, abbrev(s.input))
	}
	switch v := v.(type) {
	case []any:
		return v, nil
	case map[string]any:
		// AWS iterates over the key-value pairs of an object; the shape it
		// gives each pair is not modelled here, so refuse rather than guess.
		return nil, runtimeError("The ItemsPath '%s' selects an object; the interpreter can iterate only over an array", p.src)
	}
	return nil, runtimeError("The ItemsPath '%s' must select an array, not %s", p.src, abbrev(v))
}

// iterationInputs applies ItemSelector to each item, with the item in the
// context object as $$.Map.Item.
func iterationInputs(selector any, items []any, s scope) ([]any, error) {
	if selector == nil {
		return items, nil
	}
	inputs := make([]any, len(items))
	for i, item := range items {
		is := s
		is.ctx = maps.Clone(s.ctx)
		is.ctx["Map"] = map[string]any{"Item": map[string]any{"Index": json.Number(strconv.Itoa(i)), "Value": item}}
		v, err := evalTemplate(selector, is)
		if err != nil {
			return nil, err
		}
		inputs[i] = v
	}
	return inputs, nil
}

// readItems reads the items of a distributed Map state through
// Options.ReadItems.
func (r *runner) readItems(ctx context.Context, rd *itemReader, s scope) ([]any, error) {
	if r.opts.ReadItems == nil {
		return nil, runtimeError("The state reads its items with an ItemReader (%s), but Options.ReadItems is not set, so the items cannot be read",
			rd.resource)
	}
	params, err := evalTemplate(rd.parameters, s)
	if err != nil {
		return nil, err
	}
	maxItems := rd.maxItems
	if rd.maxItemsPath != nil {
		v, err := rd.maxItemsPath.eval(s)
		if err != nil {
			return nil, err
		}
		n, ok := nonNegative(v)
		if !ok || n > maxReaderItems {
			return nil, runtimeError("The MaxItemsPath field refers to %s, which is not an integer from 0 to %d", abbrev(v), maxReaderItems)
		}
		maxItems = n
	}
	cfg := map[string]any{"InputType": rd.inputType}
	if maxItems > 0 {
		cfg["MaxItems"] = json.Number(strconv.FormatInt(maxItems, 10))
	}
	pb, err := encode(params)
	if err != nil {
		return nil, fmt.Errorf("asl: item reader parameters: %w", err)
	}
	cb, err := encode(cfg)
	if err != nil {
		return nil, fmt.Errorf("asl: item reader config: %w", err)
	}
	raws, err := r.opts.ReadItems(ctx, rd.resource, pb, cb)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("asl: %w", ctx.Err())
		}
		var se *Error
		if errors.As(err, &se) && se.Name != "" {
			return nil, &Error{Name: se.Name, Cause: se.Cause}
		}
		return nil, &Error{Name: errItemReaderFailed, Cause: err.Error()}
	}
	// The reader may ignore MaxItems; the limit holds either way.
	if maxItems > 0 && int64(len(raws)) > maxItems {
		raws = raws[:maxItems]
	}
	items := make([]any, len(raws))
	for i, raw := range raws {
		if items[i], err = decode(raw); err != nil {
			return nil, &Error{Name: errItemReaderFailed, Cause: fmt.Sprintf("Item %d read from %s is not valid JSON: %v", i, rd.resource, err)}
		}
	}
	return items, nil
}

// A tolerance is the resolved failure threshold of a distributed Map state.
type tolerance struct {
	count, percentage limit
}

func (m *mapSpec) tolerance(s scope) (tolerance, error) {
	t := tolerance{count: m.toleratedCount, percentage: m.toleratedPercentage}
	if p := t.count.path; p != nil {
		v, err := p.eval(s)
		if err != nil {
			return t, err
		}
		n, ok := nonNegative(v)
		if !ok {
			return t, runtimeError("The ToleratedFailureCountPath field refers to %s, which is not a non-negative integer", abbrev(v))
		}
		t.count.value = float64(n)
	}
	if p := t.percentage.path; p != nil {
		v, err := p.eval(s)
		if err != nil {
			return t, err
		}
		n, _ := v.(json.Number)
		f, err := n.Float64()
		if err != nil || f < 0 || f > 100 {
			return t, runtimeError("The ToleratedFailurePercentagePath field refers to %s, which is not a number from 0 to 100", abbrev(v))
		}
		t.percentage.value = f
	}
	return t, nil
}

// exceeded reports whether failed items out of total break the threshold.
// With neither limit set any failure does; with both, either one does.
func (t tolerance) exceeded(failed, total int) bool {
	if !t.count.set && !t.percentage.set {
		return failed > 0
	}
	return t.count.set && float64(failed) > t.count.value ||
		t.percentage.set && float64(failed)*100 > t.percentage.value*float64(total)
}

// nonNegative returns v as an integer when it is a non-negative one.
func nonNegative(v any) (int64, bool) {
	n, _ := v.(json.Number)
	i, err := n.Int64()
	return i, err == nil && i >= 0
}

// An item is one iteration of a Map state and how it ended.
type item struct {
	status string // "" (never started), SUCCEEDED, FAILED or ABORTED
	output any    // when SUCCEEDED
	err    *Error // when FAILED, and when ABORTED with an error
	exe    Execution
	stop   time.Time
}

// Item statuses, as Step Functions names a child execution's.
const (
	statusSucceeded = "SUCCEEDED"
	statusFailed    = "FAILED"
	statusAborted   = "ABORTED"
	statusPending   = "PENDING"
)

// iterate runs one iteration per input, at most workers at once (all at
// once when workers is 0), and returns how each ended, in input order.
//
// An INLINE Map fails with the first iteration error. A DISTRIBUTED one
// records a failed item and fails with
// States.ExceedToleratedFailureThreshold once the failures exceed its
// tolerance. Either way the iterations still running are cancelled (and
// end ABORTED) and the rest never start. With an error, the items are
// returned too, for a ResultWriter to report.
func (r *runner) iterate(ctx context.Context, st *state, inputs []any, workers int, tol tolerance) ([]item, error) {
	n := len(inputs)
	items := make([]item, n)
	if workers == 0 || workers > n {
		workers = n
	}
	ictx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu     sync.Mutex
		next   int   // the next input to start
		failed int   // items failed so far (DISTRIBUTED)
		stop   error // set once the outcome is decided; nil while all goes well
		wg     sync.WaitGroup
	)
	// finish records the outcome of iteration i; it runs with mu held.
	finish := func(i int, out any, err error) {
		it := &items[i]
		it.stop = r.clock.Now()
		var se *Error
		isItemErr := errors.As(err, &se)
		switch {
		case err == nil:
			it.status, it.output = statusSucceeded, out
		case stop != nil:
			// Decided already: this is a consequence of the cancel.
			it.status = statusAborted
			if isItemErr {
				it.err = se
			}
		case !isItemErr || !st.mapping.distributed:
			// Not an item failure (the execution timed out or the
			// context ended), or an INLINE iteration failed.
			it.status = statusAborted
			stop = err
			cancel(errMapStopped)
		default:
			failed++
			it.status, it.err = statusFailed, se
			if tol.exceeded(failed, n) {
				stop = &Error{Name: errExceedTolerated, Cause: "The specified tolerated failure threshold was exceeded"}
				cancel(errMapStopped)
			}
		}
	}
	// On a discrete-event clock only the clock's own processes may run:
	// the workers become processes and the caller sleeps, without limit,
	// until the last of them wakes it.
	spawn, wait := wg.Go, wg.Wait
	if sp, ok := r.clock.(Spawner); ok {
		sleep, wake := sp.Interruptible(-1)
		left := workers
		if left == 0 {
			wake() // no items: nothing will
		}
		spawn = func(f func()) {
			sp.Go(func() {
				f()
				mu.Lock()
				left--
				last := left == 0
				mu.Unlock()
				if last {
					wake()
				}
			})
		}
		wait = func() { _ = sleep(context.WithoutCancel(ctx)) }
	}
	for range workers {
		spawn(func() {
			for {
				mu.Lock()
				if stop != nil || next == n {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				out, err := r.iteration(ictx, st, i, inputs[i], &items[i].exe)
				mu.Lock()
				finish(i, out, err)
				mu.Unlock()
			}
		})
	}
	wait()
	return items, stop
}

// iteration runs the ItemProcessor for item i. An INLINE iteration shares
// the execution's context object; a DISTRIBUTED one is a child execution
// with its own, whose Id and Name derive from the parent's Id, the Label (or
// state name) and the item index, so a re-run gets the same ones.
func (r *runner) iteration(ctx context.Context, st *state, i int, input any, exe *Execution) (any, error) {
	m := st.mapping
	child := *r
	child.checkpoint = nil // an iteration cannot be resumed on its own
	if m.distributed {
		raw, err := encode(input)
		if err != nil {
			return nil, fmt.Errorf("asl: input of item %d: %w", i, err)
		}
		name := m.label + "-" + strconv.Itoa(i)
		child.exe = Execution{ID: r.exe.ID + "/" + name, Name: name, Input: raw, StartTime: r.clock.Now()}
		child.execInput = input
		// A child execution has a history of its own, ExecutionStarted
		// first, under the same quota.
		child.hist = &history{n: 1}
	} else if err := r.hist.record(1); err != nil { // MapIterationStarted
		return nil, err
	}
	*exe = child.exe
	out, _, err := child.run(ctx, m.processor, m.processor.startAt, input)
	if !m.distributed {
		// MapIterationSucceeded, MapIterationFailed or MapIterationAborted.
		if herr := r.hist.record(1); herr != nil && err == nil {
			return nil, herr
		}
	}
	return out, err
}
