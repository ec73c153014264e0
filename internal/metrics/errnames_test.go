package metrics_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/metrics"
)

// TestErrorDimensionKnowsEveryJobErrorName reads internal/job's source for
// its ErrName constants: a name added there and not to ErrorDimension
// would be counted as Other, and an alarm on it would never fire.
func TestErrorDimensionKnowsEveryJobErrorName(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "job", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range spec.Names {
				if !strings.HasPrefix(id.Name, "ErrName") || i >= len(spec.Values) {
					continue
				}
				lit, ok := spec.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				name, _ := strconv.Unquote(lit.Value)
				found++
				if got := metrics.ErrorDimension(name); got != name {
					t.Errorf("job.%s = %q has Error dimension %q: add it to ErrorDimension", id.Name, name, got)
				}
			}
			return true
		})
	}
	if found < 9 {
		t.Errorf("found %d ErrName constants in internal/job, want at least the 9 known today", found)
	}
}
