package lambdafn

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/metrics"
)

// purposes says what each function is, for its -h.
var purposes = map[string]string{
	"api":        "the HTTP API behind API Gateway: submit, query, list and cancel jobs",
	"authorizer": "API Gateway's Lambda authorizer: resolves each request's bearer key to its tenant",
	"submit":     "the video_job step that submits a job to the upstream, at most once",
	"poll":       "the video_job step that polls the upstream and decides the next wait",
	"fail":       "the video_job step that records why a job failed (the state machine's Catch-all)",
	"register":   "the video_job step that records the job of an execution another workflow started",
	"finish":     "the video_job step that announces an ended job (event, webhook) and frees its slot",
	"webhook":    "the webhook state machine's step: one signed delivery to the job's callback URL",
	"reconcile":  "the scheduled function that ends or resumes jobs whose execution was lost",
	"summarize":  "the batch state machine's last step: counts per status and the failed items",
}

// envHelp says what each variable the functions read holds.
var envHelp = map[string]string{
	EnvTable:                "the jobs DynamoDB table",
	EnvStateMachine:         "the video_job state machine's ARN",
	EnvKeysTable:            "the API keys DynamoDB table",
	EnvCursorSecret:         "the Secrets Manager secret that signs list cursors",
	EnvDeadline:             "seconds every job may run before it ends as TimedOut; 0: each model's own (catalogue)",
	EnvQueueTimeout:         "seconds a job may wait for an admission slot",
	EnvUpstreamURL:          "the AI/ML API's base URL",
	EnvUpstreamSecret:       "the Secrets Manager secret holding the AI/ML API key",
	EnvPollInterval:         "seconds between polls of the upstream",
	EnvBucket:               "the S3 bucket of large images, archived videos and batch results",
	EnvVideoHosts:           "comma-separated hosts the upstream's video URLs may point at",
	EnvWebhookSecret:        "the Secrets Manager secret tenants' webhook secrets derive from",
	EnvSpendCap:             "credits per tenant per UTC day past which no job is admitted (0: no cap)",
	EnvEventBus:             "the EventBridge bus ended jobs are announced on",
	EnvMaxInFlight:          "generations in flight at most, in all (0: no cap)",
	EnvMaxInFlightPerTenant: "generations in flight at most, per tenant (0: no cap)",
	EnvReconcileMinAge:      "seconds a job must be old before its missing execution counts as lost",
	EnvReconcileGrace:       "seconds the reconciler leaves a job past its deadline before ending it",
}

// Help writes function fn's usage to w when args ask for it (-h, -help,
// --help or help) and reports whether it did. A Lambda binary is started
// by the Lambda runtime with no arguments; someone who runs it by hand
// with -h learns what it is and what it reads instead of seeing it wait
// for the runtime API.
func Help(fn string, args []string, w io.Writer) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
	default:
		return false
	}
	fmt.Fprintf(w, "usage: %s (a Lambda function of vidgen; the Lambda runtime starts it as bootstrap)\n\n", fn)
	fmt.Fprintf(w, "%s is %s.\n\n", fn, purposes[fn])
	fmt.Fprintln(w, "It takes no arguments: it reads its configuration from the environment, which")
	fmt.Fprintln(w, "template.yaml sets, and serves invocations through AWS_LAMBDA_RUNTIME_API (under")
	fmt.Fprintln(w, "Lambda, sam local or the Lambda runtime interface emulator). Locally, make run")
	fmt.Fprintln(w, "runs the same handler in-process.")
	fmt.Fprintln(w, "\nenvironment (required):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range Required(fn) {
		fmt.Fprintf(tw, "  %s\t%s\n", name, envHelp[name])
	}
	fmt.Fprintf(tw, "  %s\t%s\n", "AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
		"set by Lambda: the region and the execution role's session (the only credentials read)")
	tw.Flush()
	fmt.Fprintln(w, "\nenvironment (optional):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\t%s\n", logs.EnvLevel, "log level: debug, info, warn or error (default info)")
	fmt.Fprintf(tw, "  %s\t%s\n", metrics.EnvStage, "the Stage dimension of the function's metrics")
	fmt.Fprintf(tw, "  %s\t%s\n", "AWS_ENDPOINT_URL*", "AWS endpoints other than AWS's own: AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>")
	tw.Flush()
	return true
}

// ExitOnHelp is Help on the process's arguments, for a function's main:
// when it printed the usage, the process exits 0.
func ExitOnHelp(fn string) {
	if Help(fn, os.Args[1:], os.Stdout) {
		os.Exit(0)
	}
}
