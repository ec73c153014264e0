package asl

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
)

// A rule is a Choice rule: And, Or or Not over nested rules, or a data-test
// expression comparing the value at variable with a literal or, for the
// "…Path" operators, with the value at operand.
type rule struct {
	op       string // "And", "Or", "Not" or the comparison operator
	kind     string // String, Numeric, Boolean, Timestamp, Is or Matches
	rel      string // Equals, LessThan, …; for Is, the type tested
	variable *path
	value    any   // the literal operand, as decoded from the definition
	operand  *path // set for the …Path operators
	glob     []rune
	rules    []*rule
	next     string
}

// operator splits a comparison operator name into its parts.
func operator(op string) (kind, rel string, isPath, ok bool) {
	switch op {
	case "IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp":
		return "Is", op[2:], false, true
	case "StringMatches":
		return "Matches", "", false, true
	}
	base, isPath := strings.CutSuffix(op, "Path")
	for _, k := range []string{"String", "Numeric", "Boolean", "Timestamp"} {
		rel, found := strings.CutPrefix(base, k)
		if !found {
			continue
		}
		switch rel {
		case "Equals":
			return k, rel, isPath, true
		case "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals":
			return k, rel, isPath, k != "Boolean"
		}
	}
	return "", "", false, false
}

// parseRule checks one Choice rule; top says whether it is a member of
// Choices, which must have Next, rather than nested in And, Or or Not.
func (l *loader) parseRule(where string, v any, top bool) *rule {
	obj, ok := v.(map[string]any)
	if !ok {
		l.errorf(where, "must be an object")
		return nil
	}
	r := &rule{}
	for _, k := range sortedKeys(obj) {
		_, _, _, isOp := operator(k)
		switch {
		case k == "Comment" || k == "Variable":
		case k == "Next":
			if !top {
				l.errorf(where, "field %q is only allowed in a top-level choice rule", k)
			}
		case k == "And" || k == "Or" || k == "Not" || isOp:
			if r.op != "" {
				l.errorf(where, "fields %q and %q cannot both be set", r.op, k)
				continue
			}
			r.op = k
		default:
			l.errorf(where, "field %q is not supported", k)
		}
	}
	if top {
		r.next = l.target(where, obj, "Next", true)
	}
	_, hasVar := obj["Variable"]
	switch r.op {
	case "":
		l.errorf(where, "has no comparison operator, And, Or or Not")
	case "And", "Or":
		list, ok := obj[r.op].([]any)
		if !ok || len(list) == 0 {
			l.errorf(where, "field %q must be a non-empty array of choice rules", r.op)
		}
		for i, sub := range list {
			r.rules = append(r.rules, l.parseRule(fmt.Sprintf("%s.%s[%d]", where, r.op, i), sub, false))
		}
	case "Not":
		r.rules = []*rule{l.parseRule(where+".Not", obj["Not"], false)}
	default:
		r.parseComparison(l, where, obj)
		return r
	}
	if hasVar {
		l.errorf(where, "field %q cannot be used with %q", "Variable", r.op)
	}
	return r
}

func (r *rule) parseComparison(l *loader, where string, obj map[string]any) {
	var isPath bool
	r.kind, r.rel, isPath, _ = operator(r.op)
	if src, ok := l.str(where, obj, "Variable", true); ok {
		r.variable = l.path(where, "Variable", src)
	}
	v := obj[r.op]
	if isPath {
		if src, ok := v.(string); ok {
			r.operand = l.path(where, r.op, src)
		} else {
			l.errorf(where, "field %q must be a path", r.op)
		}
		return
	}
	r.value = v
	var ok bool
	switch r.kind {
	case "Is", "Boolean":
		_, ok = v.(bool)
	case "Numeric":
		_, ok = v.(json.Number)
	case "String":
		_, ok = v.(string)
	case "Timestamp":
		_, ok = timestamp(v)
	case "Matches":
		var err error
		r.glob, err = compileGlob(v)
		if err != nil {
			l.errorf(where, "field %q: %v", r.op, err)
		}
		return
	}
	if !ok {
		l.errorf(where, "field %q has a value of the wrong type", r.op)
	}
}

// compileGlob turns a StringMatches pattern into runes with -1 for each
// unescaped *.
func compileGlob(v any) ([]rune, error) {
	pat, ok := v.(string)
	if !ok {
		return nil, errors.New("must be a string")
	}
	var g []rune
	escape := false
	for _, c := range pat {
		switch {
		case escape:
			if c != '*' && c != '\\' {
				return nil, fmt.Errorf("only * and \\ can be escaped, not %q", c)
			}
			g = append(g, c)
			escape = false
		case c == '\\':
			escape = true
		case c == '*':
			g = append(g, -1)
		default:
			g = append(g, c)
		}
	}
	if escape {
		return nil, errors.New("ends in an unfinished escape")
	}
	return g, nil
}

// matchGlob reports whether s matches g, backtracking to the most recent *
// on a mismatch.
func matchGlob(g []rune, s string) bool {
	str := []rune(s)
	i, j, star, mark := 0, 0, -1, 0
	for j < len(str) {
		switch {
		case i < len(g) && g[i] == -1:
			star, mark = i, j
			i++
		case i < len(g) && g[i] == str[j]:
			i++
			j++
		case star >= 0:
			mark++
			i, j = star+1, mark
		default:
			return false
		}
	}
	for i < len(g) && g[i] == -1 {
		i++
	}
	return i == len(g)
}

func (r *rule) eval(s scope) (bool, error) {
	switch r.op {
	case "And", "Or":
		want := r.op == "Or"
		for _, sub := range r.rules {
			ok, err := sub.eval(s)
			if err != nil || ok == want {
				return want, err
			}
		}
		return !want, nil
	case "Not":
		ok, err := r.rules[0].eval(s)
		return !ok, err
	}
	v, found := s.resolve(r.variable)
	if r.op == "IsPresent" {
		return found == r.value.(bool), nil
	}
	if !found {
		return false, runtimeError("Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.src)
	}
	switch r.kind {
	case "Is":
		return isType(r.rel, v) == r.value.(bool), nil
	case "Matches":
		str, ok := v.(string)
		return ok && matchGlob(r.glob, str), nil
	}
	operand := r.value
	if r.operand != nil {
		if operand, found = s.resolve(r.operand); !found {
			return false, runtimeError("Invalid path '%s': The choice state's comparison path references an invalid value.", r.operand.src)
		}
	}
	return compare(r.kind, r.rel, v, operand), nil
}

func isType(typ string, v any) bool {
	switch typ {
	case "Null":
		return v == nil
	case "Numeric":
		_, ok := v.(json.Number)
		return ok
	case "String":
		_, ok := v.(string)
		return ok
	case "Boolean":
		_, ok := v.(bool)
		return ok
	case "Timestamp":
		_, ok := timestamp(v)
		return ok
	}
	return false
}

// compare applies a comparison; values of the wrong type never match, as in
// AWS.
func compare(kind, rel string, a, b any) bool {
	var c int
	switch kind {
	case "String":
		x, ok1 := a.(string)
		y, ok2 := b.(string)
		if !ok1 || !ok2 {
			return false
		}
		// AWS orders strings as Java does, by UTF-16 code units.
		c = slices.Compare(utf16.Encode([]rune(x)), utf16.Encode([]rune(y)))
	case "Numeric":
		x, ok1 := number(a)
		y, ok2 := number(b)
		if !ok1 || !ok2 {
			return false
		}
		c = cmp.Compare(x, y)
	case "Boolean":
		x, ok1 := a.(bool)
		y, ok2 := b.(bool)
		return ok1 && ok2 && x == y
	case "Timestamp":
		x, ok1 := timestamp(a)
		y, ok2 := timestamp(b)
		if !ok1 || !ok2 {
			return false
		}
		c = x.Compare(y)
	}
	switch rel {
	case "Equals":
		return c == 0
	case "LessThan":
		return c < 0
	case "GreaterThan":
		return c > 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// timestamp parses an RFC 3339 timestamp (uppercase T, Z or a numeric
// offset, optional fractional seconds), the only form AWS accepts.
func timestamp(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
