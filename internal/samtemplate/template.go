package samtemplate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vidgen/vidgen/internal/local/localarn"
	"go.yaml.in/yaml/v3"
)

// Template is what the local runtime reads from template.yaml: the
// functions, the state machines with their definition substitutions, the
// schedules and the parameters' defaults. Reading the real template keeps
// local runs honest: a state machine whose Task resources name a function
// the template does not define fails here exactly as it would fail to
// deploy.
type Template struct {
	Functions     map[string]Function     // by logical id
	StateMachines map[string]StateMachine // by logical id
	Schedules     map[string]Schedule     // AWS::Scheduler::Schedule, by logical id
	// Parameters holds each parameter's Default, which is the value a local
	// run deploys with; parameters without a scalar Default are left out.
	Parameters map[string]string
}

// Function is an AWS::Serverless::Function.
type Function struct {
	LogicalID   string
	Environment map[string]string // literal values; intrinsic values are left out
	// Timeout is the function's Timeout, else Globals.Function.Timeout,
	// else Lambda's default of 3 seconds.
	Timeout time.Duration
}

// StateMachine is an AWS::Serverless::StateMachine with DefinitionUri.
type StateMachine struct {
	LogicalID     string
	Name          string // logical id; the deployed name is stage-dependent
	Definition    string // path of the ASL file
	Substitutions map[string]Substitution
}

// Substitution is one DefinitionSubstitutions value: a function's ARN
// (!GetAtt Fn.Arn, !Ref Fn), a state machine's ARN (!GetAtt Sm.Arn,
// !Ref Sm) or a literal string. Value gives the text to substitute.
type Substitution struct {
	Function     string
	StateMachine string
	Literal      string
}

// Value is the text the substitution puts into the definition.
func (s Substitution) Value() string {
	switch {
	case s.Function != "":
		return localarn.Function(s.Function)
	case s.StateMachine != "":
		return localarn.StateMachine(s.StateMachine)
	}
	return s.Literal
}

// Resource types the local runtime reads.
const (
	typeFunction     = "AWS::Serverless::Function"
	typeStateMachine = "AWS::Serverless::StateMachine"
	typeSchedule     = "AWS::Scheduler::Schedule"
)

// Decode reads the YAML template at path into v, for code that needs a
// part of it Load does not model (a table's key schema, the API's routes,
// a parameter's bounds). Short-form intrinsics such as !Ref read as their
// plain values.
func Decode(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read template: %w", err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse template %s: %w", path, err)
	}
	return nil
}

// Load reads a SAM template. Definition paths are resolved against
// the template's directory.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("template %s is empty", path)
	}
	root := doc.Content[0]
	resources := child(root, "Resources")
	if resources == nil {
		return nil, fmt.Errorf("template %s has no Resources", path)
	}
	t := &Template{Functions: map[string]Function{}, StateMachines: map[string]StateMachine{},
		Schedules: map[string]Schedule{}, Parameters: map[string]string{}}
	l := &loader{params: t.Parameters, declared: map[string]bool{}, conditions: map[string]*yaml.Node{}, types: map[string]string{}}
	if params := child(root, "Parameters"); params != nil && params.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(params.Content); i += 2 {
			l.declared[params.Content[i].Value] = true
			if def := child(params.Content[i+1], "Default"); def != nil && def.Kind == yaml.ScalarNode && !intrinsic(def) {
				t.Parameters[params.Content[i].Value] = def.Value
			}
		}
	}
	if conds := child(root, "Conditions"); conds != nil && conds.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(conds.Content); i += 2 {
			l.conditions[conds.Content[i].Value] = conds.Content[i+1]
		}
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		l.types[resources.Content[i].Value] = scalar(child(resources.Content[i+1], "Type"))
	}
	dir := filepath.Dir(path)
	var problems []string
	timeout := DefaultFunctionTimeout
	if n := child(child(child(root, "Globals"), "Function"), "Timeout"); n != nil {
		d, err := l.timeout(n)
		if err != nil {
			problems = append(problems, fmt.Sprintf("Globals.Function.Timeout: %v", err))
		}
		timeout = d
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		props := child(res, "Properties")
		switch scalar(child(res, "Type")) {
		case typeFunction:
			f := Function{LogicalID: id, Environment: literalMap(child(child(child(props, "Environment"), "Variables"), "")), Timeout: timeout}
			if n := child(props, "Timeout"); n != nil {
				d, err := l.timeout(n)
				if err != nil {
					problems = append(problems, fmt.Sprintf("function %s: Timeout: %v", id, err))
				}
				f.Timeout = d
			}
			t.Functions[id] = f
		case typeStateMachine:
			def := scalar(child(props, "DefinitionUri"))
			if def == "" {
				problems = append(problems, fmt.Sprintf("state machine %s: only DefinitionUri definitions run locally", id))
				continue
			}
			sm := StateMachine{LogicalID: id, Name: id, Definition: filepath.Join(dir, def), Substitutions: map[string]Substitution{}}
			if subs := child(props, "DefinitionSubstitutions"); subs != nil {
				for j := 0; j+1 < len(subs.Content); j += 2 {
					key := subs.Content[j].Value
					sub, err := l.substitution(subs.Content[j+1])
					if err != nil {
						problems = append(problems, fmt.Sprintf("state machine %s: substitution %s: %v", id, key, err))
						continue
					}
					sm.Substitutions[key] = sub
				}
			}
			t.StateMachines[id] = sm
		case typeSchedule:
			s, err := l.schedule(id, props)
			if err != nil {
				problems = append(problems, fmt.Sprintf("schedule %s: %v", id, err))
				continue
			}
			t.Schedules[id] = s
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("template %s: %s", path, strings.Join(problems, "; "))
	}
	return t, nil
}

// A loader resolves the intrinsic functions of one template as far as a
// local run can: references to functions and state machines become their
// local ARNs, parameters their defaults.
type loader struct {
	params     map[string]string // defaults
	declared   map[string]bool   // every parameter, with a default or not
	conditions map[string]*yaml.Node
	types      map[string]string // resource logical id → Type
}

// A reference is a !Ref or !GetAtt.
type reference struct {
	id, attr string // attr is "" for a Ref
}

// intrinsic reports whether n carries a short-form intrinsic tag such as
// !Ref (the resolved tags of plain values start with "!!").
func intrinsic(n *yaml.Node) bool {
	return strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")
}

// fn recognises an intrinsic function in short (!If [...]) or long
// ({"Fn::If": [...]}) form and returns its long name and argument.
func fn(n *yaml.Node) (name string, arg *yaml.Node, ok bool) {
	if n == nil {
		return "", nil, false
	}
	if intrinsic(n) {
		a := *n
		a.Tag = ""
		name = "Fn::" + n.Tag[1:]
		if n.Tag == "!Ref" || n.Tag == "!Condition" {
			name = n.Tag[1:]
		}
		return name, &a, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		if k := n.Content[0].Value; k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, n.Content[1], true
		}
	}
	return "", nil, false
}

// ref reads a !Ref or !GetAtt (either form); ok is false for anything else.
func ref(n *yaml.Node) (reference, bool, error) {
	name, arg, ok := fn(n)
	switch {
	case !ok:
		return reference{}, false, nil
	case name == "Ref" && arg.Kind == yaml.ScalarNode:
		return reference{id: arg.Value}, true, nil
	case name == "Fn::GetAtt" && arg.Kind == yaml.ScalarNode:
		id, attr, _ := strings.Cut(arg.Value, ".")
		return reference{id: id, attr: attr}, true, nil
	case name == "Fn::GetAtt" && arg.Kind == yaml.SequenceNode && len(arg.Content) == 2:
		return reference{id: arg.Content[0].Value, attr: arg.Content[1].Value}, true, nil
	case name == "Ref" || name == "Fn::GetAtt":
		return reference{}, true, fmt.Errorf("malformed %s", name)
	}
	return reference{}, false, nil
}

// substitution understands !GetAtt X.Arn and !Ref X of functions and state
// machines, their long forms (Fn::GetAtt, Ref), !Ref of a parameter and
// plain strings.
func (l *loader) substitution(n *yaml.Node) (Substitution, error) {
	r, isRef, err := ref(n)
	switch {
	case err != nil:
		return Substitution{}, err
	case isRef:
		return l.resolve(r)
	case n.Kind == yaml.ScalarNode && !intrinsic(n):
		return Substitution{Literal: n.Value}, nil
	}
	return Substitution{}, fmt.Errorf("unsupported value (tag %s); use !GetAtt X.Arn, !Ref X or a string", n.Tag)
}

// resolve gives a reference its local value.
func (l *loader) resolve(r reference) (Substitution, error) {
	typ, isResource := l.types[r.id]
	if !isResource {
		switch v, ok := l.params[r.id]; {
		case r.attr != "":
		case ok:
			return Substitution{Literal: v}, nil
		case l.declared[r.id]:
			return Substitution{}, fmt.Errorf("parameter %s has no Default to run with locally", r.id)
		case strings.HasPrefix(r.id, "AWS::"):
			return Substitution{}, fmt.Errorf("pseudo parameter %s has no local value", r.id)
		}
		return Substitution{}, fmt.Errorf("unknown function, state machine or parameter %s", r.id)
	}
	switch {
	case typ == typeFunction && (r.attr == "" || r.attr == "Arn"):
		return Substitution{Function: r.id}, nil
	case typ == typeStateMachine && (r.attr == "" || r.attr == "Arn"):
		return Substitution{StateMachine: r.id}, nil
	case typ == typeStateMachine && r.attr == "Name":
		return Substitution{Literal: r.id}, nil // the local name is the logical id
	case r.attr == "":
		// Ref of other resources is their name (a table's, a bucket's); the
		// local stores stand in for them under the logical id.
		return Substitution{Literal: r.id}, nil
	}
	return Substitution{}, fmt.Errorf("only !GetAtt <Function or StateMachine>.Arn is supported, got %s.%s (%s)", r.id, r.attr, typ)
}

// value evaluates a scalar-valued property: a literal, !Ref of a parameter
// or resource, !GetAtt, !If on a condition, or !Sub.
func (l *loader) value(n *yaml.Node, depth int) (string, error) {
	if n == nil {
		return "", errors.New("missing value")
	}
	if depth > 20 {
		return "", errors.New("intrinsic functions nested too deep (a cycle?)")
	}
	if r, isRef, err := ref(n); err != nil {
		return "", err
	} else if isRef {
		s, err := l.resolve(r)
		if err != nil {
			return "", err
		}
		return s.Value(), nil
	}
	name, arg, ok := fn(n)
	switch {
	case !ok && n.Kind == yaml.ScalarNode:
		return n.Value, nil
	case !ok:
		return "", errors.New("not a single value")
	case name == "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return "", errors.New("Fn::If takes [condition, value if true, value if false]")
		}
		c, err := l.condition(arg.Content[0].Value, depth+1)
		if err != nil {
			return "", err
		}
		if c {
			return l.value(arg.Content[1], depth+1)
		}
		return l.value(arg.Content[2], depth+1)
	case name == "Fn::Sub":
		return l.sub(arg, depth+1)
	}
	return "", fmt.Errorf("%s is not supported locally", name)
}

// timeout reads a function's Timeout: whole seconds from 1 to 900, as
// Lambda allows.
func (l *loader) timeout(n *yaml.Node) (time.Duration, error) {
	v, err := l.value(n, 0)
	if err != nil {
		return 0, err
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs < 1 || secs > 900 {
		return 0, fmt.Errorf("must be whole seconds from 1 to 900, got %q", v)
	}
	return time.Duration(secs) * time.Second, nil
}

// condition evaluates a named condition of the Conditions section.
func (l *loader) condition(name string, depth int) (bool, error) {
	n, ok := l.conditions[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %s", name)
	}
	return l.cond(n, depth+1)
}

// cond evaluates a condition function: Fn::Equals, Fn::Not, Fn::And,
// Fn::Or or a Condition reference.
func (l *loader) cond(n *yaml.Node, depth int) (bool, error) {
	if depth > 20 {
		return false, errors.New("conditions nested too deep (a cycle?)")
	}
	name, arg, ok := fn(n)
	if !ok {
		return false, errors.New("a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition")
	}
	if name == "Condition" {
		return l.condition(arg.Value, depth+1)
	}
	if arg.Kind != yaml.SequenceNode {
		return false, fmt.Errorf("%s takes a list", name)
	}
	switch name {
	case "Fn::Equals":
		if len(arg.Content) != 2 {
			return false, errors.New("Fn::Equals takes two values")
		}
		a, err := l.value(arg.Content[0], depth+1)
		if err != nil {
			return false, err
		}
		b, err := l.value(arg.Content[1], depth+1)
		return a == b, err
	case "Fn::Not":
		if len(arg.Content) != 1 {
			return false, errors.New("Fn::Not takes one condition")
		}
		c, err := l.cond(arg.Content[0], depth+1)
		return !c, err
	case "Fn::And", "Fn::Or":
		and := name == "Fn::And"
		for _, c := range arg.Content {
			v, err := l.cond(c, depth+1)
			if err != nil {
				return false, err
			}
			if v != and {
				return v, nil
			}
		}
		return and, nil
	}
	return false, fmt.Errorf("%s is not a condition function", name)
}

// sub evaluates Fn::Sub: "text" or [text, {name: value}]. ${Param} gives
// the parameter's default, ${Resource} and ${Resource.Attr} what !Ref and
// !GetAtt give, ${!Text} the literal ${Text}.
func (l *loader) sub(arg *yaml.Node, depth int) (string, error) {
	text, vars := arg, map[string]*yaml.Node{}
	if arg.Kind == yaml.SequenceNode {
		if len(arg.Content) != 2 || arg.Content[1].Kind != yaml.MappingNode {
			return "", errors.New("Fn::Sub takes a string or [string, {variables}]")
		}
		text = arg.Content[0]
		for i := 0; i+1 < len(arg.Content[1].Content); i += 2 {
			vars[arg.Content[1].Content[i].Value] = arg.Content[1].Content[i+1]
		}
	}
	if text.Kind != yaml.ScalarNode {
		return "", errors.New("Fn::Sub takes a string or [string, {variables}]")
	}
	var b strings.Builder
	rest := text.Value
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated %.20s", rest[i:])
		}
		name := rest[i+2 : i+j]
		rest = rest[i+j+1:]
		if lit, ok := strings.CutPrefix(name, "!"); ok {
			b.WriteString("${" + lit + "}")
			continue
		}
		var v string
		var err error
		if n, ok := vars[name]; ok {
			v, err = l.value(n, depth+1)
		} else {
			id, attr, _ := strings.Cut(name, ".")
			var s Substitution
			s, err = l.resolve(reference{id: id, attr: attr})
			v = s.Value()
		}
		if err != nil {
			return "", fmt.Errorf("${%s}: %w", name, err)
		}
		b.WriteString(v)
	}
}

// child returns the value of key in mapping n; an empty key returns n.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || key == "" {
		return n
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func literalMap(n *yaml.Node) map[string]string {
	out := map[string]string{}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := n.Content[i+1]; v.Kind == yaml.ScalarNode && !intrinsic(v) {
			out[n.Content[i].Value] = v.Value
		}
	}
	return out
}

// DefaultFunctionTimeout is Lambda's Timeout for a function that sets none.
const DefaultFunctionTimeout = 3 * time.Second
