package lambdafn_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// awsAdapters are the packages that may import the AWS SDK: the adapters,
// each of which only translates between AWS and a port its consumers own,
// the composition root that builds their clients, and test support.
// Everything else under internal/ decides about jobs and must not.
var awsAdapters = []string{
	"internal/lambdafn",
	// The CLI's composition root: vidgen keys builds the DynamoDB keys
	// store when VIDGEN_KEYS_TABLE names one.
	"internal/cli",
	"internal/sfnexec",
	"internal/eventbus",
	"internal/secret",
	"internal/dynamostore",
	"internal/apikey/dynamokeys",
	"internal/dynamotable",
	"internal/blob/s3blob",
	"internal/awstest",
}

// awsSDK tells whether an import path is part of the AWS SDK for Go.
func awsSDK(path string) bool {
	return strings.HasPrefix(path, "github.com/aws/aws-sdk-go-v2") || strings.HasPrefix(path, "github.com/aws/smithy-go")
}

// TestDomainImportsNoAWS holds every package under internal/ but the
// adapters to importing no AWS SDK package, directly or not, and every
// adapter listed to importing one (so the list names what it should and
// the check sees an import when there is one).
func TestDomainImportsNoAWS(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/vidgen/vidgen/internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/vidgen/vidgen/"
	seen := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		var aws []string
		for _, dep := range fields[1:] {
			if awsSDK(dep) {
				aws = append(aws, dep)
			}
		}
		adapter := slices.Contains(awsAdapters, pkg)
		seen[pkg] = true
		switch {
		case adapter && len(aws) == 0:
			t.Errorf("%s is listed as an AWS adapter but imports no AWS SDK package: take it off awsAdapters", pkg)
		case !adapter && len(aws) > 0:
			t.Errorf("%s imports the AWS SDK (%s): move that piece into an adapter", pkg, strings.Join(aws[:min(len(aws), 3)], ", "))
		}
	}
	for _, a := range awsAdapters {
		if !seen[a] {
			t.Errorf("awsAdapters names %s, which go list does not know", a)
		}
	}
}
