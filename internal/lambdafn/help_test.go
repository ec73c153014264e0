package lambdafn_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/lambdafn"
)

// Every binary of the repository, the Lambda functions and the commands,
// answers -h and --help with its usage and exit 0; a Lambda function says
// what it is and the variables it needs instead of starting the runtime.
func TestEveryBinaryAnswersHelp(t *testing.T) {
	root := filepath.Join("..", "..")
	var pkgs []string
	for _, dir := range []string{"functions", "cmd"} {
		mains, err := filepath.Glob(filepath.Join(root, dir, "*", "main.go"))
		if err != nil || len(mains) == 0 {
			t.Fatalf("no %s/*/main.go (%v)", dir, err)
		}
		for _, m := range mains {
			pkgs = append(pkgs, "./"+dir+"/"+filepath.Base(filepath.Dir(m)))
		}
	}
	bin := t.TempDir()
	build := exec.Command("go", append([]string{"build", "-o", bin + string(filepath.Separator)}, pkgs...)...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, p := range pkgs {
		name := filepath.Base(p)
		for _, h := range []string{"-h", "--help"} {
			var out bytes.Buffer
			cmd := exec.Command(filepath.Join(bin, name), h)
			cmd.Stdout, cmd.Stderr = &out, &out
			// A Lambda binary that started its runtime would fail here
			// for want of AWS_LAMBDA_RUNTIME_API; one that read its
			// environment would fail for want of its variables.
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			err := cmd.Run()
			text := strings.ToLower(out.String())
			if err != nil || !strings.Contains(text, "usage") {
				t.Errorf("%s %s: %v\n%s", name, h, err, out.String())
				continue
			}
			if strings.HasPrefix(p, "./functions/") {
				for _, v := range lambdafn.Required(name) {
					if !strings.Contains(out.String(), v) {
						t.Errorf("%s %s does not name %s", name, h, v)
					}
				}
			}
		}
	}
}

// Help answers only when asked, and describes every function.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if lambdafn.Help("poll", nil, &out) || lambdafn.Help("poll", []string{"x"}, &out) || out.Len() > 0 {
		t.Fatalf("Help answered unasked: %q", out.String())
	}
	for _, fn := range []string{"api", "authorizer", "submit", "poll", "fail", "register", "finish", "webhook", "reconcile", "summarize"} {
		out.Reset()
		if !lambdafn.Help(fn, []string{"-h"}, &out) || strings.Contains(out.String(), " is .") {
			t.Errorf("%s: %q", fn, out.String())
		}
		for _, v := range lambdafn.Required(fn) {
			described := false
			for line := range strings.Lines(out.String()) {
				name, desc, _ := strings.Cut(strings.TrimSpace(line), " ")
				described = described || (name == v && strings.TrimSpace(desc) != "")
			}
			if !described {
				t.Errorf("%s: help does not describe %s:\n%s", fn, v, out.String())
			}
		}
	}
}
