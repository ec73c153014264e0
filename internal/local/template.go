package local

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Template is what the local runtime reads from template.yaml: the
// functions and the state machines with their definition substitutions.
// Reading the real template keeps local runs honest: a state machine whose
// Task resources name a function the template does not define fails here
// exactly as it would fail to deploy.
type Template struct {
	Functions     map[string]Function     // by logical id
	StateMachines map[string]StateMachine // by logical id
}

// Function is an AWS::Serverless::Function.
type Function struct {
	LogicalID   string
	Environment map[string]string // literal values; intrinsic values are left out
}

// StateMachine is an AWS::Serverless::StateMachine with DefinitionUri.
type StateMachine struct {
	LogicalID     string
	Name          string // logical id; the deployed name is stage-dependent
	Definition    string // path of the ASL file
	Substitutions map[string]Substitution
}

// Substitution is one DefinitionSubstitutions value: either a function's
// ARN (GetAtt Fn.Arn / Ref Fn) or a literal string.
type Substitution struct {
	Function string
	Literal  string
}

// LoadTemplate reads a SAM template. Definition paths are resolved against
// the template's directory.
func LoadTemplate(path string) (*Template, error) {
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
	resources := child(doc.Content[0], "Resources")
	if resources == nil {
		return nil, fmt.Errorf("template %s has no Resources", path)
	}
	t := &Template{Functions: map[string]Function{}, StateMachines: map[string]StateMachine{}}
	dir := filepath.Dir(path)
	var problems []string
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		props := child(res, "Properties")
		switch scalar(child(res, "Type")) {
		case "AWS::Serverless::Function":
			t.Functions[id] = Function{LogicalID: id, Environment: literalMap(child(child(child(props, "Environment"), "Variables"), ""))}
		case "AWS::Serverless::StateMachine":
			def := scalar(child(props, "DefinitionUri"))
			if def == "" {
				problems = append(problems, fmt.Sprintf("state machine %s: only DefinitionUri definitions run locally", id))
				continue
			}
			sm := StateMachine{LogicalID: id, Name: id, Definition: filepath.Join(dir, def), Substitutions: map[string]Substitution{}}
			if subs := child(props, "DefinitionSubstitutions"); subs != nil {
				for j := 0; j+1 < len(subs.Content); j += 2 {
					key := subs.Content[j].Value
					sub, err := substitution(subs.Content[j+1])
					if err != nil {
						problems = append(problems, fmt.Sprintf("state machine %s: substitution %s: %v", id, key, err))
						continue
					}
					sm.Substitutions[key] = sub
				}
			}
			t.StateMachines[id] = sm
		}
	}
	for _, sm := range t.StateMachines {
		for key, sub := range sm.Substitutions {
			if _, ok := t.Functions[sub.Function]; sub.Function != "" && !ok {
				problems = append(problems, fmt.Sprintf("state machine %s: substitution %s names unknown function %s", sm.LogicalID, key, sub.Function))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("template %s: %s", path, strings.Join(problems, "; "))
	}
	return t, nil
}

// substitution understands !GetAtt Fn.Arn, !Ref Fn, their long forms
// (Fn::GetAtt, Ref) and plain strings.
func substitution(n *yaml.Node) (Substitution, error) {
	switch {
	case n.Tag == "!GetAtt":
		return getAtt(strings.SplitN(n.Value, ".", 2))
	case n.Tag == "!Ref":
		return Substitution{Function: n.Value}, nil
	case n.Kind == yaml.ScalarNode:
		return Substitution{Literal: n.Value}, nil
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		switch n.Content[0].Value {
		case "Ref":
			return Substitution{Function: n.Content[1].Value}, nil
		case "Fn::GetAtt":
			v := n.Content[1]
			if v.Kind == yaml.SequenceNode {
				parts := make([]string, len(v.Content))
				for i, c := range v.Content {
					parts[i] = c.Value
				}
				return getAtt(parts)
			}
			return getAtt(strings.SplitN(v.Value, ".", 2))
		}
	}
	return Substitution{}, fmt.Errorf("unsupported value (tag %s); use !GetAtt Fn.Arn, !Ref Fn or a string", n.Tag)
}

func getAtt(parts []string) (Substitution, error) {
	if len(parts) != 2 || parts[1] != "Arn" {
		return Substitution{}, fmt.Errorf("only !GetAtt <Function>.Arn is supported, got %q", strings.Join(parts, "."))
	}
	return Substitution{Function: parts[0]}, nil
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
		if v := n.Content[i+1]; v.Kind == yaml.ScalarNode && !strings.HasPrefix(v.Tag, "!") {
			out[n.Content[i].Value] = v.Value
		}
	}
	return out
}
