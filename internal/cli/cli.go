// Package cli is the vidgen command line (cmd/vidgen): submit, follow,
// list, cancel and download jobs through the Go client, run batches from a
// JSON Lines file, manage API keys and verify webhooks. Run is the whole
// program; main only wires it to the process. docs/cli.md is its manual.
package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/client"
)

// Exit codes, as docs/cli.md documents them.
const (
	ExitOK       = 0 // done: the command did what it was asked; a waited job completed
	ExitFailed   = 1 // a waited job ended in error; a webhook did not verify
	ExitUsage    = 2 // the command line is wrong (unknown command or flag, bad value, unreadable image)
	ExitAPIError = 3 // the API refused or could not be reached, or a file could not be written
	// ExitTimeout is wait's --timeout expiring while the job still runs:
	// neither a failure of the job nor of the API, and a script may well
	// wait again.
	ExitTimeout = 4
)

// Defaults: those of make run.
const (
	DefaultURL = "http://127.0.0.1:3000"
	// LocalKey is make run's default API key, used when VIDGEN_API_KEY and
	// --api-key are both unset and the URL is a loopback address.
	LocalKey = "vidgen-local-key"
)

// Env is what Run takes from the process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// ClientOptions are added to the client's (tests: fast polling).
	ClientOptions []client.Option
	// NoProgress turns the progress bars off (tests that compare stderr).
	NoProgress bool
}

// Usage is vidgen's help text.
const Usage = `vidgen: submit and follow video generations on a vidgen API.

usage: vidgen COMMAND [flags] [args]

commands:
  submit   [--model ID] --image PATH|URL|DATA_URI --prompt TEXT [--duration 5|10] [--ratio 16:9|9:16]
           [--param NAME=VALUE]… [--webhook URL] [--wait] [--out FILE]
                                   submit a job (--out waits and downloads); --model
                                   defaults to gen3a_turbo, whose --image is required
  models   [ID]                    list the models (id, provider, modes), or one's fields
  get      ID                      show a job
  wait     ID [--out FILE]         wait for a job to end, with a progress bar
  list     [--status S] [--model ID] [--limit N]
                                   list your jobs, newest first
  cancel   ID                      cancel a job
  download ID --out FILE           save a completed job's video
  batch    FILE.jsonl [--wait]     submit one job per line (each line a request)
  keys     create|list|revoke …    manage API keys (as vidgen-keys)
  webhook verify --secret S …      check a webhook's signature

flags every API command takes:
  --url URL        the API (default $VIDGEN_URL, else ` + DefaultURL + `)
  --api-key KEY    the API key (default $VIDGEN_API_KEY; against a loopback URL, make run's ` + LocalKey + `)
  --json           print JSON for scripts instead of text
  -h, --help       the command's own help

exit codes: 0 done, 1 job failed, 2 usage, 3 API error, 4 still running when wait --timeout expired.
Run 'vidgen COMMAND -h' for a command's flags; docs/cli.md has the manual.
`

// command runs one subcommand on its arguments.
type command func(r *runner, ctx context.Context, args []string) error

func commands() map[string]command {
	return map[string]command{
		"submit":   (*runner).submit,
		"get":      (*runner).get,
		"wait":     (*runner).wait,
		"list":     (*runner).list,
		"cancel":   (*runner).cancel,
		"download": (*runner).download,
		"batch":    (*runner).batch,
		"keys":     (*runner).keys,
		"webhook":  (*runner).webhook,
		"models":   (*runner).models,
	}
}

// Run runs the command line args (without the program name) and returns
// the process's exit code.
func Run(ctx context.Context, args []string, env Env) int {
	r := &runner{env: env}
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, Usage)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.Stdout, Usage)
		return ExitOK
	}
	cmd, ok := commands()[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "vidgen: unknown command %q\n\n%s", name, Usage)
		return ExitUsage
	}
	err := cmd(r, ctx, rest)
	return r.exit(name, err)
}

// runner carries one run's environment and its common flags.
type runner struct {
	env     Env
	baseURL string
	apiKey  string
	json    bool
}

// Errors Run maps to exit codes.
var (
	// errHelp is a -h answered: exit 0.
	errHelp = errors.New("help shown")
	// errFailed is an outcome that failed, already reported: a waited job
	// that ended in error, a webhook that did not verify.
	errFailed = errors.New("failed")
)

// usageError is a command line that makes no sense: exit 2.
type usageError struct {
	msg string
	// lines are the problems msg sums up, each of a batch file's line,
	// told after it as text and as fields with --json.
	lines []lineProblem
}

func (e *usageError) Error() string {
	var b strings.Builder
	b.WriteString(e.msg)
	if len(e.lines) > 0 {
		b.WriteString(":")
	}
	for _, p := range e.lines {
		fmt.Fprintf(&b, "\n  line %d: %s: %s", p.Line, p.Field, p.Message)
	}
	return b.String()
}

// lineProblem is one bad field of a batch file's line.
type lineProblem struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// namedError is a failure the command itself reports (not an answer of
// the API), with the name --json gives it: exit 3.
type namedError struct{ name, msg string }

func (e *namedError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// timeoutError is a wait given up when its --timeout expired, the job
// still running (it runs on): exit 4.
type timeoutError struct {
	id     string
	status vidgen.Status // the last the wait saw; "" when it saw none
	after  time.Duration
}

func (e *timeoutError) Error() string {
	status := cmp.Or(string(e.status), "running (its status unknown)")
	return fmt.Sprintf("timed out after %s: job %s is still %s", e.after, e.id, status)
}

func (r *runner) exit(name string, err error) int {
	var ue *usageError
	var te *timeoutError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return ExitOK
	case errors.Is(err, errFailed):
		return ExitFailed
	case errors.As(err, &ue) && r.json:
		// A flag error before --json was parsed is told as text: json
		// is not set yet.
		r.printJSON(r.env.Stderr, errorJSON(err))
		return ExitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(r.env.Stderr, "vidgen %s: %v\nRun 'vidgen %s -h' for help.\n", name, err, name)
		return ExitUsage
	}
	if r.json {
		r.printJSON(r.env.Stderr, errorJSON(err))
	} else {
		fmt.Fprintf(r.env.Stderr, "vidgen %s: %v\n", name, err)
	}
	if errors.As(err, &te) {
		return ExitTimeout
	}
	return ExitAPIError
}

// errorJSON is an error as --json prints it (on stderr): the API's error
// body when the API answered; for a timeout, the name Timeout and the
// job's status; for the command's own errors, their name (UsageError, …);
// else a message.
func errorJSON(err error) any {
	var ae *client.APIError
	var te *timeoutError
	var ue *usageError
	var ne *namedError
	switch {
	case errors.As(err, &ae):
		return map[string]any{"error": map[string]any{"status": ae.StatusCode, "name": ae.Name, "message": ae.Message, "fields": ae.Fields}}
	case errors.As(err, &ue):
		e := map[string]any{"name": "UsageError", "message": ue.msg}
		if len(ue.lines) > 0 {
			e["fields"] = ue.lines
		}
		return map[string]any{"error": e}
	case errors.As(err, &ne):
		return map[string]any{"error": map[string]any{"name": ne.name, "message": ne.msg}}
	case errors.As(err, &te):
		// status is the HTTP status wherever it appears, so the job's
		// status has its own member and a script reads one type per name.
		e := map[string]any{"name": "Timeout", "message": te.Error()}
		if te.status != "" {
			e["job_status"] = te.status
		}
		return map[string]any{"error": e}
	}
	return map[string]any{"error": map[string]any{"message": err.Error()}}
}

// flags makes a subcommand's flag set. api adds the flags of commands that
// call the API.
func (r *runner) flags(name, synopsis string, api bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&r.json, "json", false, "print JSON for scripts instead of text")
	if api {
		fs.StringVar(&r.baseURL, "url", "", "the API's base URL (default $VIDGEN_URL, else "+DefaultURL+")")
		fs.StringVar(&r.apiKey, "api-key", "", "the API key (default $VIDGEN_API_KEY; against a loopback URL "+LocalKey+")")
	}
	fs.Usage = func() {
		fmt.Fprintf(r.env.Stdout, "usage: vidgen %s\n\nflags:\n", synopsis)
		fs.SetOutput(r.env.Stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		fmt.Fprintln(r.env.Stdout, "\nexit codes: 0 done, 1 job failed, 2 usage, 3 API error, 4 still running when wait --timeout expired (docs/cli.md).")
	}
	return fs
}

// parse parses flags anywhere among the arguments (vidgen get ID --json)
// and returns the positional ones. -h prints the usage and returns errHelp.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return nil, errHelp
		}
		if err != nil {
			return nil, usagef("%v", err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// onePositional parses and returns the single argument the command takes.
func onePositional(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usagef("give one %s, got %d arguments", what, len(pos))
	}
	return pos[0], nil
}

// client builds the API client from the flags and the environment.
func (r *runner) client() (*client.Client, error) {
	base := r.baseURL
	if base == "" {
		base = r.env.Getenv("VIDGEN_URL")
	}
	if base == "" {
		base = DefaultURL
	}
	key := r.apiKey
	if key == "" {
		key = r.env.Getenv("VIDGEN_API_KEY")
	}
	if key == "" && loopback(base) {
		key = LocalKey
	}
	if key == "" {
		return nil, usagef("no API key: set VIDGEN_API_KEY or pass --api-key")
	}
	c, err := client.New(base, key, append([]client.Option{client.WithUserAgent("vidgen-cli")}, r.env.ClientOptions...)...)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return c, nil
}

func loopback(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// printJSON writes v as one line of JSON, without HTML escaping so that
// links stay pasteable.
func (r *runner) printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(r.env.Stderr, "vidgen: encode JSON: %v\n", err)
	}
}
