package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Parse parses and validates a state machine definition. It reports every
// problem it finds, joined with errors.Join, each naming the state and field.
func Parse(definition []byte) (*Machine, error) {
	v, err := decode(definition)
	if err != nil {
		return nil, fmt.Errorf("asl: definition is not valid JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("asl: definition must be a JSON object")
	}
	l := &loader{seen: make(map[string]bool)}
	l.fields("", obj, "Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage")
	l.queryLanguage("", obj)
	l.str("", obj, "Comment", false)
	l.str("", obj, "Version", false)
	m := &Machine{}
	if t, ok := l.integer("", obj, "TimeoutSeconds", 1, maxSeconds); ok {
		m.timeout = int(t)
	}
	m.graph = *l.graph("", obj)
	m.hasTask = l.hasTask
	m.hasCallback = l.hasCallback
	if err := errors.Join(l.errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// graph loads the StartAt and States of the machine (where is "") or of a
// Map state's ItemProcessor. Transitions may only name states of the same
// graph, as in AWS.
func (l *loader) graph(where string, obj map[string]any) *graph {
	g := &graph{states: make(map[string]*state)}
	errs := len(l.errs)
	g.startAt, _ = l.str(where, obj, "StartAt", true)
	states, ok := obj["States"].(map[string]any)
	if !ok || len(states) == 0 {
		l.errorf(where, "field %q must be a non-empty object", "States")
	}
	outerNames, outerPrefix := l.names, l.prefix
	l.names, l.prefix = states, where
	for _, name := range sortedKeys(states) {
		// AWS requires names to be unique across the whole definition,
		// nested iterations included.
		if l.seen[name] {
			l.errorf(where, "state name %q is used more than once; names must be unique in the whole state machine", name)
		}
		l.seen[name] = true
		if st := l.state(name, states[name]); st != nil {
			g.states[name] = st
		}
	}
	if _, ok := states[g.startAt]; !ok && g.startAt != "" {
		l.errorf(where, "field %q: there is no state named %q", "StartAt", g.startAt)
	}
	if len(l.errs) == errs {
		l.reachable(g)
	}
	l.names, l.prefix = outerNames, outerPrefix
	return g
}

// maxSeconds is the largest number of seconds AWS accepts in a definition.
const maxSeconds = 99999999

// A loader collects the problems found in a definition.
type loader struct {
	errs    []error
	names   map[string]any  // the States object being loaded, to check transitions
	prefix  string          // where that States object is: "" at the top
	seen    map[string]bool // every state name so far
	hasTask bool

	hasCallback bool
}

func (l *loader) errorf(where, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if where != "" {
		msg = where + ": " + msg
	}
	l.errs = append(l.errs, errors.New("asl: "+msg))
}

// fields refuses every field of obj that is not in allowed.
func (l *loader) fields(where string, obj map[string]any, allowed ...string) {
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(allowed, k) {
			l.errorf(where, "field %q is not supported", k)
		}
	}
}

func (l *loader) queryLanguage(where string, obj map[string]any) {
	if q, ok := l.str(where, obj, "QueryLanguage", false); ok && q != "JSONPath" {
		l.errorf(where, "field %q: %q is not supported, only JSONPath", "QueryLanguage", q)
	}
}

func (l *loader) str(where string, obj map[string]any, key string, required bool) (string, bool) {
	v, ok := obj[key]
	if !ok {
		if required {
			l.errorf(where, "field %q is required", key)
		}
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		l.errorf(where, "field %q must be a string", key)
	}
	return s, ok
}

func (l *loader) integer(where string, obj map[string]any, key string, lo, hi int64) (int64, bool) {
	v, ok := obj[key]
	if !ok {
		return 0, false
	}
	n, ok := v.(json.Number)
	i, err := n.Int64()
	if !ok || err != nil || i < lo || i > hi {
		l.errorf(where, "field %q must be an integer from %d to %d", key, lo, hi)
		return 0, false
	}
	return i, true
}

func (l *loader) path(where, field, src string) *path {
	p, err := parsePath(src)
	if err != nil {
		l.errorf(where, "field %q: %v", field, err)
	}
	return p
}

// selector reads InputPath or OutputPath, which default to "$"; null
// selects nothing and yields {}.
func (l *loader) selector(where string, obj map[string]any, key string) *path {
	v, ok := obj[key]
	switch {
	case !ok:
		return &path{src: "$"}
	case v == nil:
		return nil
	}
	if src, ok := v.(string); ok {
		return l.path(where, key, src)
	}
	l.errorf(where, "field %q must be a path or null", key)
	return nil
}

// resultPath reads a ResultPath, which defaults to "$"; null discards the
// result.
func (l *loader) resultPath(where string, obj map[string]any) *path {
	v, ok := obj["ResultPath"]
	switch {
	case !ok:
		return &path{src: "$"}
	case v == nil:
		return nil
	}
	src, ok := v.(string)
	if !ok {
		l.errorf(where, "field %q must be a path or null", "ResultPath")
		return nil
	}
	p, err := parseResultPath(src)
	if err != nil {
		l.errorf(where, "field %q: %v", "ResultPath", err)
	}
	return p
}

// template compiles a payload template; mapItem says whether it is a Map
// state's ItemSelector.
func (l *loader) template(where string, obj map[string]any, key string, mapItem bool) any {
	v, ok := obj[key]
	if !ok {
		return nil
	}
	if _, ok := v.(map[string]any); !ok {
		l.errorf(where, "field %q must be an object", key)
		return nil
	}
	return compileTemplate(v, mapItem, func(err error) { l.errorf(where, "field %q: %v", key, err) })
}

// target checks that a transition names a state.
func (l *loader) target(where string, obj map[string]any, key string, required bool) string {
	name, ok := l.str(where, obj, key, required)
	if ok {
		if _, exists := l.names[name]; !exists {
			l.errorf(where, "field %q: there is no state named %q", key, name)
		}
	}
	return name
}

func (l *loader) state(name string, v any) *state {
	where := fmt.Sprintf("state %q", name)
	if l.prefix != "" {
		where = l.prefix + ": " + where
	}
	if utf8.RuneCountInString(name) > 80 {
		l.errorf(where, "name is longer than 80 characters")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		l.errorf(where, "must be an object")
		return nil
	}
	st := &state{name: name}
	st.typ, _ = l.str(where, obj, "Type", true)
	allowed := []string{"Type", "Comment", "QueryLanguage"}
	switch st.typ {
	case "Pass":
		allowed = append(allowed, "Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result")
	case "Task":
		allowed = append(allowed, "Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector",
			"ResultPath", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds",
			"HeartbeatSecondsPath", "Retry", "Catch")
	case "Choice":
		allowed = append(allowed, "InputPath", "OutputPath", "Choices", "Default")
	case "Wait":
		allowed = append(allowed, "Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath",
			"Timestamp", "TimestampPath")
	case "Succeed":
		allowed = append(allowed, "InputPath", "OutputPath")
	case "Fail":
		allowed = append(allowed, "Error", "Cause", "ErrorPath", "CausePath")
	case "Map":
		// ItemBatcher is refused in mapState, with a reason.
		allowed = append(allowed, "Next", "End", "InputPath", "OutputPath", "ItemsPath", "ItemSelector",
			"Parameters", "ItemProcessor", "Iterator", "ItemReader", "MaxConcurrency", "MaxConcurrencyPath",
			"ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "ToleratedFailureCount",
			"ToleratedFailureCountPath", "Label", "ResultSelector", "ResultPath", "Retry", "Catch",
			"ResultWriter", "ItemBatcher")
	case "":
		return nil
	default:
		l.errorf(where, "field %q: state type %q is not supported", "Type", st.typ)
		return nil
	}
	l.fields(where, obj, allowed...)
	l.queryLanguage(where, obj)
	l.str(where, obj, "Comment", false)
	has := func(field string) bool { return slices.Contains(allowed, field) }

	if has("Next") {
		st.next = l.target(where, obj, "Next", false)
		if v, ok := obj["End"]; ok {
			if st.end, ok = v.(bool); !ok {
				l.errorf(where, "field %q must be a boolean", "End")
			}
		}
		_, hasNext := obj["Next"]
		switch {
		case hasNext && st.end:
			l.errorf(where, "fields %q and %q cannot both be set", "Next", "End")
		case !hasNext && !st.end:
			l.errorf(where, "needs field %q or %q: true", "Next", "End")
		}
	}
	if has("InputPath") {
		st.inputPath = l.selector(where, obj, "InputPath")
		st.outputPath = l.selector(where, obj, "OutputPath")
	}
	st.resultPath = &path{src: "$"} // states without ResultPath pass on their effective input
	if has("ResultPath") {
		st.resultPath = l.resultPath(where, obj)
	}
	if st.typ == "Pass" || st.typ == "Task" { // a Map state's Parameters is its ItemSelector
		st.parameters = l.template(where, obj, "Parameters", false)
	}
	st.result, st.hasResult = obj["Result"]

	switch st.typ {
	case "Task":
		l.hasTask = true
		l.task(where, obj, st)
	case "Map":
		l.mapState(where, obj, st)
	case "Choice":
		list, ok := obj["Choices"].([]any)
		if !ok || len(list) == 0 {
			l.errorf(where, "field %q must be a non-empty array", "Choices")
		}
		for i, c := range list {
			st.choices = append(st.choices, l.parseRule(fmt.Sprintf("%s: Choices[%d]", where, i), c, true))
		}
		st.def = l.target(where, obj, "Default", false)
	case "Wait":
		l.wait(where, obj, st)
	case "Fail":
		st.errName, st.errorPath = l.failField(where, obj, "Error")
		// The States Language reserves the prefix for Step Functions' own
		// errors: "States MAY report errors with other names, which MUST
		// NOT begin with the prefix 'States.'" (states-language.net, Errors).
		if strings.HasPrefix(st.errName, "States.") {
			l.errorf(where, "field %q: %q begins with \"States.\", which is reserved for Step Functions' own errors", "Error", st.errName)
		}
		st.cause, st.causePath = l.failField(where, obj, "Cause")
	}
	return st
}

func (l *loader) task(where string, obj map[string]any, st *state) {
	st.resource, _ = l.str(where, obj, "Resource", true)
	st.integration = parseResource(st.resource)
	st.resultSelector = l.template(where, obj, "ResultSelector", false)
	if t, ok := l.integer(where, obj, "TimeoutSeconds", 1, maxSeconds); ok {
		st.timeout = time.Duration(t) * time.Second
	}
	st.timeoutPath = l.optionalPath(where, obj, "TimeoutSecondsPath")
	l.exclusive(where, obj, "TimeoutSeconds", "TimeoutSecondsPath")
	if t, ok := l.integer(where, obj, "HeartbeatSeconds", 1, maxSeconds); ok {
		st.heartbeat = time.Duration(t) * time.Second
	}
	st.heartbeatPath = l.optionalPath(where, obj, "HeartbeatSecondsPath")
	l.exclusive(where, obj, "HeartbeatSeconds", "HeartbeatSecondsPath")
	l.integrationFields(where, obj, st)
	l.errorHandling(where, obj, st)
}

// integrationFields checks what a Task's kind of Resource allows: the
// callback pattern only on Step Functions' own integrations, heartbeats
// only with it, and the Parameters of lambda:invoke.
func (l *loader) integrationFields(where string, obj map[string]any, st *state) {
	in := st.integration
	callback := in.pattern == patternCallback
	if strings.HasSuffix(st.resource, patternCallback) && !callback {
		l.errorf(where, "field %q: %s is only available on arn:<partition>:states::: service integrations, not on %q",
			"Resource", patternCallback, st.resource)
	}
	if callback {
		l.hasCallback = true
	}
	for _, k := range []string{"HeartbeatSeconds", "HeartbeatSecondsPath"} {
		if _, ok := obj[k]; ok && !callback {
			// Activities and .sync jobs send heartbeats in AWS; the
			// interpreter has neither, so a heartbeat could never come.
			l.errorf(where, "field %q is only supported on a Task whose Resource ends in %s", k, patternCallback)
		}
	}
	if st.heartbeat > 0 && st.timeout > 0 && st.heartbeat >= st.timeout {
		l.errorf(where, "field %q must be less than %q", "HeartbeatSeconds", "TimeoutSeconds")
	}
	if in.action != lambdaInvoke {
		return
	}
	if in.pattern != patternRequestResponse && !callback {
		l.errorf(where, "field %q: %s does not support %s", "Resource", lambdaInvoke, in.pattern)
	}
	params, ok := st.parameters.(map[string]any)
	if !ok {
		l.errorf(where, "field %q with FunctionName is required for %s", "Parameters", lambdaInvoke)
		return
	}
	if _, ok := params["FunctionName"]; !ok {
		l.errorf(where, "field %q needs field %q or %q", "Parameters", "FunctionName", "FunctionName.$")
	}
	for _, k := range sortedKeys(params) {
		if !slices.Contains(lambdaParams, k) {
			l.errorf(where, "field %q: field %q of %s is not supported, only %s", "Parameters", k, lambdaInvoke,
				strings.Join(lambdaParams, " and "))
		}
	}
}

// errorHandling reads the Retry and Catch fields of a Task or Map state.
func (l *loader) errorHandling(where string, obj map[string]any, st *state) {
	retry := l.array(where, obj, "Retry")
	for i, v := range retry {
		w := fmt.Sprintf("%s: Retry[%d]", where, i)
		o := l.object(w, v)
		l.fields(w, o, "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds",
			"JitterStrategy", "Comment")
		r := retrier{interval: 1, maxAttempts: 3, backoff: 2}
		r.errors = l.errorEquals(w, o, i == len(retry)-1)
		if n, ok := l.integer(w, o, "IntervalSeconds", 1, maxSeconds); ok {
			r.interval = int(n)
		}
		if n, ok := l.integer(w, o, "MaxAttempts", 0, maxSeconds); ok {
			r.maxAttempts = int(n)
		}
		if n, ok := l.integer(w, o, "MaxDelaySeconds", 1, 31622400); ok {
			r.maxDelay = int(n)
		}
		if v, ok := o["BackoffRate"]; ok {
			n, _ := v.(json.Number)
			f, err := n.Float64()
			if err != nil || f < 1 {
				l.errorf(w, "field %q must be a number of at least 1.0", "BackoffRate")
			}
			r.backoff = f
		}
		if j, ok := l.str(w, o, "JitterStrategy", false); ok {
			if j != "FULL" && j != "NONE" {
				l.errorf(w, "field %q must be FULL or NONE", "JitterStrategy")
			}
			r.jitter = j == "FULL"
		}
		st.retry = append(st.retry, r)
	}
	catch := l.array(where, obj, "Catch")
	for i, v := range catch {
		w := fmt.Sprintf("%s: Catch[%d]", where, i)
		o := l.object(w, v)
		l.fields(w, o, "ErrorEquals", "Next", "ResultPath", "Comment")
		st.catch = append(st.catch, catcher{
			errors:     l.errorEquals(w, o, i == len(catch)-1),
			next:       l.target(w, o, "Next", true),
			resultPath: l.resultPath(w, o),
		})
	}
}

func (l *loader) array(where string, obj map[string]any, key string) []any {
	v, ok := obj[key]
	if !ok {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		l.errorf(where, "field %q must be an array", key)
	}
	return a
}

func (l *loader) object(where string, v any) map[string]any {
	o, ok := v.(map[string]any)
	if !ok {
		l.errorf(where, "must be an object")
	}
	return o
}

// errorEquals reads the error names of a retrier or catcher; last says
// whether it is the last one in its array, the only place States.ALL may be.
func (l *loader) errorEquals(where string, obj map[string]any, last bool) []string {
	list, ok := obj["ErrorEquals"].([]any)
	if !ok || len(list) == 0 {
		l.errorf(where, "field %q must be a non-empty array of error names", "ErrorEquals")
	}
	var names []string
	for _, v := range list {
		name, ok := v.(string)
		if !ok {
			l.errorf(where, "field %q must contain only strings", "ErrorEquals")
			continue
		}
		names = append(names, name)
		switch {
		case name == errALL && (len(list) > 1 || !last):
			l.errorf(where, "field %q: %s must appear alone, in the last retrier or catcher", "ErrorEquals", errALL)
		case strings.HasPrefix(name, "States.") && !knownError(name):
			l.errorf(where, "field %q: %q is not a predefined error name", "ErrorEquals", name)
		}
	}
	return names
}

func knownError(name string) bool {
	switch strings.TrimPrefix(name, "States.") {
	case "ALL", "DataLimitExceeded", "Runtime", "Timeout", "TaskFailed", "Permissions",
		"ResultPathMatchFailure", "ParameterPathFailure", "BranchFailed", "NoChoiceMatched",
		"IntrinsicFailure", "ExceedToleratedFailureThreshold", "ItemReaderFailed",
		"ResultWriterFailed", "HeartbeatTimeout", "QueryEvaluationError":
		return true
	}
	return false
}

func (l *loader) wait(where string, obj map[string]any, st *state) {
	for _, k := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		if _, ok := obj[k]; !ok {
			continue
		}
		if st.waitKind != "" {
			l.errorf(where, "fields %q and %q cannot both be set", st.waitKind, k)
			continue
		}
		st.waitKind = k
	}
	switch st.waitKind {
	case "":
		l.errorf(where, "needs one of fields Seconds, SecondsPath, Timestamp or TimestampPath")
	case "Seconds":
		n, _ := l.integer(where, obj, "Seconds", 0, maxSeconds)
		st.waitFor = time.Duration(n) * time.Second
	case "Timestamp":
		if s, ok := l.str(where, obj, "Timestamp", true); ok {
			var valid bool
			if st.waitUntil, valid = timestamp(s); !valid {
				l.errorf(where, "field %q: %q is not an RFC 3339 timestamp", "Timestamp", s)
			}
		}
	default:
		if src, ok := l.str(where, obj, st.waitKind, true); ok {
			st.waitPath = l.path(where, st.waitKind, src)
		}
	}
}

// failField reads Error or Cause of a Fail state, or their …Path variant,
// which takes a path or an intrinsic function.
func (l *loader) failField(where string, obj map[string]any, key string) (string, expr) {
	s, hasLit := l.str(where, obj, key, false)
	src, ok := l.str(where, obj, key+"Path", false)
	if !ok {
		return s, nil
	}
	if hasLit {
		l.errorf(where, "fields %q and %q cannot both be set", key, key+"Path")
	}
	x, err := parseExpr(src, false)
	if err != nil {
		l.errorf(where, "field %q: %v", key+"Path", err)
	}
	return s, x
}

// reachable refuses states that no path from StartAt leads to, as AWS does.
func (l *loader) reachable(g *graph) {
	seen := map[string]bool{g.startAt: true}
	queue := []string{g.startAt}
	for len(queue) > 0 {
		st := g.states[queue[0]]
		queue = queue[1:]
		for _, t := range st.targets() {
			if t != "" && !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	for _, name := range sortedKeys(l.names) {
		if !seen[name] {
			where := fmt.Sprintf("state %q", name)
			if l.prefix != "" {
				where = l.prefix + ": " + where
			}
			l.errorf(where, "is not reachable from StartAt %q", g.startAt)
		}
	}
}
