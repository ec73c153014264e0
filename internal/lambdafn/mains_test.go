package lambdafn_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wiringPackage is the package that builds function fn's handler, with
// only the AWS clients fn calls: internal/lambdafn/<fn>fn.
func wiringPackage(fn string) string {
	return "github.com/vidgen/vidgen/internal/lambdafn/" + fn + "fn"
}

// mainWiring tells what is wrong with a functions/<fn>/main.go, if
// anything: it may only answer -h (lambdafn.ExitOnHelp), build its
// handler with the constructor of its own wiring package (<fn>fn.New),
// stop on its error, and lambda.Start the handler.
func mainWiring(fn, src string) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, fn+"/main.go", src, 0)
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	allowed := []string{"context", "log", "os", "github.com/aws/aws-lambda-go/lambda", "github.com/vidgen/vidgen/internal/lambdafn", wiringPackage(fn)}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); !slices.Contains(allowed, p) {
			bad = append(bad, "imports "+p)
		}
	}
	var body []ast.Stmt
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.Name != "main" {
				bad = append(bad, "declares func "+d.Name.Name)
				continue
			}
			body = d.Body.List
		case *ast.GenDecl:
			if d.Tok != token.IMPORT {
				bad = append(bad, "declares a "+d.Tok.String())
			}
		}
	}
	if len(body) != 4 {
		return append(bad, "main has "+strconv.Itoa(len(body))+" statements, want 4: help, build, check, lambda.Start")
	}
	// -h answers the usage instead of starting the runtime (lambdafn.Help).
	if es, ok := body[0].(*ast.ExprStmt); !ok || callee(es.X) != "lambdafn.ExitOnHelp" || helpArg(es.X) != fn {
		bad = append(bad, `main does not begin with lambdafn.ExitOnHelp("`+fn+`")`)
	}
	want := fn + "fn.New"
	if as, ok := body[1].(*ast.AssignStmt); !ok || len(as.Rhs) != 1 || callee(as.Rhs[0]) != want {
		bad = append(bad, "main does not build its handler with "+want+"(…) second")
	}
	if _, ok := body[2].(*ast.IfStmt); !ok {
		bad = append(bad, "main does not check the constructor's error third")
	}
	if es, ok := body[3].(*ast.ExprStmt); !ok || callee(es.X) != "lambda.Start" {
		bad = append(bad, "main does not end with lambda.Start")
	}
	return bad
}

// helpArg is the string literal ExitOnHelp is called with, else "".
func helpArg(e ast.Expr) string {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 1 {
		return ""
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok {
		return ""
	}
	s, _ := strconv.Unquote(lit.Value)
	return s
}

// callee is pkg.Name of a call of a package's function, else "".
func callee(e ast.Expr) string {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return ""
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return ""
	}
	return pkg.Name + "." + sel.Sel.Name
}

// TestMainsOnlyWire holds every functions/*/main.go to wiring: the typed
// constructor of its function's own wiring package, and nothing of its own.
func TestMainsOnlyWire(t *testing.T) {
	mains, err := filepath.Glob(filepath.Join("..", "..", "functions", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions/*/main.go (%v)", err)
	}
	for _, m := range mains {
		fn := filepath.Base(filepath.Dir(m))
		src, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range mainWiring(fn, string(src)) {
			t.Errorf("functions/%s/main.go %s", fn, b)
		}
	}
}

// The check sees a main that builds another function's handler, or does
// work of its own.
func TestMainsOnlyWireCatches(t *testing.T) {
	good := "package main\n\nimport (\n\t\"context\"\n\t\"log\"\n\t\"os\"\n\n\t\"github.com/aws/aws-lambda-go/lambda\"\n\t\"github.com/vidgen/vidgen/internal/lambdafn\"\n\t\"github.com/vidgen/vidgen/internal/lambdafn/pollfn\"\n)\n\n" +
		"func main() {\n\tlambdafn.ExitOnHelp(\"poll\")\n\th, err := pollfn.New(context.Background(), os.Getenv)\n\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n\tlambda.Start(h)\n}\n"
	if bad := mainWiring("poll", good); len(bad) != 0 {
		t.Fatalf("a wiring main: %v", bad)
	}
	for name, tc := range map[string]struct{ fn, old, new string }{
		"another function's constructor": {"submit", "", ""},
		"work of its own":                {"poll", "\tlambda.Start(h)\n", "\th = nil\n\tlambda.Start(h)\n"},
		"a helper":                       {"poll", "func main() {", "func helper() {}\n\nfunc main() {"},
		"another import":                 {"poll", "\t\"os\"\n", "\t\"os\"\n\t\"time\"\n"},
		"no help":                        {"poll", "\tlambdafn.ExitOnHelp(\"poll\")\n", ""},
		"another function's help":        {"poll", "ExitOnHelp(\"poll\")", "ExitOnHelp(\"submit\")"},
		"another function's wiring":      {"poll", "lambdafn/pollfn\"", "lambdafn/submitfn\""},
		"no lambda.Start":                {"poll", "\tlambda.Start(h)\n", "\tlog.Print(h)\n"},
	} {
		src := strings.Replace(good, tc.old, tc.new, 1)
		if tc.old == "" {
			src = good
		}
		if bad := mainWiring(tc.fn, src); len(bad) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}
