package asl

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// A path is a parsed reference path: "$" or "$$" followed by field names and
// array indexes. It is the only JSONPath subset the interpreter accepts, so a
// path always names at most one value.
type path struct {
	src   string
	ctx   bool // rooted at the context object ($$) rather than the input
	steps []step
}

// A step selects a field of an object, or an element of an array when index
// is not negative.
type step struct {
	name  string
	index int
}

func parsePath(s string) (*path, error) { return parseContextPath(s, false) }

// parseContextPath parses a reference path; mapItem says whether the path is
// in a Map state's ItemSelector, the one place $$.Map is defined.
func parseContextPath(s string, mapItem bool) (*path, error) {
	p := &path{src: s}
	rest, ok := strings.CutPrefix(s, "$")
	if !ok {
		return nil, fmt.Errorf("path %q must start with $", s)
	}
	if rest, ok = strings.CutPrefix(rest, "$"); ok {
		p.ctx = true
	}
	for rest != "" {
		var st step
		var err error
		switch rest[0] {
		case '.':
			st, rest, err = dotStep(rest[1:])
		case '[':
			st, rest, err = bracketStep(rest[1:])
		default:
			err = fmt.Errorf("unexpected %q", rest[:1])
		}
		if err != nil {
			return nil, fmt.Errorf("path %q is not a supported reference path: %w", s, err)
		}
		p.steps = append(p.steps, st)
	}
	if p.ctx {
		if err := checkContextPath(p, mapItem); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func dotStep(s string) (step, string, error) {
	end := strings.IndexAny(s, ".[")
	if end < 0 {
		end = len(s)
	}
	name := s[:end]
	if name == "" {
		return step{}, "", errors.New("empty field name")
	}
	// These characters belong to JSONPath operators (wildcards, filters,
	// unions, slices) that could select more than one value.
	if i := strings.IndexAny(name, "]*@?,:()'\" \t\r\n"); i >= 0 {
		return step{}, "", fmt.Errorf("unsupported character %q", name[i:i+1])
	}
	return step{name: name, index: -1}, s[end:], nil
}

func bracketStep(s string) (step, string, error) {
	if s != "" && (s[0] == '\'' || s[0] == '"') {
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 || len(s) < end+3 || s[end+2] != ']' {
			return step{}, "", errors.New("unterminated quoted field name")
		}
		return step{name: s[1 : end+1], index: -1}, s[end+3:], nil
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return step{}, "", errors.New("missing ]")
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil || n < 0 || s[0] == '+' {
		return step{}, "", fmt.Errorf("unsupported subscript [%s]", s[:end])
	}
	return step{index: n}, s[end+1:], nil
}

// checkContextPath refuses context object fields the interpreter does not
// fill in, so a definition cannot silently depend on them.
func checkContextPath(p *path, mapItem bool) error {
	if len(p.steps) == 0 {
		return nil
	}
	var fields []string
	switch p.steps[0].name {
	case "Execution":
		fields = []string{"Id", "Name", "Input", "StartTime"}
	case "State":
		fields = []string{"Name", "EnteredTime", "RetryCount"}
	case "Task":
		// Only a Task waiting for a callback has a token; elsewhere the
		// path finds nothing and fails at run time, as in AWS.
		fields = []string{"Token"}
	case "Map":
		return checkMapPath(p, mapItem)
	default:
		return fmt.Errorf("context path %q is not supported", p.src)
	}
	if len(p.steps) == 1 {
		return nil
	}
	f := p.steps[1].name
	for _, ok := range fields {
		if f == ok && (len(p.steps) == 2 || f == "Input") {
			return nil
		}
	}
	return fmt.Errorf("context path %q is not supported", p.src)
}

// checkMapPath accepts $$.Map.Item.Index and $$.Map.Item.Value (and paths
// into the value), which exist only while a Map state builds an iteration's
// input.
func checkMapPath(p *path, mapItem bool) error {
	if !mapItem {
		return fmt.Errorf("context path %q is only available in the ItemSelector of a Map state", p.src)
	}
	switch {
	case len(p.steps) == 1:
		return nil
	case p.steps[1].name != "Item":
	case len(p.steps) == 2, p.steps[2].name == "Value", p.steps[2].name == "Index" && len(p.steps) == 3:
		return nil
	}
	return fmt.Errorf("context path %q is not supported", p.src)
}

// lookup returns the value p names inside root and whether it exists.
func (p *path) lookup(root any) (any, bool) {
	v := root
	for _, s := range p.steps {
		if s.index >= 0 {
			a, ok := v.([]any)
			if !ok || s.index >= len(a) {
				return nil, false
			}
			v = a[s.index]
			continue
		}
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[s.name]; !ok {
			return nil, false
		}
	}
	return v, true
}

// eval makes a path usable as an intrinsic function argument.
func (p *path) eval(s scope) (any, error) {
	v, ok := s.resolve(p)
	if !ok {
		return nil, runtimeError("Invalid path '%s': No results for path in the input", p.src)
	}
	return v, nil
}

// parseResultPath parses a ResultPath, which may only name object fields of
// the input: it says where the result goes.
func parseResultPath(s string) (*path, error) {
	p, err := parsePath(s)
	if err != nil {
		return nil, err
	}
	if p.ctx {
		return nil, fmt.Errorf("path %q cannot refer to the context object", s)
	}
	for _, st := range p.steps {
		if st.index >= 0 {
			return nil, fmt.Errorf("path %q cannot use an array index", s)
		}
	}
	return p, nil
}

// setResult returns input with result placed at p, copying the objects on the
// way so values shared with earlier states are never modified. A nil p is
// ResultPath null: the result is discarded.
func setResult(input any, p *path, result any) (any, error) {
	if p == nil {
		return input, nil
	}
	var set func(v any, steps []step) (any, error)
	set = func(v any, steps []step) (any, error) {
		if len(steps) == 0 {
			return result, nil
		}
		o, ok := v.(map[string]any)
		if !ok {
			return nil, &Error{Name: errResultPathMatchFailure, Cause: fmt.Sprintf(
				"Unable to apply ResultPath '%s' to the input: it does not lead to an object", p.src)}
		}
		child, ok := o[steps[0].name]
		if !ok {
			child = map[string]any{}
		}
		nv, err := set(child, steps[1:])
		if err != nil {
			return nil, err
		}
		o = maps.Clone(o)
		o[steps[0].name] = nv
		return o, nil
	}
	return set(input, p.steps)
}
