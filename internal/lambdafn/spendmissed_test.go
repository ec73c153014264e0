package lambdafn_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/metrics"
)

// TestSpendMissedCounts checks that the hook the functions give their
// stores counts each miss in SpendCountersMissed, which the alarm
// <stack>-spend-counter-missed watches.
func TestSpendMissedCounts(t *testing.T) {
	reg := metrics.NewRegistry()
	missed := lambdafn.SpendMissed(metrics.New("test", reg, nil))
	missed("j1")
	missed("j2")
	if v, _ := reg.Value(metrics.SpendCountersMissed, "test"); v != 2 {
		t.Fatalf("SpendCountersMissed = %v after two misses, want 2", v)
	}
}

// TestEveryStoreReportsSpendMisses reads the functions' wiring for every
// dynamostore.Config they build: each must set Log and SpendMissed, or a
// function's jobs could miss their spend counter with no log line or no
// metric, and the alarm would never ring for them.
func TestEveryStoreReportsSpendMisses(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("*", "*.go"))
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
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Config" {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "dynamostore" {
				return true
			}
			found++
			set := map[string]bool{}
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok {
						set[k.Name] = true
					}
				}
			}
			for _, want := range []string{"Log", "SpendMissed"} {
				if !set[want] {
					t.Errorf("%s: a dynamostore.Config without %s", fset.Position(lit.Pos()), want)
				}
			}
			return true
		})
	}
	// failfn, finishfn, pollfn, reconcilefn, submitfn, webhookfn, intake.
	if found < 7 {
		t.Errorf("found %d dynamostore.Config literals under internal/lambdafn, want at least the 7 known today", found)
	}
}
