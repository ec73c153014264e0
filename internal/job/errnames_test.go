package job_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/job/jobtest"
)

// root is the repository's root, from this package's directory.
var root = filepath.Join("..", "..")

// aslErrorNames reads every error name the state machines use: the names in
// Retry and Catch ErrorEquals, Fail states' Error, and the strings Choice
// states compare an error name with (a Variable ending in .Error or .error).
// It maps each name to where it is used.
func aslErrorNames(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "statemachine", "*.asl.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no state machines found: %v", err)
	}
	used := map[string][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var def map[string]any
		if err := json.Unmarshal(data, &def); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		collectStates(filepath.Base(f), def, used)
	}
	return used
}

// collectStates walks a state machine (or a Map's or Parallel's inner one).
func collectStates(where string, machine map[string]any, used map[string][]string) {
	states, _ := machine["States"].(map[string]any)
	for name, v := range states {
		s, _ := v.(map[string]any)
		at := where + ":" + name
		for _, field := range []string{"Retry", "Catch"} {
			rules, _ := s[field].([]any)
			for _, r := range rules {
				rule, _ := r.(map[string]any)
				names, _ := rule["ErrorEquals"].([]any)
				for _, n := range names {
					used[fmt.Sprint(n)] = append(used[fmt.Sprint(n)], at+" "+field)
				}
			}
		}
		if e, ok := s["Error"].(string); ok && s["Type"] == "Fail" {
			used[e] = append(used[e], at+" Error")
		}
		choices, _ := s["Choices"].([]any)
		for _, c := range choices {
			collectChoice(at, c, used)
		}
		for _, inner := range []string{"Iterator", "ItemProcessor"} {
			if m, ok := s[inner].(map[string]any); ok {
				collectStates(where, m, used)
			}
		}
		branches, _ := s["Branches"].([]any)
		for _, b := range branches {
			if m, ok := b.(map[string]any); ok {
				collectStates(where, m, used)
			}
		}
	}
}

// collectChoice finds string comparisons of an error name in a Choice rule.
func collectChoice(at string, v any, used map[string][]string) {
	rule, _ := v.(map[string]any)
	for _, op := range []string{"And", "Or"} {
		inner, _ := rule[op].([]any)
		for _, r := range inner {
			collectChoice(at, r, used)
		}
	}
	if r, ok := rule["Not"]; ok {
		collectChoice(at, r, used)
	}
	variable, _ := rule["Variable"].(string)
	if !strings.HasSuffix(variable, ".Error") && !strings.HasSuffix(variable, ".error") {
		return
	}
	for op, val := range rule {
		if s, ok := val.(string); ok && strings.HasPrefix(op, "String") && !strings.HasSuffix(op, "Path") {
			used[s] = append(used[s], at+" Choice")
		}
	}
}

// The state machines match and report only names in the contract or names
// AWS defines: a Retry on a name nothing returns would never fire.
func TestStateMachinesUseOnlyDeclaredErrorNames(t *testing.T) {
	used := aslErrorNames(t)
	for _, want := range []string{job.ErrorTypeTransient, job.ErrorTypeValidation, job.ErrNameCancelled, job.StateErrInvalidBatch} {
		if used[want] == nil {
			t.Errorf("the reader found no use of %s: it misses a place the state machines name errors", want)
		}
	}
	for name, where := range used {
		if _, ok := job.LookupErrorName(name); !ok && !job.AWSErrorName(name) {
			t.Errorf("%q (used at %v) is neither in job.ErrorNames nor defined by AWS", name, where)
		}
	}
}

// Every name in the contract is used: by a state machine, or by the code
// that gives it (a job error name's constant used outside package job, a
// Lambda error's Go type declared).
func TestEveryDeclaredErrorNameIsUsed(t *testing.T) {
	used := aslErrorNames(t)
	consts, refs, types := scanCode(t)
	seen := map[string]bool{}
	for _, n := range job.ErrorNames() {
		if seen[n.Name] {
			t.Errorf("%q is in job.ErrorNames twice", n.Name)
		}
		seen[n.Name] = true
		if job.AWSErrorName(n.Name) {
			t.Errorf("%q is AWS's name, not vidgen's", n.Name)
		}
		if n.Source == job.FromLambda && !types[n.Name] {
			t.Errorf("%q: no Go type of that name is declared, so no function can return it", n.Name)
		}
		if used[n.Name] != nil {
			continue
		}
		switch n.Source {
		case job.FromJob:
			ident := consts[n.Name]
			if ident == "" || refs[ident] == 0 {
				t.Errorf("%q: no state machine names it and its constant (%q) is used nowhere outside package job", n.Name, ident)
			}
		case job.FromLambda:
			// Declared above; its type is what the function returns.
		default:
			t.Errorf("%q: a state machine's own name that no state machine uses", n.Name)
		}
	}
}

// scanCode reads the module's non-test Go source: package job's string
// constants by value, how often each job.X is referenced outside package
// job, and the names of the declared types.
func scanCode(t *testing.T) (consts map[string]string, refs map[string]int, types map[string]bool) {
	t.Helper()
	consts, refs, types = map[string]string{}, map[string]int{}, map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "node_modules" || n == "testdata" || (strings.HasPrefix(n, ".") && path != root) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		inJob := filepath.Dir(path) == filepath.Join(root, "internal", "job")
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.TypeSpec:
				types[n.Name.Name] = true
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if lit, ok := valueAt(n, i).(*ast.BasicLit); inJob && ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						consts[v] = id.Name
					}
				}
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "job" && !inJob {
					refs[n.Sel.Name]++
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return consts, refs, types
}

func valueAt(spec *ast.ValueSpec, i int) ast.Expr {
	if i < len(spec.Values) {
		return spec.Values[i]
	}
	return nil
}

// ValidationError is reported by its type's name, the name in the contract.
func TestValidationErrorReportedName(t *testing.T) {
	_, err := job.ParseRequest([]byte(`{}`), job.ParseOptions{})
	var ve *job.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("ParseRequest({}) = %v, want a *ValidationError", err)
	}
	if got := job.ReportedName(ve); got != job.ErrorTypeValidation {
		t.Errorf("ReportedName(*ValidationError) = %q, want %q", got, job.ErrorTypeValidation)
	}
	if got := job.ReportedName(job.ValidationError{}); got != job.ErrorTypeValidation {
		t.Errorf("ReportedName(ValidationError) = %q, want %q", got, job.ErrorTypeValidation)
	}
	if got := job.ReportedName(nil); got != "nil" {
		t.Errorf("ReportedName(nil) = %q, want nil", got)
	}
}

// TransientError, which the steps and the notifier return, is reported by
// its contract name.
func TestTransientErrorReportedName(t *testing.T) {
	jobtest.WantLambdaErrorNames(t, map[string]error{job.ErrorTypeTransient: &job.TransientError{}})
	cause := errors.New("store down")
	err := error(&job.TransientError{Err: cause})
	if !errors.Is(err, cause) || err.Error() != "transient: store down" {
		t.Errorf("TransientError = %q, want it to wrap %q", err, cause)
	}
}

// Load passes a job and ErrNotFound on as the store gives them, refuses an
// input without an id before asking, and makes any other failure a
// TransientError for the state machine to retry.
func TestLoad(t *testing.T) {
	ctx := t.Context()
	down := errors.New("store down")
	stored := job.Job{ID: "j1", Tenant: "t"}
	get := func(_ context.Context, id string) (job.Job, error) {
		switch id {
		case "j1":
			return stored, nil
		case "missing":
			return job.Job{}, fmt.Errorf("get %s: %w", id, job.ErrNotFound)
		case "":
			t.Error("Load asked the store for an empty id")
		}
		return job.Job{}, down
	}
	if j, err := job.Load(ctx, get, "j1"); err != nil || j.ID != "j1" || j.Tenant != "t" {
		t.Errorf("Load(j1) = %+v, %v; want the stored job", j, err)
	}
	if _, err := job.Load(ctx, get, "missing"); !errors.Is(err, job.ErrNotFound) || errors.As(err, new(*job.TransientError)) {
		t.Errorf("Load(missing) = %v; want ErrNotFound, not transient", err)
	}
	if _, err := job.Load(ctx, get, "other"); !errors.Is(err, down) || !errors.As(err, new(*job.TransientError)) {
		t.Errorf("Load(other) = %v; want a TransientError wrapping %v", err, down)
	}
	if _, err := job.Load(ctx, get, ""); err == nil || errors.As(err, new(*job.TransientError)) {
		t.Errorf("Load(\"\") = %v; want an error that is not transient", err)
	}
}

func TestAWSErrorName(t *testing.T) {
	for name, want := range map[string]bool{
		"States.ALL": true, "States.TaskFailed": true, "Lambda.Unknown": true, "Sandbox.Timedout": true,
		"StepFunctions.ExecutionAlreadyExistsException": true,
		"TransientError": false, "Sandbox.Other": false, "States": false, "TimedOut": false,
	} {
		if got := job.AWSErrorName(name); got != want {
			t.Errorf("AWSErrorName(%q) = %v, want %v", name, got, want)
		}
	}
	if !slices.ContainsFunc(job.ErrorNames(), func(n job.ErrorName) bool { return n.Name == job.ErrNameTimedOut }) {
		t.Error("ErrorNames lacks TimedOut")
	}
}
