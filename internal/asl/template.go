package asl

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A scope is what paths are evaluated against: the value "$" names and the
// context object "$$" names.
type scope struct {
	input any
	ctx   map[string]any
	rand  func() float64 // nil means crypto/rand, for States.UUID
}

func (s scope) with(input any) scope {
	s.input = input
	return s
}

func (s scope) resolve(p *path) (any, bool) {
	if p.ctx {
		return p.lookup(s.ctx)
	}
	return p.lookup(s.input)
}

// An expr is the value of a payload template field whose name ends in ".$":
// a path or an intrinsic function call.
type expr interface {
	eval(s scope) (any, error)
}

// parseExpr parses a path or intrinsic function call; mapItem says whether
// it is in a Map state's ItemSelector, where $$.Map is defined.
func parseExpr(src string, mapItem bool) (expr, error) {
	if strings.HasPrefix(src, "$") {
		return parseContextPath(src, mapItem)
	}
	if strings.HasPrefix(src, "States.") {
		return parseIntrinsic(src, mapItem)
	}
	return nil, fmt.Errorf("%q is neither a path nor an intrinsic function", src)
}

// A dynamic is one "key.$" entry of a compiled payload template.
type dynamic struct {
	field string
	x     expr
}

// compileTemplate checks a payload template, passing each problem to
// report, and returns a copy in which every "key.$" entry has become a
// *dynamic under the name "key". mapItem says whether the template is a Map
// state's ItemSelector.
func compileTemplate(v any, mapItem bool, report func(error)) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range sortedKeys(v) {
			name, dyn := strings.CutSuffix(k, ".$")
			if !dyn {
				out[k] = compileTemplate(v[k], mapItem, report)
				continue
			}
			src, ok := v[k].(string)
			x, err := parseExpr(src, mapItem)
			switch _, dup := v[name]; {
			case dup:
				report(fmt.Errorf("fields %q and %q conflict", name, k))
			case !ok:
				report(fmt.Errorf("field %q must be a string", k))
			case err != nil:
				report(fmt.Errorf("field %q: %w", k, err))
			}
			out[name] = &dynamic{field: k, x: x}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = compileTemplate(e, mapItem, report)
		}
		return out
	}
	return v
}

// evalTemplate builds the JSON value a compiled template describes.
func evalTemplate(t any, s scope) (any, error) {
	switch t := t.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			r, err := evalTemplate(v, s)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			r, err := evalTemplate(v, s)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case *dynamic:
		if p, ok := t.x.(*path); ok {
			v, found := s.resolve(p)
			if !found {
				return nil, runtimeError("The JSONPath %s specified for the field %s could not be found in the input %s",
					p.src, t.field, abbrev(s.input))
			}
			return v, nil
		}
		return t.x.eval(s)
	}
	return t, nil
}

// abbrev renders a value for an error message, cut short when large.
func abbrev(v any) string {
	b, err := encode(v)
	if err != nil {
		return "<unencodable>"
	}
	const limit = 512
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}

// A literal is a constant intrinsic function argument. For a string, raw is
// its text with escapes intact, which States.Format needs to tell an escaped
// brace from a placeholder.
type literal struct {
	v   any
	raw string
}

func (l literal) eval(scope) (any, error) { return l.v, nil }

// A call is an intrinsic function invocation.
type call struct {
	fn   string
	args []expr
}

// arity reports the argument count range of the intrinsic functions the
// interpreter implements; max < 0 means unbounded.
func arity(fn string) (minArgs, maxArgs int, ok bool) {
	switch fn {
	case "States.Format":
		return 1, -1, true
	case "States.StringToJson", "States.JsonToString", "States.ArrayLength":
		return 1, 1, true
	case "States.Array":
		return 0, -1, true
	case "States.MathAdd", "States.StringSplit":
		return 2, 2, true
	case "States.UUID":
		return 0, 0, true
	case "States.JsonMerge":
		return 3, 3, true
	}
	return 0, 0, false
}

func parseIntrinsic(src string, mapItem bool) (*call, error) {
	p := &intrinsicParser{s: src, mapItem: mapItem}
	c, err := p.call(0)
	if err == nil {
		p.space()
		if p.i < len(p.s) {
			err = fmt.Errorf("unexpected %q after the closing parenthesis", p.s[p.i:])
		}
	}
	if err != nil {
		return nil, fmt.Errorf("intrinsic function %q: %w", src, err)
	}
	return c, nil
}

type intrinsicParser struct {
	s       string
	i       int
	mapItem bool // the call is in a Map state's ItemSelector
}

func (p *intrinsicParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *intrinsicParser) call(depth int) (*call, error) {
	// AWS allows intrinsic functions to nest at most 10 deep.
	if depth >= 10 {
		return nil, errors.New("intrinsic functions nest more than 10 deep")
	}
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == '.' || isAlnum(p.s[p.i])) {
		p.i++
	}
	c := &call{fn: p.s[start:p.i]}
	minArgs, maxArgs, ok := arity(c.fn)
	if !ok {
		return nil, fmt.Errorf("function %q is not supported", c.fn)
	}
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, fmt.Errorf("missing ( after %s", c.fn)
	}
	p.i++
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			p.space()
			a, err := p.arg(depth)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			p.space()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("missing ) after the arguments of %s", c.fn)
			}
			p.i++
			if p.s[p.i-1] == ')' {
				break
			}
			if p.s[p.i-1] != ',' {
				return nil, fmt.Errorf("unexpected %q in the arguments of %s", p.s[p.i-1:p.i], c.fn)
			}
		}
	}
	if len(c.args) < minArgs || maxArgs >= 0 && len(c.args) > maxArgs {
		return nil, fmt.Errorf("%s does not take %d arguments", c.fn, len(c.args))
	}
	return c, nil
}

func (p *intrinsicParser) arg(depth int) (expr, error) {
	if p.i >= len(p.s) {
		return nil, errors.New("missing argument")
	}
	rest := p.s[p.i:]
	switch c := rest[0]; {
	case c == '\'':
		return p.str()
	case c == '$':
		return p.path()
	case c == '-' || c >= '0' && c <= '9':
		end := 1
		for end < len(rest) && strings.IndexByte("0123456789.eE+-", rest[end]) >= 0 {
			end++
		}
		tok := rest[:end]
		if !json.Valid([]byte(tok)) {
			return nil, fmt.Errorf("invalid number %q", tok)
		}
		p.i += end
		return literal{v: json.Number(tok)}, nil
	case strings.HasPrefix(rest, "States."):
		return p.call(depth + 1)
	}
	for word, v := range map[string]any{"true": true, "false": false, "null": nil} {
		if strings.HasPrefix(rest, word) && (len(rest) == len(word) || !isAlnum(rest[len(word)])) {
			p.i += len(word)
			return literal{v: v}, nil
		}
	}
	return nil, fmt.Errorf("unexpected %q", rest)
}

// str reads a quoted string. Only \' \{ \} and \\ are escapes; AWS rejects
// any other backslash.
func (p *intrinsicParser) str() (expr, error) {
	p.i++
	start := p.i
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case '\'':
			raw := p.s[start:p.i]
			p.i++
			return literal{v: b.String(), raw: raw}, nil
		case '\\':
			if p.i+1 >= len(p.s) || strings.IndexByte(`'{}\`, p.s[p.i+1]) < 0 {
				return nil, errors.New(`a backslash must escape one of ' { } \`)
			}
			p.i++
			c = p.s[p.i]
		}
		b.WriteByte(c)
		p.i++
	}
	return nil, errors.New("unterminated string")
}

// path reads a path argument, which ends at a comma or parenthesis outside
// brackets.
func (p *intrinsicParser) path() (expr, error) {
	start := p.i
	var quote byte
	depth := 0
scan:
	for ; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0 && strings.IndexByte(",) \t\r\n", c) >= 0:
			break scan
		}
	}
	return parseContextPath(p.s[start:p.i], p.mapItem)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func (c *call) eval(s scope) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		v, err := a.eval(s)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	v, err := c.apply(args, s)
	if err != nil {
		return nil, runtimeError("The evaluation of the function %s returned an error: %v", c.fn, err)
	}
	return v, nil
}

func (c *call) apply(args []any, s scope) (any, error) {
	switch c.fn {
	case "States.Format":
		tmpl, ok := args[0].(string)
		if !ok {
			return nil, errors.New("the format must be a string")
		}
		lit, escaped := c.args[0].(literal)
		if escaped {
			tmpl = lit.raw
		}
		return format(tmpl, escaped, args[1:])
	case "States.StringToJson":
		str, ok := args[0].(string)
		if !ok {
			return nil, errors.New("the argument must be a string")
		}
		return decode([]byte(str))
	case "States.JsonToString":
		b, err := encode(args[0])
		return string(b), err
	case "States.Array":
		return args, nil
	case "States.ArrayLength":
		a, ok := args[0].([]any)
		if !ok {
			return nil, errors.New("the argument must be an array")
		}
		return json.Number(strconv.Itoa(len(a))), nil
	case "States.MathAdd":
		a, errA := integer(args[0])
		b, errB := integer(args[1])
		if err := errors.Join(errA, errB); err != nil {
			return nil, err
		}
		return json.Number(strconv.FormatInt(a+b, 10)), nil
	case "States.UUID":
		return uuid(s.rand)
	case "States.StringSplit":
		str, ok1 := args[0].(string)
		sep, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, errors.New("both arguments must be strings")
		}
		// Like a tokenizer, every character of sep is a delimiter and
		// empty pieces are dropped.
		parts := strings.FieldsFunc(str, func(r rune) bool { return strings.ContainsRune(sep, r) })
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	case "States.JsonMerge":
		return jsonMerge(args[0], args[1], args[2])
	}
	return nil, fmt.Errorf("function %s is not supported", c.fn)
}

// format replaces each {} in tmpl with the next argument. When escaped is
// set, tmpl still holds the backslash escapes of a string literal.
func format(tmpl string, escaped bool, args []any) (string, error) {
	var b strings.Builder
	n := 0
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case escaped && c == '\\' && i+1 < len(tmpl):
			i++
			b.WriteByte(tmpl[i])
		case c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			i++
			if n >= len(args) {
				return "", errors.New("the format has more {} placeholders than arguments")
			}
			switch a := args[n].(type) {
			case string:
				b.WriteString(a)
			case json.Number:
				b.WriteString(string(a))
			case bool:
				b.WriteString(strconv.FormatBool(a))
			case nil:
				b.WriteString("null")
			default:
				return "", fmt.Errorf("argument %d is not a string, number, boolean or null", n+1)
			}
			n++
		default:
			b.WriteByte(c)
		}
	}
	if n != len(args) {
		return "", errors.New("the format has fewer {} placeholders than arguments")
	}
	return b.String(), nil
}

// jsonMerge is States.JsonMerge: a shallow merge in which a key of b wins
// over the same key of a. AWS implements only the shallow mode, so isDeep
// must be the boolean false. The result is a new object, since a and b may
// be objects of the input that other fields still use; their values are
// shared, as everywhere payloads are treated as immutable.
func jsonMerge(a, b, isDeep any) (any, error) {
	deep, ok := isDeep.(bool)
	switch {
	case !ok:
		return nil, fmt.Errorf("the third argument must be a boolean, not %s", abbrev(isDeep))
	case deep:
		return nil, errors.New("deep merging is not supported: the third argument must be false")
	}
	objA, okA := a.(map[string]any)
	objB, okB := b.(map[string]any)
	if !okA || !okB {
		return nil, errors.New("the first two arguments must be JSON objects")
	}
	// Like every object here, the result encodes with its keys sorted, so
	// its order does not depend on the order of a and b.
	out := make(map[string]any, len(objA)+len(objB))
	maps.Copy(out, objA)
	maps.Copy(out, objB)
	return out, nil
}

// integer converts a MathAdd argument; AWS rounds non-integers to the nearest
// integer, halves upwards as Java's Math.round does.
func integer(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is not a number", abbrev(v))
	}
	if i, err := n.Int64(); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || math.Abs(f) > 1<<62 {
		return 0, fmt.Errorf("%s is out of range", n)
	}
	return int64(math.Floor(f + 0.5)), nil
}

// uuid returns a version 4 UUID from crypto/rand, or from rnd when a test
// wants it repeatable.
func uuid(rnd func() float64) (string, error) {
	var u [16]byte
	if rnd == nil {
		if _, err := rand.Read(u[:]); err != nil {
			return "", err
		}
	} else {
		for i := range u {
			u[i] = byte(rnd() * 256)
		}
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-"), nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
