package lambdafn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/lambdafn/apifn"
	"github.com/vidgen/vidgen/internal/lambdafn/authorizerfn"
	"github.com/vidgen/vidgen/internal/lambdafn/failfn"
	"github.com/vidgen/vidgen/internal/lambdafn/finishfn"
	"github.com/vidgen/vidgen/internal/lambdafn/pollfn"
	"github.com/vidgen/vidgen/internal/lambdafn/reconcilefn"
	"github.com/vidgen/vidgen/internal/lambdafn/registerfn"
	"github.com/vidgen/vidgen/internal/lambdafn/submitfn"
	"github.com/vidgen/vidgen/internal/lambdafn/summarizefn"
	"github.com/vidgen/vidgen/internal/lambdafn/webhookfn"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/reconcile"
)

// construct calls one constructor as functions/<fn>/main.go does and
// returns a call of the handler it built on the function's sample event.
type construct func(ctx context.Context, getenv func(string) string) (handle func(context.Context) error, err error)

// constructors are the constructors of every function, each in its
// wiring package (internal/lambdafn/<fn>fn), by function, each with the sample in
// events/ its handler then takes.
var constructors = map[string]construct{
	"api":        sampled(apifn.New, "api-query.json"),
	"authorizer": sampled(authorizerfn.New, "authorizer.json"),
	"submit":     sampled(submitfn.New, "submit.json"),
	"poll":       sampled(pollfn.New, "poll.json"),
	"fail":       sampled(failfn.New, "fail.json"),
	"reconcile": func(ctx context.Context, getenv func(string) string) (func(context.Context) error, error) {
		h, err := reconcilefn.New(ctx, getenv)
		// Its schedule's event carries nothing the handler reads.
		return withSample(func(ctx context.Context, _ json.RawMessage) (reconcile.Report, error) { return h(ctx) }, err, "reconcile.json")
	},
	"register":  sampled(registerfn.New, "register.json"),
	"finish":    sampled(finishfn.New, "finish.json"),
	"webhook":   sampled(webhookfn.New, "webhook.json"),
	"summarize": sampled(summarizefn.New, "summarize.json"),
}

// sampled is the construct of a constructor whose handler takes the
// function's event as it is: build, then call the handler on sample.
func sampled[In, Out any](build func(context.Context, func(string) string) (lambdafn.Handler[In, Out], error), sample string) construct {
	return func(ctx context.Context, getenv func(string) string) (func(context.Context) error, error) {
		h, err := build(ctx, getenv)
		return withSample(h, err, sample)
	}
}

// withSample returns a call of handler on events/<sample>, once the
// constructor that returned it built without error.
func withSample[In any, Out any](handler func(context.Context, In) (Out, error), err error, sample string) (func(context.Context) error, error) {
	if err != nil {
		return nil, err
	}
	if handler == nil {
		return nil, fmt.Errorf("the constructor returned no handler")
	}
	return func(ctx context.Context) error {
		b, err := os.ReadFile(filepath.Join("..", "..", "events", sample))
		if err != nil {
			return err
		}
		var in In
		if err := json.Unmarshal(b, &in); err != nil {
			return fmt.Errorf("events/%s: %w", sample, err)
		}
		_, err = handler(ctx, in)
		return err
	}, nil
}

// sink is a local listener standing in for every address a function could
// reach: AWS, the instance metadata and container credential services, the
// Lambda runtime API, an HTTP proxy and the upstream. It counts the
// connections it accepts and the requests it reads, and answers each with
// a 400 that AWS's JSON protocols read as a ValidationException, which the
// SDK does not retry. There is one for the whole test binary, because net/http reads the
// proxy variables only once per process.
type sink struct {
	url string

	mu    sync.Mutex
	conns int
	reqs  []sinkRequest
}

// A sinkRequest is one answered request and the connection it came on,
// numbered in the order the sink accepted them: a request answered after a
// mark but sent by an earlier subtest's handler, on a connection accepted
// before the mark, is not the new subtest's.
type sinkRequest struct {
	conn int
	desc string
}

type connKey struct{}

var sinkAnswer = []byte(`{"__type":"com.amazonaws#ValidationException","message":"init test sink"}`)

// newSink starts a sink of t's own, closed when t ends: a request an
// earlier subtest's handler sends late (after its invocation returned)
// goes to that subtest's closed sink, never counted against this one.
func newSink(t *testing.T) *sink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{url: "http://" + l.Addr().String()}
	srv := &http.Server{
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.conns++
			return context.WithValue(ctx, connKey{}, s.conns)
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _ := r.Context().Value(connKey{}).(int)
			s.mu.Lock()
			s.reqs = append(s.reqs, sinkRequest{conn, strings.TrimSpace(r.Method + " " + r.Host + r.URL.Path + " " + r.Header.Get("X-Amz-Target"))})
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(sinkAnswer)), 10)) // DynamoDB's clients check it
			w.WriteHeader(http.StatusBadRequest)
			w.Write(sinkAnswer)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	// A connection per request: none is left open for a handler to reuse
	// unseen.
	srv.SetKeepAlivesEnabled(false)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// sinkMark is how many connections and requests the sink had seen.
type sinkMark struct{ conns, reqs int }

func (s *sink) mark() sinkMark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sinkMark{s.conns, len(s.reqs)}
}

// since returns the connections accepted since m and the requests
// answered on them.
func (s *sink) since(m sinkMark) (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var reqs []string
	for _, r := range s.reqs[m.reqs:] {
		if r.conn > m.conns {
			reqs = append(reqs, r.desc)
		}
	}
	return s.conns - m.conns, reqs
}

// unsetenv removes k for the rest of the test, restoring it afterwards.
func unsetenv(t *testing.T, k string) {
	t.Setenv(k, "")
	os.Unsetenv(k)
}

// credentialSources are the environments TestInitDoesNoNetworkIO builds
// each handler in, by how the SDK would find credentials.
var credentialSources = []struct {
	name string
	env  func(sinkURL string) map[string]string
	// initErr, when set, is what the constructor's error must say: the
	// functions read credentials from Lambda's environment only
	// (lambdafn.Config), so without keys there they stop at init.
	initErr string
}{
	// A developer's or CI's static keys.
	{"static keys", func(string) map[string]string {
		return map[string]string{
			"AWS_ACCESS_KEY_ID":     "AKIDINITTEST",
			"AWS_SECRET_ACCESS_KEY": "init-test-secret",
			"AWS_REGION":            "us-east-1",
		}
	}, ""},
	// What Lambda gives a provided.al2023 function: the execution role's
	// session in the environment, the runtime API's address, no config
	// files.
	{"Lambda environment", func(sinkURL string) map[string]string {
		return map[string]string{
			"AWS_ACCESS_KEY_ID":               "ASIAINITTEST",
			"AWS_SECRET_ACCESS_KEY":           "init-test-secret",
			"AWS_SESSION_TOKEN":               "init-test-session-token",
			"AWS_REGION":                      "us-east-1",
			"AWS_DEFAULT_REGION":              "us-east-1",
			"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
			"AWS_LAMBDA_FUNCTION_NAME":        "vidgen-init-test",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
			"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
			"AWS_LAMBDA_RUNTIME_API":          strings.TrimPrefix(sinkURL, "http://"),
			"LAMBDA_TASK_ROOT":                "/var/task",
			"_HANDLER":                        "bootstrap",
			"TZ":                              ":UTC",
		}
	}, ""},
	// No keys at all: a credential lookup would go to the container
	// credentials endpoint or the instance metadata service, both the sink.
	// lambdafn.Config reads neither: init fails, naming the keys, and
	// makes no connection.
	{"credentials from a service", func(sinkURL string) map[string]string {
		return map[string]string{
			"AWS_REGION":                             "us-east-1",
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     sinkURL + "/credentials",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN":      "init-test",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT":      sinkURL,
			"AWS_EC2_METADATA_DISABLED":              "false",
			"AWS_EC2_METADATA_V1_DISABLED":           "false",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv4",
		}
	}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
}

// functionValues are plausible values of the variables lambdafn.Required
// names; the upstream is the sink too.
func functionValues(sinkURL string) map[string]string {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vidgen/init-test/"
	return map[string]string{
		lambdafn.EnvTable:                "vidgen-init-test-jobs",
		lambdafn.EnvStateMachine:         "arn:aws:states:us-east-1:123456789012:stateMachine:vidgen-init-test-video-job",
		lambdafn.EnvKeysTable:            "vidgen-init-test-api-keys",
		lambdafn.EnvCursorSecret:         arn + "cursor-key-AbCdEf",
		lambdafn.EnvDeadline:             "1800",
		lambdafn.EnvQueueTimeout:         "21600",
		lambdafn.EnvUpstreamURL:          sinkURL,
		lambdafn.EnvUpstreamSecret:       arn + "aimlapi-key-AbCdEf",
		lambdafn.EnvPollInterval:         "5",
		lambdafn.EnvBucket:               "vidgen-init-test-images",
		lambdafn.EnvVideoHosts:           "cdn.aimlapi.com",
		lambdafn.EnvWebhookSecret:        arn + "webhook-key-AbCdEf",
		lambdafn.EnvEventBus:             "default",
		lambdafn.EnvMaxInFlight:          "50",
		lambdafn.EnvMaxInFlightPerTenant: "25",
		lambdafn.EnvSpendCap:             "0",
		lambdafn.EnvReconcileMinAge:      "300",
		lambdafn.EnvReconcileGrace:       "300",
	}
}

// TestInitDoesNoNetworkIO holds the package to its promise: building a
// function's handler (what functions/<fn>/main.go does before lambda.Start,
// in Lambda's init phase) makes no network connection; clients are built
// and secrets read on first use. Every address the code could reach is a
// local sink that counts the connections it accepts, in three credential
// setups. The handler built then takes the function's sample event, which
// must reach the sink: that shows the sink sees what the code does.
func TestInitDoesNoNetworkIO(t *testing.T) {
	checkCoversEveryFunction(t)
	for _, src := range credentialSources {
		for _, fn := range slices.Sorted(maps.Keys(constructors)) {
			t.Run(src.name+"/"+fn, func(t *testing.T) {
				s := newSink(t)
				// Nothing of this process's AWS setup (scripts/with-moto.sh
				// points the SDK at moto), proxies or vidgen settings.
				for _, kv := range os.Environ() {
					k, _, _ := strings.Cut(kv, "=")
					if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "VIDGEN_") || strings.HasPrefix(k, "AIMLAPI_") ||
						strings.EqualFold(k, "http_proxy") || strings.EqualFold(k, "https_proxy") || strings.EqualFold(k, "no_proxy") {
						unsetenv(t, k)
					}
				}
				home := t.TempDir() // no ~/.aws
				t.Setenv("HOME", home)
				t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
				t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
				// Every endpoint, the instance metadata service and, for a
				// client that ignored AWS_ENDPOINT_URL, the proxy.
				t.Setenv("AWS_ENDPOINT_URL", s.url)
				t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.url)
				t.Setenv("HTTP_PROXY", s.url)
				t.Setenv("HTTPS_PROXY", s.url)
				proxyCovered(t, s)
				for k, v := range src.env(s.url) {
					t.Setenv(k, v)
				}
				values := functionValues(s.url)
				for _, k := range lambdafn.Required(fn) {
					t.Setenv(k, values[k])
				}

				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				defer cancel()
				before := s.mark()
				alive := goroutines()
				handle, err := constructors[fn](ctx, os.Getenv)
				// A request made in the constructor itself has been
				// answered, so counted, by the time it returns; one that
				// could come later needs a goroutine the constructor left
				// running, which init must not leave either.
				if n, reqs := s.since(before); n != 0 || len(reqs) != 0 {
					t.Errorf("building the handler made %d connection(s), requests %q; init must do no network I/O", n, reqs)
				}
				if left := startedBy(curGoroutine(), alive, goroutines()); len(left) != 0 {
					t.Errorf("building the handler left %d goroutine(s) running, which could do I/O after init:\n%s", len(left), strings.Join(left, "\n\n"))
				}
				if src.initErr != "" {
					if err == nil || !strings.Contains(err.Error(), src.initErr) {
						t.Errorf("constructor: error %v, want one naming %s", err, src.initErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("constructor: %v", err)
				}
				if t.Failed() {
					return
				}

				// The control: the first invocation does reach the sink.
				before = s.mark()
				err = handle(ctx)
				if n, reqs := s.since(before); n == 0 || len(reqs) == 0 {
					t.Fatalf("handling the events/ sample made no connection to the sink (error %v): the test does not see the handler's I/O", err)
				} else {
					t.Logf("first invocation: %d connection(s), %q (error %v)", n, reqs, err)
				}
			})
		}
	}
}

// goroutines are the stacks of every goroutine alive, by ID.
func goroutines() map[int]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	all := map[int]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if id, ok := goroutineID(g); ok {
			all[id] = g
		}
	}
	return all
}

// goroutineID reads the ID in a stack's first line, "goroutine 7 [running]:".
func goroutineID(stack string) (int, bool) {
	f := strings.Fields(stack)
	if len(f) < 2 || f[0] != "goroutine" {
		return 0, false
	}
	id, err := strconv.Atoi(f[1])
	return id, err == nil
}

// curGoroutine is the calling goroutine's ID.
func curGoroutine() int {
	buf := make([]byte, 64)
	id, _ := goroutineID(string(buf[:runtime.Stack(buf, false)]))
	return id
}

// createdBy matches a stack's last line, naming the goroutine that started it.
var createdBy = regexp.MustCompile(`created by .* in goroutine ([0-9]+)`)

// startedBy are the stacks of the goroutines in after and not in before
// that goroutine root started, directly or through goroutines so started:
// what root's code left running. (Other tests' and the runtime's
// goroutines, which come and go meanwhile, are not root's.)
func startedBy(root int, before, after map[int]string) []string {
	mine := map[int]bool{root: true}
	for grew := true; grew; {
		grew = false
		for id, stack := range after {
			if _, old := before[id]; old || mine[id] {
				continue
			}
			if m := createdBy.FindStringSubmatch(stack); m != nil {
				if parent, _ := strconv.Atoi(m[1]); mine[parent] {
					mine[id], grew = true, true
				}
			}
		}
	}
	var left []string
	for id := range mine {
		if id != root {
			left = append(left, after[id])
		}
	}
	slices.Sort(left)
	return left
}

// proxyCovered logs when net/http does not send requests for AWS's real
// endpoints to the sink as a proxy: it reads the proxy variables once per
// process, so a test in this binary that made a request through the
// default transport before this one set them leaves that path unchecked.
func proxyCovered(t *testing.T, s *sink) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "https://dynamodb.us-east-1.amazonaws.com/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := http.ProxyFromEnvironment(req); err != nil || u == nil || "http://"+u.Host != s.url {
		t.Logf("net/http's proxy is %v (%v), not the sink: a client that ignores AWS_ENDPOINT_URL would go unseen", u, err)
	}
}

// checkCoversEveryFunction fails unless constructors has every function
// whose main.go builds its handler with this package, and only those.
func checkCoversEveryFunction(t *testing.T) {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join("..", "..", "functions", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions/*/main.go (%v)", err)
	}
	var want []string
	for _, m := range mains {
		src, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), `"github.com/vidgen/vidgen/internal/lambdafn"`) {
			want = append(want, filepath.Base(filepath.Dir(m)))
		}
	}
	have := slices.Sorted(maps.Keys(constructors))
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Fatalf("constructors covers %v; the functions built with lambdafn are %v", have, want)
	}
}

// TestBadLogLevelFailsStart builds every function with a log level it
// cannot read: each refuses to start, naming the variable and the value,
// rather than log at a level nobody asked for.
func TestBadLogLevelFailsStart(t *testing.T) {
	values := functionValues("http://127.0.0.1:1")
	for _, fn := range slices.Sorted(maps.Keys(constructors)) {
		getenv := func(k string) string {
			if k == logs.EnvLevel {
				return "VERBOSE"
			}
			if slices.Contains(lambdafn.Required(fn), k) {
				return values[k]
			}
			return ""
		}
		_, err := constructors[fn](t.Context(), getenv)
		if err == nil || !strings.Contains(err.Error(), logs.EnvLevel) || !strings.Contains(err.Error(), "VERBOSE") {
			t.Errorf("%s with %s=VERBOSE: err = %v, want one naming the variable and its value", fn, logs.EnvLevel, err)
		}
	}
}

// startedBy finds the goroutines the caller left running, also one started
// by a goroutine it started, and none when it left nothing.
func TestStartedByFindsGoroutinesLeft(t *testing.T) {
	me := curGoroutine()
	before := goroutines()
	if left := startedBy(me, before, goroutines()); len(left) != 0 {
		t.Fatalf("nothing started, found %q", left)
	}
	stop := make(chan struct{})
	defer close(stop)
	started := make(chan struct{})
	go func() { // left running, starting one more
		go func() { <-stop }()
		close(started)
		<-stop
	}()
	<-started
	left := startedBy(me, before, goroutines())
	if len(left) != 2 {
		t.Fatalf("left %d goroutines, found %d:\n%s", 2, len(left), strings.Join(left, "\n\n"))
	}
}
