// Package logs builds vidgen's one logger: JSON lines through log/slog at
// the level VIDGEN_LOG_LEVEL names, each line carrying the ids stored in
// its context (the job's, the Lambda invocation's, the API request's), so
// that every line about a job can be found by the job's id. Every Lambda
// (through internal/lambdafn) and the local runtime build their logger here;
// packages take a *slog.Logger and log with its ...Context methods.
package logs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// The keys of the ids a line about a job carries (docs/operations.md
// queries them), and of the error a warning or error names.
const (
	JobID     = "job_id"
	Tenant    = "tenant"
	Execution = "execution" // the Step Functions execution's name
	// RequestID is the Lambda invocation's request id, which Lambda's own
	// START/END/REPORT lines carry too.
	RequestID = "request_id"
	// APIRequestID is API Gateway's id of the HTTP request
	// (requestContext.requestId), which its access log carries too.
	APIRequestID = "api_request_id"
	Err          = "err"
)

// EnvLevel names the level: DEBUG, INFO, WARN or ERROR (any case); unset
// is INFO. When it is unset, Lambda's own AWS_LAMBDA_LOG_LEVEL (set by a
// function's LoggingConfig.ApplicationLogLevel) is honoured instead.
const (
	EnvLevel       = "VIDGEN_LOG_LEVEL"
	envLambdaLevel = "AWS_LAMBDA_LOG_LEVEL"
)

// ParseLevel reads a level name. Lambda's TRACE and FATAL map to DEBUG and
// ERROR, the nearest slog has.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		return slog.LevelInfo, nil
	case "DEBUG", "TRACE":
		return slog.LevelDebug, nil
	case "INFO":
		return slog.LevelInfo, nil
	case "WARN", "WARNING":
		return slog.LevelWarn, nil
	case "ERROR", "FATAL":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q is not one of DEBUG, INFO, WARN, ERROR", s)
}

// FromEnv builds the logger writing to w at the level the environment
// names; a level it cannot read is an error, so a typo fails the start
// instead of silently logging at another level.
func FromEnv(getenv func(string) string, w io.Writer) (*slog.Logger, error) {
	name, v := EnvLevel, getenv(EnvLevel)
	if v == "" {
		name, v = envLambdaLevel, getenv(envLambdaLevel)
	}
	level, err := ParseLevel(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return New(w, level), nil
}

// TimeKey is the key of a line's time (RFC 3339), the one Lambda's JSON
// log format reads: a line it cannot date it takes for INFO. (The template
// keeps Lambda's own level filter at TRACE, so the level that counts is
// this logger's.)
const TimeKey = "timestamp"

// New builds the logger writing JSON lines to w from level up.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(Handler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: renameTime})})
}

func renameTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		a.Key = TimeKey
	}
	return a
}

// Handler adds to each record the attributes its context carries (With)
// and the Lambda request id, ahead of the record's own. Loggers built on
// it must not open groups (WithGroup) before logging ids: the ids would
// land inside the group.
type Handler struct{ slog.Handler }

// Handle adds the context's ids to r.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	attrs, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	lc, lambda := lambdacontext.FromContext(ctx)
	if len(attrs) == 0 && !lambda {
		return h.Handler.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if lambda && lc.AwsRequestID != "" {
		out.AddAttrs(slog.String(RequestID, lc.AwsRequestID))
	}
	out.AddAttrs(attrs...)
	r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
	return h.Handler.Handle(ctx, out)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{h.Handler.WithGroup(name)}
}

type attrsKey struct{}

// With returns ctx whose log lines carry attrs too. An attribute with the
// key of one ctx carries already replaces it; an empty string value is
// left out (an id not known yet), keeping any value ctx has for its key.
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	old, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	merged := slices.Clone(old)
	for _, a := range attrs {
		if a.Value.Kind() == slog.KindString && a.Value.String() == "" {
			continue
		}
		if i := slices.IndexFunc(merged, func(b slog.Attr) bool { return b.Key == a.Key }); i >= 0 {
			merged[i] = a
		} else {
			merged = append(merged, a)
		}
	}
	return context.WithValue(ctx, attrsKey{}, merged)
}

// Job returns ctx whose log lines carry the job's ids: its id, its tenant
// and the execution that runs it.
func Job(ctx context.Context, id, tenant, execution string) context.Context {
	return With(ctx, slog.String(JobID, id), slog.String(Tenant, tenant), slog.String(Execution, execution))
}
