package lambdafn_test

// The docs point a newcomer at the code by path; these tests keep those
// pointers true as the tree moves (issue 15). They live here because this
// package's tests already hold the repository's files (template, Makefile,
// docs/operations.md) to the code.

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

var (
	// docPath is a repository path written in prose or code spans: it
	// starts at a top-level directory that holds code and ends on a word
	// character, so "internal/job." at a sentence's end and
	// "functions/<fn>/main.go" (a pattern) are read as "internal/job" and
	// nothing. A path inside a URL or after another path segment is not one.
	docPath = regexp.MustCompile(`(?:^|[^\w/.-])((?:internal|functions|cmd|statemachine|scripts|events|docs|webhook)/[\w./-]*\w)`)
	// docLink is a Markdown link's target.
	docLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// goSymbol ends a path that names a declaration: internal/job.Change.
	goSymbol = regexp.MustCompile(`\.[A-Z]\w*$`)
)

// stalePaths reports each path and relative link in README.md and
// docs/*.md that names nothing in files, the repository root.
func stalePaths(files fs.FS) []string {
	docs, _ := fs.Glob(files, "docs/*.md")
	docs = append([]string{"README.md"}, docs...)
	var problems []string
	for _, doc := range docs {
		b, err := fs.ReadFile(files, doc)
		if err != nil {
			problems = append(problems, fmt.Sprintf("read %s: %v", doc, err))
			continue
		}
		for n, line := range strings.Split(string(b), "\n") {
			for _, m := range docPath.FindAllStringSubmatchIndex(line, -1) {
				p := line[m[2]:m[3]]
				if strings.HasSuffix(line[:m[2]], "](") {
					continue // a link's target, checked below
				}
				if !exists(files, p) && !exists(files, goSymbol.ReplaceAllString(p, "")) {
					problems = append(problems, fmt.Sprintf("%s:%d: names %s, which does not exist", doc, n+1, p))
				}
			}
			for _, m := range docLink.FindAllStringSubmatch(line, -1) {
				target, _, _ := strings.Cut(m[1], "#")
				if target == "" || strings.Contains(target, ":") {
					continue // an anchor in the same page, or a URL
				}
				if p := path.Join(path.Dir(doc), target); !exists(files, p) {
					problems = append(problems, fmt.Sprintf("%s:%d: links to %s, which does not exist", doc, n+1, target))
				}
			}
		}
	}
	return problems
}

func exists(files fs.FS, p string) bool {
	if !fs.ValidPath(p) {
		return false
	}
	_, err := fs.Stat(files, p)
	return err == nil
}

func TestDocsNameRealPaths(t *testing.T) {
	for _, problem := range stalePaths(os.DirFS("../..")) {
		t.Error(problem)
	}
}

// TestStalePathsNotices shows that the check above can fail: it finds each
// kind of stale pointer and passes the forms that are not paths.
func TestStalePathsNotices(t *testing.T) {
	files := fstest.MapFS{
		"README.md": {Data: []byte("Wiring is in `internal/awsenv` (gone); the domain is internal/job.\n" +
			"See [the design](docs/design.md), [gone](docs/old.md#top) and [AWS](https://docs.aws.amazon.com/step-functions/latest/dg/x.html).\n")},
		"docs/design.md": {Data: []byte("Changes are `internal/job.Change`s; each `functions/<fn>/main.go` wires.\n" +
			"[Home](../README.md), [code](../internal/job/job.go), [lost](../internal/steps/policy.go), [here](#shape).\n" +
			"The old file internal/steps/policy.go:80 and cmd/vidgen-local.\n")},
		"internal/job/job.go": {},
	}
	want := []string{
		"README.md:1: names internal/awsenv, which does not exist",
		"README.md:2: links to docs/old.md, which does not exist",
		"docs/design.md:2: links to ../internal/steps/policy.go, which does not exist",
		"docs/design.md:3: names internal/steps/policy.go, which does not exist",
		"docs/design.md:3: names cmd/vidgen-local, which does not exist",
	}
	if got := stalePaths(files); !slices.Equal(got, want) {
		t.Errorf("stalePaths:\n got %q\nwant %q", got, want)
	}
}
