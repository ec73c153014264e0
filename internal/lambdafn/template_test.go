package lambdafn_test

// These tests hold template.yaml to what the code needs: each function's
// directory, build and runtime; the environment lambdafn reads; least-privilege
// policies matching that environment; and a state machine whose
// substitutions, invocations and invoke policies agree. checkProject finds
// every problem at once and says exactly what differs; a second test runs it
// on mutated copies to show that it notices.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vidgen/vidgen/internal/lambdafn"
	"go.yaml.in/yaml/v3"
)

// project is what checkProject reads: the parsed template, the Makefile and
// the repository's files.
type project struct {
	doc      *yaml.Node // template.yaml's document node
	makefile string
	files    fs.FS // the repository root
	required func(fn string) []string
	// samconfig is samconfig.toml, which says which stack each stage
	// deploys to.
	samconfig string
}

func loadProject(t *testing.T) *project {
	t.Helper()
	const root = "../.."
	tmpl, err := os.ReadFile(root + "/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(root + "/Makefile")
	if err != nil {
		t.Fatal(err)
	}
	samconfig, err := os.ReadFile(root + "/samconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(tmpl, &doc); err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		t.Fatal("template.yaml is not a single YAML mapping")
	}
	return &project{doc: &doc, makefile: string(mk), files: os.DirFS(root), required: lambdafn.Required, samconfig: string(samconfig)}
}

func TestTemplateMatchesCode(t *testing.T) { reportsNothing(t, (*project).check) }

// reportsNothing fails t with each problem check finds in the project as
// it is.
func reportsNothing(t *testing.T, check func(*project) []string) {
	t.Helper()
	for _, problem := range check(loadProject(t)) {
		t.Error(problem)
	}
}

// mutation is a change to a fresh copy of the project and the problems a
// check must then report, exactly as said.
type mutation struct {
	name   string
	mutate func(t *testing.T, p *project)
	want   []string
}

// testMutations runs check on a fresh project changed by each mutation: it
// must report every problem wanted and nothing else beyond baseline, what
// the unmutated project already reports (those are the plain test's).
func testMutations(t *testing.T, check func(*project) []string, baseline []string, cases []mutation) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProject(t)
			tc.mutate(t, p)
			got := check(p)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("not reported: %s", w)
				}
			}
			for _, g := range got {
				if !slices.Contains(tc.want, g) && !slices.Contains(baseline, g) {
					t.Errorf("reported besides: %s", g)
				}
			}
		})
	}
}

// What the template must say for every function.
const (
	wantHandler     = "bootstrap"
	wantRuntime     = "provided.al2023"
	wantArch        = "arm64"
	wantBuildMethod = "makefile"
)

// policyFor is the SAM policy template a function needs for each variable
// that names a resource, and the type that resource must have. Tables and
// the bucket have none: SAM's templates for them grant more than any
// function calls, so Statements grant exactly what the function's line in
// allowed (deploy_test.go) lists.
var policyFor = map[string]struct{ policy, resourceType string }{
	lambdafn.EnvTable:          {"", "AWS::DynamoDB::Table"},
	lambdafn.EnvKeysTable:      {"", "AWS::DynamoDB::Table"},
	lambdafn.EnvUpstreamSecret: {"AWSSecretsManagerGetSecretValuePolicy", "AWS::SecretsManager::Secret"},
	lambdafn.EnvCursorSecret:   {"AWSSecretsManagerGetSecretValuePolicy", "AWS::SecretsManager::Secret"},
	lambdafn.EnvStateMachine:   {"StepFunctionsExecutionPolicy", "AWS::Serverless::StateMachine"},
	lambdafn.EnvBucket:         {"", "AWS::S3::Bucket"},
	lambdafn.EnvWebhookSecret:  {"AWSSecretsManagerGetSecretValuePolicy", "AWS::SecretsManager::Secret"},
	lambdafn.EnvEventBus:       {"EventBridgePutEventsPolicy", "Parameter"},
}

// startsBySub are the functions the video_job state machine invokes that
// also start its executions (admitting waiting jobs): a reference to the
// machine would be circular, so their VIDGEN_STATE_MACHINE_ARN is the ARN
// spelled out with !Sub and their policy a Statement allowing
// states:StartExecution on exactly that ARN.
var startsBySub = map[string]bool{"finish": true, "register": true, "poll": true}

// describesOnly names, for a function, the secret variable it reads only
// to describe the secret: the api's health route asks whether the upstream
// key has a value, never for the value. Its policy is then a Statement
// allowing secretsmanager:DescribeSecret on it (its line in allowed), not
// GetSecretValue.
var describesOnly = map[string]string{"api": lambdafn.EnvUpstreamSecret}

// policyParam is the parameter naming the resource in each SAM policy
// template.
var policyParam = map[string]string{
	"DynamoDBCrudPolicy":                    "TableName",
	"DynamoDBReadPolicy":                    "TableName",
	"DynamoDBWritePolicy":                   "TableName",
	"AWSSecretsManagerGetSecretValuePolicy": "SecretArn",
	"StepFunctionsExecutionPolicy":          "StateMachineName",
	"StepFunctionsReadOnlyPolicy":           "StateMachineName",
	"LambdaInvokePolicy":                    "FunctionName",
	"S3ReadPolicy":                          "BucketName",
	"S3WritePolicy":                         "BucketName",
	"S3CrudPolicy":                          "BucketName",
	"EventBridgePutEventsPolicy":            "EventBusName",
}

// check returns every way in which p's template disagrees with the code.
func (p *project) check() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	root := p.doc.Content[0]
	resources := get(root, "Resources")
	if resources == nil || resources.Kind != yaml.MappingNode {
		return []string{"template.yaml has no Resources mapping"}
	}
	globals := get(root, "Globals", "Function")
	targets, recipes, vars := parseMakefile(p.makefile)

	var names []string // functions/<name> of each template function
	for _, id := range keys(resources) {
		res := get(resources, id)
		if scalar(get(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		props := get(res, "Properties")
		prefix, ok := strings.CutSuffix(id, "Function")
		if !ok || prefix == "" {
			add("%s: a function's logical id must be <Name>Function, naming functions/<name>", id)
			continue
		}
		name := strings.ToLower(prefix)
		names = append(names, name)
		if _, err := fs.Stat(p.files, "functions/"+name+"/main.go"); err != nil {
			add("%s: functions/%s/main.go does not exist", id, name)
		}

		// Build and runtime.
		for _, w := range []struct{ key, want string }{{"Handler", wantHandler}, {"Runtime", wantRuntime}} {
			if got := effective(props, globals, w.key); scalar(got) != w.want {
				add("%s: %s is %s (from Properties or Globals), want %q", id, w.key, describe(got), w.want)
			}
		}
		if got := scalars(effective(props, globals, "Architectures")); !slices.Equal(got, []string{wantArch}) {
			add("%s: Architectures is %v (from Properties or Globals), want [%s]", id, got, wantArch)
		}
		if got := get(res, "Metadata", "BuildMethod"); scalar(got) != wantBuildMethod {
			add("%s: Metadata.BuildMethod is %s, want %q", id, describe(got), wantBuildMethod)
		}
		build := "build-" + id
		if !targets[build] {
			add("%s: the Makefile has no %s target, which sam build runs for BuildMethod makefile", id, build)
		} else if r := recipes[build]; !strings.Contains(r, "$(ARTIFACTS_DIR)/bootstrap") || !strings.Contains(r, "./functions/") {
			add("%s: the Makefile's %s recipe does not build ./functions/… into $(ARTIFACTS_DIR)/bootstrap:\n%s", id, build, r)
		}

		// Environment: the function's own variables, and those of Globals'
		// that lambdafn requires of it. The others every function gets (log
		// level, stage) are checkOperations' (ops_test.go).
		required := p.required(name)
		env := map[string]*yaml.Node{}
		common, own := get(globals, "Environment", "Variables"), get(props, "Environment", "Variables")
		for _, k := range keys(common) {
			if slices.Contains(required, k) {
				env[k] = get(common, k)
			}
		}
		for _, k := range keys(own) {
			env[k] = get(own, k)
		}
		if required == nil {
			add("%s: lambdafn.Required(%q) lists no variables: lambdafn does not know functions/%s", id, name, name)
		} else if missing, extra := diff(required, slices.Sorted(maps.Keys(env))); len(missing) > 0 || len(extra) > 0 {
			var parts []string
			if len(missing) > 0 {
				parts = append(parts, fmt.Sprintf("missing from template.yaml: %v", missing))
			}
			if len(extra) > 0 {
				parts = append(parts, fmt.Sprintf("set by template.yaml but not in lambdafn.Required: %v", extra))
			}
			add("%s: environment variable names differ from lambdafn.Required(%q): %s", id, name, strings.Join(parts, "; "))
		}

		// Policies: exactly one for each variable naming a resource.
		var want []policy
		for _, k := range slices.Sorted(maps.Keys(env)) {
			pf, ok := policyFor[k]
			if !ok {
				continue
			}
			if describesOnly[name] == k {
				continue
			}
			if k == lambdafn.EnvStateMachine && startsBySub[name] {
				if !allowsStart(get(props, "Policies"), env[k]) {
					add("%s: reads %s (%s) but has no Statement allowing states:StartExecution on it", id, k, target(env[k]))
				}
				continue
			}
			for _, ref := range refs(env[k]) {
				if typ := resourceType(root, ref); typ != pf.resourceType && typ != "Parameter" {
					add("%s: %s names %s, a %s; want a %s", id, k, ref, typ, pf.resourceType)
				}
			}
			if pf.policy != "" {
				want = append(want, policy{template: pf.policy, target: target(env[k]), from: k})
			}
		}
		have := policies(get(props, "Policies"))
		for _, w := range want {
			if !slices.ContainsFunc(have, w.same) {
				add("%s: reads %s (%s) but has no %s on it", id, w.from, w.target, w.template)
			}
		}
		var used []string  // what the function's variables refer to
		var named []string // the variables' values, as target spells them
		for _, v := range env {
			used = append(used, refs(v)...)
			named = append(named, target(v))
		}
		slices.Sort(used)
		used = slices.Compact(used)
		for _, h := range have {
			switch {
			case h.template == "Statement":
				// An inline statement may add actions on what the
				// function uses, never on anything else: what its
				// variables refer to, or exactly what one of them names
				// (an ARN spelled out, such as the state machine's where a
				// reference would be circular).
				if slices.Contains(named, h.target) ||
					(h.target == "*" && len(h.actions) > 0 && !slices.ContainsFunc(h.actions, func(a string) bool { return !slices.Contains(unscopable, a) })) {
					continue
				}
				if len(h.refs) == 0 || slices.ContainsFunc(h.refs, func(r string) bool { return !slices.Contains(used, r) }) {
					add("%s: has a Statement on %s, beyond what its environment variables name (%v)", id, h.target, used)
				}
			case !slices.ContainsFunc(want, h.same):
				add("%s: has %s on %s, which none of its environment variables names", id, h.template, h.target)
			}
		}
		problems = append(problems, checkGrants(id, name, get(props, "Policies"))...)
	}

	// Every functions/<dir> with a main.go is a template function, and the
	// Makefile's FUNCTIONS lists them all.
	dirs, err := fs.Glob(p.files, "functions/*/main.go")
	if err != nil {
		add("list functions/: %v", err)
	}
	for _, d := range dirs {
		if name := path.Base(path.Dir(d)); !slices.Contains(names, name) {
			add("functions/%s has no AWS::Serverless::Function %sFunction in template.yaml", name, exported(name))
		}
	}
	if missing, extra := diff(names, strings.Fields(vars["FUNCTIONS"])); len(missing) > 0 || len(extra) > 0 {
		add("the Makefile's FUNCTIONS = %q differs from the template's functions %v: lacks %v, has besides %v", vars["FUNCTIONS"], names, missing, extra)
	}

	for _, id := range keys(resources) {
		if res := get(resources, id); scalar(get(res, "Type")) == "AWS::Serverless::StateMachine" {
			problems = append(problems, p.checkStateMachine(root, id, get(res, "Properties"))...)
		}
	}
	return append(problems, p.checkDeployment()...)
}

// checkStateMachine compares a machine's definition, its substitutions and
// its Lambda invoke policies.
func (p *project) checkStateMachine(root *yaml.Node, id string, props *yaml.Node) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	uri := scalar(get(props, "DefinitionUri"))
	if uri == "" {
		return []string{id + ": has no DefinitionUri; this test reads the definition from its file"}
	}
	def, err := fs.ReadFile(p.files, uri)
	if err != nil {
		return []string{fmt.Sprintf("%s: DefinitionUri %s: %v", id, uri, err)}
	}

	subs := get(props, "DefinitionSubstitutions")
	var used []string
	for _, m := range regexp.MustCompile(`\$\{([^}]*)\}`).FindAllSubmatch(def, -1) {
		if v := string(m[1]); !slices.Contains(used, v) {
			used = append(used, v)
		}
	}
	missing, extra := diff(used, keys(subs))
	for _, v := range missing {
		add("%s: %s uses ${%s}, which DefinitionSubstitutions does not define", id, uri, v)
	}
	for _, v := range extra {
		add("%s: DefinitionSubstitutions defines %s, which %s does not use", id, v, uri)
	}

	// The functions each substitution names; a Task needs an ARN.
	functionOf := map[string]string{}
	for _, k := range keys(subs) {
		v := get(subs, k)
		for _, ref := range refs(v) {
			switch resourceType(root, ref) {
			case "undefined":
				add("%s: substitution %s names %s, which template.yaml does not define", id, k, ref)
				continue
			case "AWS::Serverless::Function":
			default:
				continue
			}
			functionOf[k] = ref
			if !isGetAttArn(v) {
				add("%s: substitution %s is %s, which is not the function's ARN; use !GetAtt %s.Arn", id, k, describe(v), ref)
			}
		}
	}

	var asl struct{ States map[string]json.RawMessage }
	if err := json.Unmarshal(def, &asl); err != nil {
		return append(problems, fmt.Sprintf("%s: %s: %v", id, uri, err))
	}
	invoked := map[string][]string{} // function → states invoking it
	tasks := taskResources(asl.States)
	for _, state := range slices.Sorted(maps.Keys(tasks)) {
		resource := tasks[state]
		v, isVar := strings.CutPrefix(resource, "${")
		v, closed := strings.CutSuffix(v, "}")
		switch {
		case isVar && closed:
			if fn, ok := functionOf[v]; ok {
				invoked[fn] = append(invoked[fn], state)
			}
		case strings.HasPrefix(resource, "arn:aws:lambda:") || strings.Contains(resource, ":function:"):
			add("%s: state %s invokes Lambda function %s by a fixed ARN; name it through DefinitionSubstitutions", id, state, resource)
		}
	}

	var allowed []string
	for _, pol := range policies(get(props, "Policies")) {
		if pol.template == "LambdaInvokePolicy" {
			allowed = append(allowed, pol.target)
		}
	}
	for _, fn := range slices.Sorted(maps.Keys(invoked)) {
		if !slices.Contains(allowed, fn) {
			slices.Sort(invoked[fn])
			add("%s: states %v invoke %s but the machine has no LambdaInvokePolicy for it", id, invoked[fn], fn)
		}
	}
	for _, fn := range allowed {
		if _, ok := invoked[fn]; !ok {
			add("%s: has a LambdaInvokePolicy for %s, which none of its states invokes", id, fn)
		}
	}
	return problems
}

// taskResources maps each Task state, nested ones included, to the function
// it invokes: its Resource, or FunctionName for the lambda:invoke
// integration.
func taskResources(states map[string]json.RawMessage) map[string]string {
	out := map[string]string{}
	for name, raw := range states {
		var s struct {
			Type       string
			Resource   string
			Parameters map[string]any
			Arguments  map[string]any
			Branches   []struct{ States map[string]json.RawMessage }
			Iterator   *struct{ States map[string]json.RawMessage }
			Processor  *struct{ States map[string]json.RawMessage } `json:"ItemProcessor"`
		}
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		if s.Type == "Task" {
			r := s.Resource
			if strings.HasPrefix(r, "arn:aws:states:::lambda:invoke") {
				for _, params := range []map[string]any{s.Parameters, s.Arguments} {
					if fn, ok := params["FunctionName"].(string); ok {
						r = fn
					}
				}
			}
			out[name] = r
		}
		var nested []map[string]json.RawMessage
		for _, b := range s.Branches {
			nested = append(nested, b.States)
		}
		if s.Iterator != nil {
			nested = append(nested, s.Iterator.States)
		}
		if s.Processor != nil {
			nested = append(nested, s.Processor.States)
		}
		for _, n := range nested {
			for k, v := range taskResources(n) {
				out[name+"/"+k] = v
			}
		}
	}
	return out
}

// policy is one entry of a Policies list: the SAM policy template (or a
// managed policy's name, or "Statement") and the resource it is on.
type policy struct {
	template string
	target   string   // target() of the resource parameter
	from     string   // for a wanted policy, the variable that calls for it
	refs     []string // for a Statement, what its Resource refers to
	actions  []string // for a Statement, its Action
}

func (p policy) same(q policy) bool { return p.template == q.template && p.target == q.target }

func policies(list *yaml.Node) []policy {
	if list == nil {
		return nil
	}
	var out []policy
	for _, item := range list.Content {
		switch {
		case item.Kind == yaml.ScalarNode:
			out = append(out, policy{template: item.Value, target: "*"})
		case item.Kind == yaml.MappingNode:
			for _, k := range keys(item) {
				v := get(item, k)
				if k == "Statement" {
					out = append(out, statements(v)...)
					continue
				}
				if param, ok := policyParam[k]; ok {
					v = get(v, param)
				}
				out = append(out, policy{template: k, target: target(v)})
			}
		}
	}
	return out
}

// statements reads an inline policy's statements: each one's Resource,
// "*" for a wildcard.
func statements(list *yaml.Node) []policy {
	if list != nil && list.Kind == yaml.MappingNode {
		list = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{list}}
	}
	var out []policy
	for _, st := range list.Content {
		res := get(st, "Resource")
		items := []*yaml.Node{res}
		if res != nil && res.Kind == yaml.SequenceNode && res.Tag == "!!seq" {
			items = res.Content
		}
		p := policy{template: "Statement"}
		for _, a := range listOf(get(st, "Action")) {
			p.actions = append(p.actions, scalar(a))
		}
		var targets []string
		for _, r := range items {
			if scalar(r) == "*" && r.Tag == "!!str" {
				targets = append(targets, "*")
				p.refs = append(p.refs, "*")
				continue
			}
			targets = append(targets, target(r))
			p.refs = append(p.refs, refs(r)...)
		}
		p.target = strings.Join(targets, ", ")
		out = append(out, p)
	}
	return out
}

// allowsStart reports whether policies hold a Statement allowing
// states:StartExecution on exactly the resource arn.
func allowsStart(list, arn *yaml.Node) bool {
	if list == nil {
		return false
	}
	for _, item := range list.Content {
		st := get(item, "Statement")
		if st == nil {
			continue
		}
		for _, stmt := range st.Content {
			action, resource := get(stmt, "Action"), get(stmt, "Resource")
			if action == nil || resource == nil || target(resource) != target(arn) {
				continue
			}
			for _, a := range append([]*yaml.Node{action}, action.Content...) {
				if a.Kind == yaml.ScalarNode && a.Value == "states:StartExecution" {
					return true
				}
			}
		}
	}
	return false
}

// target names what an intrinsic value points at, so that values that
// denote one resource compare equal: !Ref X, !GetAtt X.Arn and
// !GetAtt X.Name are all "X"; !If keeps its condition and both branches.
func target(n *yaml.Node) string {
	if n == nil {
		return "(nothing)"
	}
	tag, v := intrinsic(n)
	switch tag {
	case "Ref":
		return scalar(v)
	case "GetAtt":
		if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
			return scalar(v.Content[0])
		}
		res, _, _ := strings.Cut(scalar(v), ".")
		return res
	case "If":
		if v.Kind == yaml.SequenceNode && len(v.Content) == 3 {
			return "If(" + scalar(v.Content[0]) + ", " + target(v.Content[1]) + ", " + target(v.Content[2]) + ")"
		}
	case "":
		if n.Kind == yaml.ScalarNode {
			return fmt.Sprintf("%q", n.Value)
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.Encode(n)
	return strings.TrimSpace(b.String())
}

// refs lists the logical ids and parameters a value refers to.
func refs(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	tag, v := intrinsic(n)
	switch tag {
	case "Ref", "GetAtt":
		if t := target(n); !strings.HasPrefix(t, "AWS::") {
			return []string{t}
		}
		return nil
	case "If":
		if v.Kind == yaml.SequenceNode && len(v.Content) == 3 {
			return append(refs(v.Content[1]), refs(v.Content[2])...)
		}
	case "Sub":
		var out []string
		for _, m := range regexp.MustCompile(`\$\{([^}!.]+)[^}]*\}`).FindAllStringSubmatch(scalar(v), -1) {
			if !strings.HasPrefix(m[1], "AWS::") {
				out = append(out, m[1])
			}
		}
		return out
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, refs(c)...)
	}
	return out
}

// intrinsic reads a CloudFormation function in its short form (!Ref X, a
// YAML tag) or long form ({Ref: X}, {Fn::GetAtt: …}), returning its name
// without the Fn:: prefix and its argument.
func intrinsic(n *yaml.Node) (string, *yaml.Node) {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return strings.TrimPrefix(n.Tag, "!"), n
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		if k := n.Content[0].Value; k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return strings.TrimPrefix(k, "Fn::"), n.Content[1]
		}
	}
	return "", n
}

func isGetAttArn(n *yaml.Node) bool {
	tag, v := intrinsic(n)
	if tag != "GetAtt" {
		return false
	}
	if v.Kind == yaml.SequenceNode {
		return len(v.Content) == 2 && scalar(v.Content[1]) == "Arn"
	}
	_, attr, _ := strings.Cut(scalar(v), ".")
	return attr == "Arn"
}

// resourceType is the Type of the resource id, "Parameter" for a
// parameter, or "undefined".
func resourceType(root *yaml.Node, id string) string {
	if t := scalar(get(root, "Resources", id, "Type")); t != "" {
		return t
	}
	if get(root, "Parameters", id) != nil {
		return "Parameter"
	}
	return "undefined"
}

// effective is the function's own property, else the Globals one.
func effective(props, globals *yaml.Node, key string) *yaml.Node {
	if v := get(props, key); v != nil {
		return v
	}
	return get(globals, key)
}

// get follows mapping keys from n; nil when any is missing.
func get(n *yaml.Node, path ...string) *yaml.Node {
	for _, key := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// keys lists a mapping's keys, sorted.
func keys(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	slices.Sort(out)
	return out
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func scalars(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, scalar(c))
	}
	return out
}

func describe(n *yaml.Node) string {
	if n == nil {
		return "not set"
	}
	if tag, _ := intrinsic(n); tag != "" {
		return "!" + tag + " " + target(n)
	}
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", n.Value)
	}
	return target(n)
}

// diff returns what want has and got lacks, and what got has beyond want.
func diff(want, got []string) (missing, extra []string) {
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

func exported(name string) string {
	if name == "" {
		return ""
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// parseMakefile finds the targets, each target's recipe and the simple
// variable assignments.
func parseMakefile(src string) (targets map[string]bool, recipes, vars map[string]string) {
	targets, recipes, vars = map[string]bool{}, map[string]string{}, map[string]string{}
	var current []string
	for line := range strings.Lines(src) {
		line = strings.TrimRight(line, "\n")
		if strings.HasPrefix(line, "\t") {
			for _, t := range current {
				recipes[t] += line + "\n"
			}
			continue
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		current = nil
		if m := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(?::=|\?=|\+=|=)\s*(.*)$`).FindStringSubmatch(line); m != nil {
			vars[m[1]] = m[2]
			continue
		}
		if before, _, ok := strings.Cut(line, ":"); ok {
			current = strings.Fields(before)
			for _, t := range current {
				targets[t] = true
			}
		}
	}
	return targets, recipes, vars
}

// TestTemplateCheckCatchesMismatches runs the check on mutated copies of
// the project: each mutation must be reported, exactly as said here.
func TestTemplateCheckCatchesMismatches(t *testing.T) {
	const (
		upstreamSecret = "If(CreateUpstreamKeySecret, UpstreamKeySecret, UpstreamKeySecretArn)"
		asl            = "statemachine/video_job.asl.json"
	)
	base := loadProject(t)
	baseline := base.check()
	// What the messages name that changes as functions are added.
	ids := functionIDs(base)
	var names, renamed []string
	for _, id := range ids {
		name := strings.ToLower(strings.TrimSuffix(id, "Function"))
		names = append(names, name)
		if name == "fail" {
			name = "record"
		}
		renamed = append(renamed, name)
	}
	slices.Sort(renamed)
	_, _, vars := parseMakefile(base.makefile)
	functionsVar := vars["FUNCTIONS"]
	withoutFail := strings.Join(slices.DeleteFunc(strings.Fields(functionsVar), func(f string) bool { return f == "fail" }), " ")
	testMutations(t, (*project).check, baseline, []mutation{
		{
			name: "a variable the function reads is missing",
			mutate: func(t *testing.T, p *project) {
				deleteKey(p.resource("SubmitFunction", "Properties", "Environment", "Variables"), lambdafn.EnvUpstreamSecret)
			},
			want: []string{
				`SubmitFunction: environment variable names differ from lambdafn.Required("submit"): missing from template.yaml: [AIMLAPI_KEY_SECRET]`,
				"SubmitFunction: has AWSSecretsManagerGetSecretValuePolicy on " + upstreamSecret + ", which none of its environment variables names",
			},
		},
		{
			name: "a variable the function does not read",
			mutate: func(t *testing.T, p *project) {
				setKey(p.resource("FailFunction", "Properties", "Environment", "Variables"), "VIDGEN_DEBUG", parseYAML(t, `"1"`))
			},
			want: []string{
				`FailFunction: environment variable names differ from lambdafn.Required("fail"): set by template.yaml but not in lambdafn.Required: [VIDGEN_DEBUG]`,
			},
		},
		{
			name: "lambdafn requires a variable the template does not set",
			mutate: func(t *testing.T, p *project) {
				p.required = func(fn string) []string {
					if fn == "poll" {
						return append(lambdafn.Required(fn), "VIDGEN_NEW")
					}
					return lambdafn.Required(fn)
				}
			},
			want: []string{
				`PollFunction: environment variable names differ from lambdafn.Required("poll"): missing from template.yaml: [VIDGEN_NEW]`,
			},
		},
		{
			name: "a policy on a resource the function does not use",
			mutate: func(t *testing.T, p *project) {
				appendItem(p.resource("FailFunction", "Properties", "Policies"),
					parseYAML(t, "AWSSecretsManagerGetSecretValuePolicy:\n  SecretArn: !Ref CursorSecret"))
			},
			want: []string{
				"FailFunction: has AWSSecretsManagerGetSecretValuePolicy on CursorSecret, which none of its environment variables names",
				"FailFunction: grants secretsmanager:GetSecretValue CursorSecret, which is not in its allowed list (what its code calls)",
			},
		},
		{
			name: "a statement on a resource the function does not use",
			mutate: addPolicy("FailFunction", `Statement:
  - Effect: Allow
    Action: [states:DescribeExecution, states:StopExecution]
    Resource: !Sub "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${VideoJobStateMachine.Name}:*"`),
			want: []string{
				`FailFunction: has a Statement on !Sub "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${VideoJobStateMachine.Name}:*", beyond what its environment variables name ([JobsTable])`,
				"FailFunction: grants states:DescribeExecution execution:${VideoJobStateMachine.Name}:*, which is not in its allowed list (what its code calls)",
				"FailFunction: grants states:StopExecution execution:${VideoJobStateMachine.Name}:*, which is not in its allowed list (what its code calls)",
			},
		},
		{
			name:   "a statement on everything",
			mutate: addPolicy("PollFunction", "Statement:\n  - Effect: Allow\n    Action: dynamodb:DescribeTable\n    Resource: \"*\""),
			want: []string{
				"PollFunction: has a Statement on *, beyond what its environment variables name ([EventBusName ImagesBucket JobsTable MaxInFlight MaxInFlightPerTenant PollIntervalSeconds UpstreamBaseUrl UpstreamKeySecret UpstreamKeySecretArn VideoHosts])",
				"PollFunction: grants dynamodb:DescribeTable *, which is not in its allowed list (what its code calls)",
			},
		},
		{
			name: "a grant of the allowed list said twice is fine",
			mutate: addPolicy("ApiFunction", `Statement:
  - Effect: Allow
    Action: [dynamodb:GetItem]
    Resource: [!GetAtt JobsTable.Arn]`),
			want: nil,
		},
		{
			name: "a statement on what the function uses, beyond what it calls",
			mutate: addPolicy("ApiFunction", `Statement:
  - Effect: Allow
    Action: states:DescribeExecution
    Resource: !Sub "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${VideoJobStateMachine.Name}:*"`),
			want: []string{"ApiFunction: grants states:DescribeExecution execution:${VideoJobStateMachine.Name}:*, which is not in its allowed list (what its code calls)"},
		},
		{
			name:   "SAM's CRUD template grants what no function calls",
			mutate: addPolicy("FailFunction", "DynamoDBCrudPolicy:\n  TableName: !Ref JobsTable"),
			want: append(eachFunction([]string{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
				"dynamodb:DescribeTable", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan"}, "FailFunction: grants %s JobsTable, which is not in its allowed list (what its code calls)"),
				"FailFunction: has DynamoDBCrudPolicy on JobsTable, which none of its environment variables names"),
		},
		{
			name:   "a managed policy",
			mutate: addPolicy("FailFunction", "AmazonDynamoDBFullAccess"),
			want: []string{
				"FailFunction: attaches the managed policy AmazonDynamoDBFullAccess; grant exactly what the code calls in a Statement",
				"FailFunction: has AmazonDynamoDBFullAccess on *, which none of its environment variables names",
			},
		},
		{
			name: "a grant the code needs is missing",
			mutate: func(t *testing.T, p *project) {
				setKey(p.resource("WebhookFunction", "Properties", "Policies").Content[0], "Statement", parseYAML(t, `- Effect: Allow
  Action: dynamodb:Query
  Resource: !Sub ${JobsTable.Arn}/index/*`))
			},
			want: []string{
				"WebhookFunction: grants dynamodb:Query JobsTable/index/*, which is not in its allowed list (what its code calls)",
				"WebhookFunction: its allowed list has dynamodb:GetItem JobsTable, which its policies do not grant",
			},
		},
		{
			name: "the api function cannot start executions",
			mutate: func(t *testing.T, p *project) {
				removeItems(p.resource("ApiFunction", "Properties", "Policies"), "StepFunctionsExecutionPolicy")
			},
			want: []string{
				"ApiFunction: reads VIDGEN_STATE_MACHINE_ARN (VideoJobStateMachine) but has no StepFunctionsExecutionPolicy on it",
				"ApiFunction: its allowed list has states:StartExecution VideoJobStateMachine, which its policies do not grant",
			},
		},
		{
			name: "a policy on another secret than the function reads",
			mutate: func(t *testing.T, p *project) {
				pol := p.resource("PollFunction", "Properties", "Policies")
				removeItems(pol, "AWSSecretsManagerGetSecretValuePolicy")
				appendItem(pol, parseYAML(t, "AWSSecretsManagerGetSecretValuePolicy:\n  SecretArn: !Ref UpstreamKeySecretArn"))
			},
			want: []string{
				"PollFunction: reads AIMLAPI_KEY_SECRET (" + upstreamSecret + ") but has no AWSSecretsManagerGetSecretValuePolicy on it",
				"PollFunction: has AWSSecretsManagerGetSecretValuePolicy on UpstreamKeySecretArn, which none of its environment variables names",
				"PollFunction: grants secretsmanager:GetSecretValue UpstreamKeySecretArn, which is not in its allowed list (what its code calls)",
				"PollFunction: its allowed list has secretsmanager:GetSecretValue " + upstreamSecret + ", which its policies do not grant",
			},
		},
		{
			name:   "a table variable that names no table",
			mutate: setProperty("FailFunction", "Environment", "Variables:\n  VIDGEN_TABLE: !Ref CursorSecret"),
			want: []string{
				"FailFunction: VIDGEN_TABLE names CursorSecret, a AWS::SecretsManager::Secret; want a AWS::DynamoDB::Table",
				"FailFunction: has a Statement on JobsTable, beyond what its environment variables name ([CursorSecret])",
			},
		},
		{
			name:   "a table named by the stage",
			mutate: setProperty("JobsTable", "TableName", "!Sub vidgen-${Stage}-jobs"),
			want:   []string{`JobsTable: TableName !Sub "vidgen-${Stage}-jobs" does not derive from the stack name; use !Sub ${AWS::StackName}-… or leave it to CloudFormation`},
		},
		{
			name:   "a fixed name",
			mutate: setProperty("VideoJobLogGroup", "LogGroupName", "/aws/vendedlogs/states/vidgen-video-job"),
			want:   []string{`VideoJobLogGroup: LogGroupName "/aws/vendedlogs/states/vidgen-video-job" does not derive from the stack name; use !Sub ${AWS::StackName}-… or leave it to CloudFormation`},
		},
		{
			name:   "a kept table named by the stack alone",
			mutate: setProperty("KeysTable", "TableName", "!Sub ${AWS::StackName}-api-keys"),
			want:   []string{`KeysTable: is kept after its stack is deleted, so TableName !Sub "${AWS::StackName}-api-keys" would clash with a stack made again under the same name; leave it to CloudFormation or add the stack id`},
		},
		{
			name:   "a kept secret named by the stack alone",
			mutate: setProperty("WebhookSecret", "Name", "!Sub ${AWS::StackName}/webhook-key"),
			want:   []string{`WebhookSecret: is kept after its stack is deleted, so Name !Sub "${AWS::StackName}/webhook-key" would clash with a stack made again under the same name; leave it to CloudFormation or add the stack id`},
		},
		{
			name: "a table deleted with its stack",
			mutate: func(t *testing.T, p *project) {
				setKey(p.resource("JobsTable"), "DeletionPolicy", parseYAML(t, "Delete"))
				setKey(p.resource("ImagesBucket"), "UpdateReplacePolicy", parseYAML(t, "Delete"))
			},
			want: []string{
				`JobsTable: holds data but its DeletionPolicy is "Delete"; use RetainExceptOnCreate (or Retain)`,
				"ImagesBucket: is kept when deleted but not when replaced; set UpdateReplacePolicy: Retain",
			},
		},
		{
			name:   "a state machine named by the stage",
			mutate: setProperty("VideoJobStateMachine", "Name", "!Sub vidgen-${Stage}-video-job"),
			want:   []string{`VideoJobStateMachine: Name !Sub "vidgen-${Stage}-video-job" does not derive from the stack name; use !Sub ${AWS::StackName}-… or leave it to CloudFormation`},
		},
		{
			name: "schedules without a name",
			mutate: func(t *testing.T, p *project) {
				deleteKey(p.resource("BatchSchedule", "Properties"), "Name")
				deleteKey(p.resource("ReconcileFunction", "Properties", "Events", "Schedule", "Properties"), "Name")
			},
			want: []string{
				"BatchSchedule: has no Name; give it one derived from the stack name",
				"ReconcileFunction: event Schedule (ScheduleV2) has Name not set; give it one derived from the stack name",
			},
		},
		{
			name: "an ARN in the aws partition",
			mutate: func(t *testing.T, p *project) {
				setKey(get(p.doc.Content[0], "Outputs", "StateMachineArn"), "Value", parseYAML(t, "arn:aws:states:us-east-1:123456789012:stateMachine:x"))
			},
			want: []string{`Outputs.StateMachineArn.Value: "arn:aws:states:us-east-1:123456789012:stateMachine:x" names the partition; use arn:${AWS::Partition}:… in a !Sub`},
		},
		{
			name: "prod deploys the dev stack",
			mutate: func(t *testing.T, p *project) {
				p.samconfig = strings.ReplaceAll(p.samconfig, `"vidgen-prod"`, `"vidgen-dev"`)
			},
			want: []string{`samconfig.toml: envs dev and prod deploy the same stack "vidgen-dev"`},
		},
		{
			name: "samconfig without prod, and dev without a region",
			mutate: func(t *testing.T, p *project) {
				p.samconfig = regexp.MustCompile(`(?s)\[prod\..*`).ReplaceAllString(p.samconfig, "")
				p.samconfig = regexp.MustCompile(`(?m)^region = .*$`).ReplaceAllString(p.samconfig, "")
			},
			want: []string{
				"samconfig.toml: no [prod.deploy.parameters]: `sam deploy --config-env prod` would deploy nothing it names",
				"samconfig.toml: env dev names no region, so it deploys wherever the shell points",
			},
		},
		{
			name: "the reconciler's parameters do not reach it",
			mutate: func(t *testing.T, p *project) {
				setKey(p.resource("ReconcileFunction", "Properties", "Environment", "Variables"), lambdafn.EnvReconcileGrace, parseYAML(t, "!Ref ReconcileMinAgeSeconds"))
				setKey(p.resource("ReconcileFunction", "Properties", "Events", "Schedule", "Properties"), "ScheduleExpression", parseYAML(t, "rate(5 minutes)"))
				deleteKey(get(p.doc.Content[0], "Parameters", "ReconcileMinAgeSeconds"), "MaxValue")
				setKey(get(p.doc.Content[0], "Parameters", "ReconcileGraceSeconds"), "Default", parseYAML(t, "120"))
			},
			want: []string{
				"ReconcileFunction: VIDGEN_RECONCILE_GRACE_SECONDS is !Ref ReconcileMinAgeSeconds, want !Ref ReconcileGraceSeconds",
				"ReconcileFunction: no ScheduleV2 event's ScheduleExpression uses ReconcileIntervalMinutes",
				"parameter ReconcileMinAgeSeconds must be a Number with MinValue and MaxValue",
				"parameter ReconcileGraceSeconds has Default 120, want 300 within [MinValue, MaxValue]",
			},
		},
		{
			name:   "wrong architecture",
			mutate: setProperty("PollFunction", "Architectures", "[x86_64]"),
			want:   []string{"PollFunction: Architectures is [x86_64] (from Properties or Globals), want [arm64]"},
		},
		{
			name:   "wrong handler",
			mutate: setProperty("SubmitFunction", "Handler", "main"),
			want:   []string{`SubmitFunction: Handler is "main" (from Properties or Globals), want "bootstrap"`},
		},
		{
			name: "wrong runtime in Globals",
			mutate: func(t *testing.T, p *project) {
				setKey(get(p.doc.Content[0], "Globals", "Function"), "Runtime", parseYAML(t, "provided.al2"))
			},
			want: eachFunction(ids, `%s: Runtime is "provided.al2" (from Properties or Globals), want "provided.al2023"`),
		},
		{
			name: "not built by the Makefile",
			mutate: func(t *testing.T, p *project) {
				deleteKey(p.resource("FailFunction"), "Metadata")
			},
			want: []string{`FailFunction: Metadata.BuildMethod is not set, want "makefile"`},
		},
		{
			name: "no Makefile target",
			mutate: func(t *testing.T, p *project) {
				p.makefile = strings.Replace(p.makefile, " build-FailFunction", "", 1)
			},
			want: []string{"FailFunction: the Makefile has no build-FailFunction target, which sam build runs for BuildMethod makefile"},
		},
		{
			name: "the Makefile's FUNCTIONS misses one",
			mutate: func(t *testing.T, p *project) {
				p.makefile = regexp.MustCompile(`(?m)^FUNCTIONS\s*:=.*$`).ReplaceAllString(p.makefile, "FUNCTIONS := "+withoutFail)
			},
			want: []string{fmt.Sprintf(`the Makefile's FUNCTIONS = %q differs from the template's functions %v: lacks [fail], has besides []`, withoutFail, names)},
		},
		{
			name: "a function without its directory",
			mutate: func(t *testing.T, p *project) {
				renameKey(get(p.doc.Content[0], "Resources"), "FailFunction", "RecordFunction")
			},
			want: []string{
				"RecordFunction: functions/record/main.go does not exist",
				"RecordFunction: the allowed list in deploy_test.go has no line for functions/record: list what its code calls",
				`RecordFunction: lambdafn.Required("record") lists no variables: lambdafn does not know functions/record`,
				"RecordFunction: the Makefile has no build-RecordFunction target, which sam build runs for BuildMethod makefile",
				"functions/fail has no AWS::Serverless::Function FailFunction in template.yaml",
				fmt.Sprintf(`the Makefile's FUNCTIONS = %q differs from the template's functions %v: lacks [record], has besides [fail]`, functionsVar, renamed),
				"VideoJobStateMachine: substitution FailFunctionArn names FailFunction, which template.yaml does not define",
				"VideoJobStateMachine: has a LambdaInvokePolicy for FailFunction, which none of its states invokes",
			},
		},
		{
			name: "the definition uses a variable with no substitution",
			mutate: func(t *testing.T, p *project) {
				p.editFile(t, asl, "${FailFunctionArn}", "${RecordFunctionArn}")
			},
			want: []string{
				"VideoJobStateMachine: " + asl + " uses ${RecordFunctionArn}, which DefinitionSubstitutions does not define",
				"VideoJobStateMachine: DefinitionSubstitutions defines FailFunctionArn, which " + asl + " does not use",
				"VideoJobStateMachine: has a LambdaInvokePolicy for FailFunction, which none of its states invokes",
			},
		},
		{
			name: "a substitution the definition does not use",
			mutate: func(t *testing.T, p *project) {
				setKey(p.resource("VideoJobStateMachine", "Properties", "DefinitionSubstitutions"), "TableName", parseYAML(t, "!Ref JobsTable"))
			},
			want: []string{"VideoJobStateMachine: DefinitionSubstitutions defines TableName, which " + asl + " does not use"},
		},
		{
			name: "a function invoked without a policy",
			mutate: func(t *testing.T, p *project) {
				removeItems(p.resource("VideoJobStateMachine", "Properties", "Policies"), "LambdaInvokePolicy", "PollFunction")
			},
			want: []string{"VideoJobStateMachine: states [Follow Poll] invoke PollFunction but the machine has no LambdaInvokePolicy for it"},
		},
		{
			name:   "a policy for a function never invoked",
			mutate: addPolicy("VideoJobStateMachine", "LambdaInvokePolicy:\n  FunctionName: !Ref ApiFunction"),
			want:   []string{"VideoJobStateMachine: has a LambdaInvokePolicy for ApiFunction, which none of its states invokes"},
		},
		{
			name: "a substitution that is a function's name, not its ARN",
			mutate: func(t *testing.T, p *project) {
				setKey(p.resource("VideoJobStateMachine", "Properties", "DefinitionSubstitutions"), "SubmitFunctionArn", parseYAML(t, "!Ref SubmitFunction"))
			},
			want: []string{"VideoJobStateMachine: substitution SubmitFunctionArn is !Ref SubmitFunction, which is not the function's ARN; use !GetAtt SubmitFunction.Arn"},
		},
		{
			name: "a function invoked by a fixed ARN",
			mutate: func(t *testing.T, p *project) {
				p.editFile(t, asl, "${PollFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:poll")
			},
			want: []string{
				"VideoJobStateMachine: DefinitionSubstitutions defines PollFunctionArn, which " + asl + " does not use",
				"VideoJobStateMachine: state Follow invokes Lambda function arn:aws:lambda:us-east-1:123456789012:function:poll by a fixed ARN; name it through DefinitionSubstitutions",
				"VideoJobStateMachine: state Poll invokes Lambda function arn:aws:lambda:us-east-1:123456789012:function:poll by a fixed ARN; name it through DefinitionSubstitutions",
				"VideoJobStateMachine: has a LambdaInvokePolicy for PollFunction, which none of its states invokes",
			},
		},
	})
}

// resource follows path below Resources.<id>.
func (p *project) resource(id string, path ...string) *yaml.Node {
	n := get(p.doc.Content[0], append([]string{"Resources", id}, path...)...)
	if n == nil {
		panic(fmt.Sprintf("template.yaml has no Resources.%s.%s", id, strings.Join(path, ".")))
	}
	return n
}

// editFile makes the project see name with old replaced by new.
func (p *project) editFile(t *testing.T, name, old, new string) {
	t.Helper()
	b, err := fs.ReadFile(p.files, name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", name, old)
	}
	p.files = overlay{base: p.files, over: fstest.MapFS{name: {Data: bytes.ReplaceAll(b, []byte(old), []byte(new))}}}
}

// overlay is base with some files replaced.
type overlay struct {
	base fs.FS
	over fstest.MapFS
}

func (o overlay) Open(name string) (fs.File, error) {
	if _, ok := o.over[name]; ok {
		return o.over.Open(name)
	}
	return o.base.Open(name)
}

func parseYAML(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil || len(doc.Content) != 1 {
		t.Fatalf("parse %q: %v", src, err)
	}
	return doc.Content[0]
}

// setProperty is a mutation that sets one property of one resource to the
// YAML value.
func setProperty(resource, key, value string) func(*testing.T, *project) {
	return func(t *testing.T, p *project) { setKey(p.resource(resource, "Properties"), key, parseYAML(t, value)) }
}

// addPolicy is a mutation that adds the YAML policy to a function's
// Policies.
func addPolicy(function, policy string) func(*testing.T, *project) {
	return func(t *testing.T, p *project) {
		appendItem(p.resource(function, "Properties", "Policies"), parseYAML(t, policy))
	}
}

func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = slices.Delete(m.Content, i, i+2)
			return
		}
	}
	panic("no key " + key)
}

func renameKey(m *yaml.Node, from, to string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == from {
			m.Content[i].Value = to
			return
		}
	}
	panic("no key " + from)
}

func appendItem(seq, item *yaml.Node) { seq.Content = append(seq.Content, item) }

// removeItems drops the policies of a template, on one target if given.
func removeItems(seq *yaml.Node, template string, on ...string) {
	n := len(seq.Content)
	seq.Content = slices.DeleteFunc(seq.Content, func(item *yaml.Node) bool {
		pols := policies(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{item}})
		return len(pols) == 1 && pols[0].template == template && (len(on) == 0 || pols[0].target == on[0])
	})
	if len(seq.Content) == n {
		panic("no " + template + " policy to remove")
	}
}

// functionIDs lists the template's functions.
func functionIDs(p *project) []string {
	resources := get(p.doc.Content[0], "Resources")
	var ids []string
	for _, id := range keys(resources) {
		if scalar(get(resources, id, "Type")) == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	return ids
}

// eachFunction formats one message per function id.
func eachFunction(ids []string, format string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf(format, id))
	}
	return out
}
