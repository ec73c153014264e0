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
	// Each function's own wiring (TestEachFunctionLinksOnlyItsClients),
	// and the intake the api and register functions share.
	"internal/lambdafn/apifn",
	"internal/lambdafn/authorizerfn",
	"internal/lambdafn/submitfn",
	"internal/lambdafn/pollfn",
	"internal/lambdafn/failfn",
	"internal/lambdafn/registerfn",
	"internal/lambdafn/finishfn",
	"internal/lambdafn/webhookfn",
	"internal/lambdafn/reconcilefn",
	"internal/lambdafn/summarizefn",
	"internal/lambdafn/intake",
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

// functionClients are the AWS service clients each function calls, and so
// the only ones its binary may link: every service package the binary
// imports runs its package initialisers (endpoint tables, schemas) at each
// cold start, whether the function calls it or not.
var functionClients = map[string][]string{
	"api":        {"dynamodb", "s3", "secretsmanager", "sfn"},
	"authorizer": {"dynamodb"},
	"submit":     {"dynamodb", "s3", "secretsmanager", "sfn"},
	"poll":       {"dynamodb", "eventbridge", "s3", "secretsmanager", "sfn"},
	"fail":       {"dynamodb"},
	"register":   {"dynamodb", "s3", "secretsmanager", "sfn"},
	"finish":     {"dynamodb", "eventbridge", "sfn"},
	"webhook":    {"dynamodb", "secretsmanager"},
	"reconcile":  {"dynamodb", "sfn"},
	"summarize":  {"s3"},
}

// sdkOwn are the service clients the SDK links for itself: DynamoDB
// Streams' types, which DynamoDB's attributevalue converts.
var sdkOwn = []string{"dynamodbstreams"}

// TestEachFunctionLinksOnlyItsClients holds each function's binary to the
// AWS service clients it calls (functionClients), as its own wiring package
// (internal/lambdafn/<fn>fn) builds them.
func TestEachFunctionLinksOnlyItsClients(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/vidgen/vidgen/functions/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const prefix, service = "github.com/vidgen/vidgen/functions/", "github.com/aws/aws-sdk-go-v2/service/"
	seen := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		fn, ok := strings.CutPrefix(fields[0], prefix)
		if !ok || strings.Contains(fn, "/") {
			continue // functions/internal/helloworld and the like
		}
		seen[fn] = true
		var clients []string
		for _, dep := range fields[1:] {
			if name, ok := strings.CutPrefix(dep, service); ok && !strings.Contains(name, "/") && !slices.Contains(sdkOwn, name) {
				clients = append(clients, name)
			}
		}
		slices.Sort(clients)
		want, known := functionClients[fn]
		if !known {
			t.Errorf("functions/%s is not in functionClients: add the clients it calls", fn)
			continue
		}
		if !slices.Equal(clients, want) {
			t.Errorf("functions/%s links the AWS clients %v, want %v", fn, clients, want)
		}
	}
	for fn := range functionClients {
		if !seen[fn] {
			t.Errorf("functionClients names %s, which has no functions/%s", fn, fn)
		}
	}
}

// lambdaNeedless are the SDK packages no function may link:
// config.LoadDefaultConfig and the service clients of its credential
// providers (SSO, SSO OIDC, STS, sign-in), whose initialisers each cold
// start would pay for credentials Lambda hands over in the environment
// (lambdafn.Config).
var lambdaNeedless = []string{
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/signin",
}

// TestNoFunctionLinksTheSDKConfig holds every function's binary to
// lambdafn.Config: none links the SDK's config package or the credential
// clients it brings.
func TestNoFunctionLinksTheSDKConfig(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/vidgen/vidgen/functions/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const prefix = "github.com/vidgen/vidgen/functions/"
	n := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		fn, ok := strings.CutPrefix(fields[0], prefix)
		if !ok || strings.Contains(fn, "/") {
			continue
		}
		n++
		for _, dep := range fields[1:] {
			if slices.Contains(lambdaNeedless, dep) {
				t.Errorf("functions/%s links %s: build its AWS configuration with lambdafn.Config", fn, dep)
			}
		}
	}
	if n < len(functionClients) {
		t.Errorf("go list named %d functions, want at least %d", n, len(functionClients))
	}
}
