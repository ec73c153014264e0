//go:build unix

// Package functions_test runs each function's real bootstrap, built for the
// host with make build's flags (-tags lambda.norpc,nethttpomithttp2,
// stripped), under the
// AWS Lambda runtime interface emulator (aws-lambda-rie), invokes it with
// the sample events in events/
// and checks what it answers and what it leaves in a real local AWS: moto's
// DynamoDB, S3, Secrets Manager and Step Functions. The upstream is the real
// simulator on a manual clock, so nothing here waits for a generation.
//
// The emulator is VIDGEN_RIE if set, else bin/aws-lambda-rie in the
// repository, else it is installed there with go install. moto is the one
// AWS_ENDPOINT_URL_DYNAMODB points at (scripts/with-moto.sh), else a
// moto_server started here.
package functions_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/apikey/dynamokeys"
	"github.com/vidgen/vidgen/internal/awstest"
	"github.com/vidgen/vidgen/internal/clock"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/logs"
	"github.com/vidgen/vidgen/internal/metrics"
	"github.com/vidgen/vidgen/internal/sfnexec"
	"github.com/vidgen/vidgen/internal/simulator"
	"github.com/vidgen/vidgen/internal/steps"
	"github.com/vidgen/vidgen/internal/syncbuf"
)

const (
	// rieModule and rieVersion are what TestMain installs when no emulator
	// is at hand.
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"

	// sampleJobID is the job id every file in events/ uses; tests put a
	// real one in its place.
	sampleJobID = "3f0c2a9e-7b1d-4c5e-8a6f-2d9b4e1c7a05"

	region      = "us-east-1"
	account     = "123456789012" // moto's default account
	tenantA     = "tenantA"
	keyA        = "sample-key-a" // tenantA's key, as in events/api-*.json
	tenantB     = "tenantB"
	keyB        = "sample-key-b"
	upstreamKey = "sample-upstream-key"

	// Values template.yaml gives the functions through its parameters'
	// defaults.
	jobDeadlineSeconds  = "1800"
	pollIntervalSeconds = "5"

	// readyWithin bounds every wait for a process to come up.
	readyWithin = 30 * time.Second
	// invokeWithin bounds one invocation, init included.
	invokeWithin = 60 * time.Second
)

// timeouts are the functions' Timeout in template.yaml, the Globals one
// for any other; the emulator enforces them like Lambda does.
var timeouts = map[string]string{"api": "10", "authorizer": "5", "submit": "45", "poll": "45", "fail": "15",
	"register": "45", "finish": "15"}

const defaultTimeout = "30"

// e2e is what TestMain sets up for every test.
var e2e struct {
	root       string            // the repository
	functions  []string          // functions/<name>, each one Lambda
	rie        string            // the emulator binary
	bootstraps map[string]string // function → bootstrap path
	endpoint   string            // moto

	ddb *dynamodb.Client
	s3  *s3.Client
	sm  *secretsmanager.Client
	sfn *sfn.Client

	suffix         string // makes every name here unique on a shared moto
	table          string
	keysTable      string
	bucket         string
	upstreamSecret string // ARN
	cursorSecret   string // ARN
	webhookSecret  string // ARN
	stateMachine   string // ARN

	clk    *clock.Manual // the simulator's clock
	sim    *simulator.Server
	simURL string
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	cleanup, err := setup()
	defer cleanup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "functions: setup failed: %v\n", err)
		return 1
	}
	return m.Run()
}

// setup builds the bootstraps, finds the emulator and moto and creates the
// AWS resources. cleanup undoes whatever was done, also after an error.
func setup() (cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for _, f := range slices.Backward(undo) {
			f()
		}
	}
	if e2e.root, err = repoRoot(); err != nil {
		return cleanup, err
	}
	mains, err := filepath.Glob(filepath.Join(e2e.root, "functions", "*", "main.go"))
	if err != nil || len(mains) == 0 {
		return cleanup, fmt.Errorf("no functions/*/main.go under %s (%v)", e2e.root, err)
	}
	for _, m := range mains {
		e2e.functions = append(e2e.functions, filepath.Base(filepath.Dir(m)))
	}
	tmp, err := os.MkdirTemp("", "vidgen-functions-")
	if err != nil {
		return cleanup, err
	}
	undo = append(undo, func() { os.RemoveAll(tmp) })

	// The emulator and the builds are independent: do them together.
	var (
		wg                 sync.WaitGroup
		rieErr, buildErr   error
		endpoint, motoStop = os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"), func() {}
		motoErr            error
	)
	wg.Go(func() { e2e.rie, rieErr = findRIE(e2e.root) })
	// BenchmarkColdStart's references, helloWorld and helloDynamoDB, are
	// built beside them.
	wg.Go(func() {
		e2e.bootstraps, buildErr = buildBootstraps(e2e.root, tmp, append(slices.Clone(e2e.functions), helloWorld, helloDynamoDB))
	})
	if endpoint == "" {
		wg.Go(func() { endpoint, motoStop, motoErr = awstest.Start() })
	}
	wg.Wait()
	undo = append(undo, motoStop)
	if err := errors.Join(rieErr, buildErr, motoErr); err != nil {
		return cleanup, err
	}
	e2e.endpoint = endpoint

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(endpoint),
	)
	if err != nil {
		return cleanup, err
	}
	e2e.ddb = awstest.DynamoDB(cfg)
	e2e.s3 = s3.NewFromConfig(cfg)
	e2e.sm = secretsmanager.NewFromConfig(cfg)
	e2e.sfn = sfn.NewFromConfig(cfg)
	e2e.suffix = strings.ToLower(rand.Text()[:10])

	e2e.table = "vidgen-e2e-" + e2e.suffix + "-jobs"
	if err := dynamostore.CreateTable(ctx, e2e.ddb, e2e.table); err != nil {
		return cleanup, err
	}
	undo = append(undo, func() {
		e2e.ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &e2e.table})
	})
	e2e.keysTable = "vidgen-e2e-" + e2e.suffix + "-api-keys"
	if err := dynamokeys.CreateTable(ctx, e2e.ddb, e2e.keysTable); err != nil {
		return cleanup, err
	}
	undo = append(undo, func() {
		e2e.ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &e2e.keysTable})
	})
	// The keys the sample events send, stored as vidgen-keys stores keys.
	if _, err := apikey.Seed(ctx, keyStore(), tenantA+":"+keyA+","+tenantB+":"+keyB); err != nil {
		return cleanup, err
	}
	e2e.bucket = "vidgen-e2e-" + e2e.suffix + "-images"
	if _, err := e2e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &e2e.bucket}); err != nil {
		return cleanup, fmt.Errorf("create bucket: %w", err)
	}
	undo = append(undo, func() {
		ctx := context.Background()
		list, err := e2e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &e2e.bucket})
		if err == nil {
			for _, o := range list.Contents {
				e2e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &e2e.bucket, Key: o.Key})
			}
		}
		e2e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &e2e.bucket})
	})
	for _, s := range []struct {
		arn         *string
		name, value string
	}{
		{&e2e.upstreamSecret, "aimlapi-key", upstreamKey},
		{&e2e.cursorSecret, "cursor-key", "e2e cursor signing key"},
		{&e2e.webhookSecret, "webhook-key", webhookMaster},
	} {
		out, err := e2e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name:         aws.String("vidgen/e2e-" + e2e.suffix + "/" + s.name),
			SecretString: aws.String(s.value),
		})
		if err != nil {
			return cleanup, fmt.Errorf("create secret %s: %w", s.name, err)
		}
		*s.arn = aws.ToString(out.ARN)
		undo = append(undo, func() {
			e2e.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{
				SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true),
			})
		})
	}
	def, err := definition(e2e.root)
	if err != nil {
		return cleanup, err
	}
	sm, err := e2e.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String("vidgen-e2e-" + e2e.suffix + "-video-job"),
		Definition: aws.String(def),
		RoleArn:    aws.String("arn:aws:iam::" + account + ":role/vidgen-e2e-video-job"),
		Type:       sfntypes.StateMachineTypeStandard,
	})
	if err != nil {
		return cleanup, fmt.Errorf("create state machine: %w", err)
	}
	e2e.stateMachine = aws.ToString(sm.StateMachineArn)
	undo = append(undo, func() {
		e2e.sfn.DeleteStateMachine(context.Background(), &sfn.DeleteStateMachineInput{StateMachineArn: sm.StateMachineArn})
	})

	e2e.clk = clock.NewManual(time.Now())
	e2e.sim = simulator.New(simulator.Config{Key: upstreamKey, Clock: e2e.clk})
	srv := httptest.NewServer(e2e.sim)
	undo = append(undo, srv.Close)
	e2e.simURL = srv.URL
	return cleanup, nil
}

// repoRoot is the directory holding go.mod, above the test's directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// findRIE returns the emulator: VIDGEN_RIE, else bin/aws-lambda-rie in the
// repository, else one it installs there. Having none is an error: these
// tests never skip.
func findRIE(root string) (string, error) {
	if p := os.Getenv("VIDGEN_RIE"); p != "" {
		if err := isExecutable(p); err != nil {
			return "", fmt.Errorf("VIDGEN_RIE: %w", err)
		}
		return p, nil
	}
	bin := filepath.Join(root, "bin")
	p := filepath.Join(bin, "aws-lambda-rie")
	if isExecutable(p) == nil {
		return p, nil
	}
	cmd := exec.Command("go", "install", rieModule+"@"+rieVersion)
	cmd.Dir = root
	// GOFLAGS may carry flags (such as -buildvcs) meant for this module.
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("no emulator: VIDGEN_RIE is unset, %s does not exist and %s failed: %v\n%s", p, cmd, err, out)
	}
	if err := isExecutable(p); err != nil {
		return "", fmt.Errorf("go install did not produce the emulator: %w", err)
	}
	return p, nil
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// lambdaFlags are make build's LAMBDA_FLAGS (TestBuildFlagsAreMakeBuilds):
// no RPC mode, no HTTP/2 in net/http (TestBootstrapsOmitHTTP2), no paths
// or symbols of the build machine.
var lambdaFlags = []string{"-tags", "lambda.norpc,nethttpomithttp2", "-trimpath", "-ldflags", "-s -w"}

// buildBootstraps builds each function for the host as Lambda runs it, a
// static bootstrap with make build's flags, into dir/<fn>/bootstrap.
func buildBootstraps(root, dir string, functions []string) (map[string]string, error) {
	paths := map[string]string{}
	errs := make([]error, len(functions))
	var wg sync.WaitGroup
	for i, fn := range functions {
		out := filepath.Join(dir, fn, "bootstrap")
		paths[fn] = out
		wg.Go(func() {
			cmd := exec.Command("go", slices.Concat([]string{"build"}, lambdaFlags, []string{"-o", out, "./functions/" + fn})...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s: %v\n%s", cmd, err, b)
			}
		})
	}
	wg.Wait()
	return paths, errors.Join(errs...)
}

// definition is the real video_job machine with each ${…} substitution
// replaced by a dummy Lambda ARN; moto only stores it.
func definition(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "statemachine", "video_job.asl.json"))
	if err != nil {
		return "", err
	}
	def := regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(string(b), func(m string) string {
		name := strings.Trim(m, "${}")
		if machine, ok := strings.CutSuffix(name, "StateMachineArn"); ok {
			return "arn:aws:states:" + region + ":" + account + ":stateMachine:vidgen-e2e-" + strings.ToLower(machine)
		}
		name = strings.TrimSuffix(name, "FunctionArn")
		return "arn:aws:lambda:" + region + ":" + account + ":function:vidgen-e2e-" + strings.ToLower(name)
	})
	if !json.Valid([]byte(def)) {
		return "", errors.New("video_job.asl.json is not valid JSON once substituted")
	}
	return def, nil
}

// freePorts returns n distinct ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are chosen, so none repeats
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// functionEnv is what template.yaml sets for fn, exactly the variables
// lambdafn.Required names, pointed at this test's resources.
func functionEnv(t testing.TB, fn string) map[string]string {
	t.Helper()
	values := map[string]string{
		lambdafn.EnvTable:                e2e.table,
		lambdafn.EnvStateMachine:         e2e.stateMachine,
		lambdafn.EnvKeysTable:            e2e.keysTable,
		lambdafn.EnvCursorSecret:         e2e.cursorSecret,
		lambdafn.EnvDeadline:             jobDeadlineSeconds,
		lambdafn.EnvQueueTimeout:         "21600",
		lambdafn.EnvUpstreamURL:          e2e.simURL,
		lambdafn.EnvUpstreamSecret:       e2e.upstreamSecret,
		lambdafn.EnvPollInterval:         pollIntervalSeconds,
		lambdafn.EnvBucket:               e2e.bucket,
		lambdafn.EnvVideoHosts:           "127.0.0.1",
		lambdafn.EnvWebhookSecret:        e2e.webhookSecret,
		lambdafn.EnvEventBus:             "default",
		lambdafn.EnvMaxInFlight:          "50",
		lambdafn.EnvMaxInFlightPerTenant: "25",
		lambdafn.EnvSpendCap:             "0",
		lambdafn.EnvReconcileMinAge:      "300",
		lambdafn.EnvReconcileGrace:       "300",
	}
	required := lambdafn.Required(fn)
	if required == nil {
		t.Fatalf("lambdafn.Required(%q) does not know the function", fn)
	}
	env := map[string]string{}
	for _, name := range required {
		v, ok := values[name]
		if !ok {
			t.Fatalf("%s requires %s, for which this test has no value", fn, name)
		}
		env[name] = v
	}
	// template.yaml's Globals give every function its stage.
	env[metrics.EnvStage] = "e2e"
	return env
}

// lambda is one function's bootstrap running under the emulator.
type lambda struct {
	fn     string
	url    string
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{}
	once   sync.Once
}

// startFunction runs fn's bootstrap under the emulator with vars as its
// function environment, and stops it when t ends. The emulator starts the
// bootstrap (its init) on the first invocation.
func startFunction(t testing.TB, fn string, vars map[string]string) *lambda {
	t.Helper()
	// A port found free can be taken before the emulator binds it; the
	// emulator then exits at once and another pair of ports is tried.
	for attempt := 1; ; attempt++ {
		l, err := tryStartFunction(t, fn, vars)
		if err == nil {
			return l
		}
		if attempt == 3 || !strings.Contains(l.out.String(), "address already in use") {
			t.Fatal(err)
		}
	}
}

func tryStartFunction(t testing.TB, fn string, vars map[string]string) (*lambda, error) {
	t.Helper()
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	runtimeAPI := "127.0.0.1:" + strconv.Itoa(ports[1])
	bootstrap := e2e.bootstraps[fn]
	cmd := exec.Command(e2e.rie,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", runtimeAPI,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap) // Lambda's /var/task
	// The emulator hands its own environment to the function: give it
	// only what Lambda would, and nothing of this process's AWS setup.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=test",
		"AWS_ENDPOINT_URL=" + e2e.endpoint,
		"AWS_ENDPOINT_URL_DYNAMODB=" + e2e.endpoint,
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_NAME=vidgen-e2e-" + fn,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + cmp.Or(timeouts[fn], defaultTimeout),
	}
	if v, ok := os.LookupEnv("AWS_CA_BUNDLE"); ok {
		cmd.Env = append(cmd.Env, "AWS_CA_BUNDLE="+v)
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		cmd.Env = append(cmd.Env, k+"="+vars[k])
	}
	l := &lambda{fn: fn, url: "http://" + addr + "/2015-03-31/functions/function/invocations", cmd: cmd, out: &syncbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = l.out, l.out
	// Its own process group, so that stopping it also stops the bootstrap.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the emulator for %s: %v", fn, err)
	}
	go func() { cmd.Wait(); close(l.exited) }()
	t.Cleanup(func() {
		l.stop()
		if t.Failed() {
			t.Logf("%s under the emulator printed:\n%s", fn, l.out)
		}
	})
	// The emulator opens its runtime API in a goroutine of its own: a
	// bootstrap started before that listens exits with "connection
	// refused", an init failure of the emulator's making. So wait for both.
	for deadline := time.Now().Add(readyWithin); ; time.Sleep(5 * time.Millisecond) {
		select {
		case <-l.exited:
			return l, fmt.Errorf("the emulator for %s exited before it listened:\n%s", fn, l.out)
		default:
		}
		if listens(addr) && listens(runtimeAPI) {
			return l, nil
		}
		if time.Now().After(deadline) {
			return l, fmt.Errorf("the emulator for %s did not listen on %s within %s", fn, addr, readyWithin)
		}
	}
}

// listens reports whether something accepts connections on addr.
func listens(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// stop kills the emulator and the bootstrap and waits until their output
// is all in l.out.
func (l *lambda) stop() {
	l.once.Do(func() {
		syscall.Kill(-l.cmd.Process.Pid, syscall.SIGKILL)
		<-l.exited
	})
}

// invoke posts payload to the emulator's invoke endpoint.
func (l *lambda) invoke(t testing.TB, payload []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), invokeWithin)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", l.fn, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke %s: read the answer: %v", l.fn, err)
	}
	return resp.StatusCode, body
}

// lambdaError is how the runtime API reports a handler's error.
type lambdaError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// invokeOK invokes and decodes a successful result into out.
func (l *lambda) invokeOK(t *testing.T, payload []byte, out any) {
	t.Helper()
	status, body := l.invoke(t, payload)
	var le lambdaError
	json.Unmarshal(body, &le)
	if status != http.StatusOK || le.ErrorType != "" {
		t.Fatalf("invoke %s = HTTP %d %s; want a result", l.fn, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("invoke %s: result %s: %v", l.fn, body, err)
	}
}

// invokeErr invokes and returns the function error it must report.
func (l *lambda) invokeErr(t *testing.T, payload []byte) lambdaError {
	t.Helper()
	status, body := l.invoke(t, payload)
	var le lambdaError
	if err := json.Unmarshal(body, &le); status != http.StatusOK || err != nil || le.ErrorType == "" {
		t.Fatalf("invoke %s = HTTP %d %s; want a function error", l.fn, status, body)
	}
	return le
}

// callAPI invokes the api function with an API Gateway event.
func (l *lambda) callAPI(t *testing.T, event []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	l.invokeOK(t, event, &resp)
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return resp
}

// loadEvent reads events/<name>, with jobID in place of the sample job id
// when jobID is not "".
func loadEvent(t testing.TB, name, jobID string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e2e.root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("events/%s is not valid JSON", name)
	}
	if jobID != "" {
		if !bytes.Contains(b, []byte(sampleJobID)) {
			t.Fatalf("events/%s does not hold the sample job id %s", name, sampleJobID)
		}
		b = bytes.ReplaceAll(b, []byte(sampleJobID), []byte(jobID))
	}
	return b
}

// withAuth returns event with its authorization header set to value, or
// removed when value is "".
func withAuth(t *testing.T, event []byte, value string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	headers := ev["headers"].(map[string]any)
	if value == "" {
		delete(headers, "authorization")
	} else {
		headers["authorization"] = value
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eventRequest is the generation request an API event carries.
func eventRequest(t *testing.T, name string, opts job.ParseOptions) job.Request {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(loadEvent(t, name, ""), &ev); err != nil {
		t.Fatal(err)
	}
	req, err := job.ParseRequest([]byte(ev.Body), opts)
	if err != nil {
		t.Fatalf("events/%s: %v", name, err)
	}
	return req
}

func store() *dynamostore.Store {
	return dynamostore.New(e2e.ddb, dynamostore.Config{Table: e2e.table})
}

func keyStore() *dynamokeys.Store { return dynamokeys.New(e2e.ddb, e2e.keysTable) }

func getJob(t *testing.T, id string) job.Job {
	t.Helper()
	j, err := store().Get(t.Context(), id)
	if err != nil {
		t.Fatalf("job %s in DynamoDB: %v", id, err)
	}
	return j
}

// executions lists the executions of the test's state machine named name.
func executions(t *testing.T, name string) []sfntypes.ExecutionListItem {
	t.Helper()
	var found []sfntypes.ExecutionListItem
	p := sfn.NewListExecutionsPaginator(e2e.sfn, &sfn.ListExecutionsInput{StateMachineArn: &e2e.stateMachine})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list executions: %v", err)
		}
		for _, e := range page.Executions {
			if aws.ToString(e.Name) == name {
				found = append(found, e)
			}
		}
	}
	return found
}

// wantExecution checks that exactly one execution of the job exists and
// that it carries only the job id.
func wantExecution(t *testing.T, jobID string) {
	t.Helper()
	found := executions(t, jobID)
	if len(found) != 1 {
		t.Fatalf("%d executions named %s, want 1", len(found), jobID)
	}
	out, err := e2e.sfn.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: found[0].ExecutionArn})
	if err != nil {
		t.Fatalf("describe execution %s: %v", jobID, err)
	}
	var input map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.Input)), &input); err != nil || len(input) != 1 || input["job_id"] != jobID {
		t.Errorf("execution input = %s, want {\"job_id\":%q}", aws.ToString(out.Input), jobID)
	}
}

// step runs a subtest that later ones depend on.
func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// submitted is the api function's answer to a submit.
func submitted(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d %s, want 200", resp.StatusCode, resp.Body)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("body %s: %v", resp.Body, err)
	}
	if len(body) != 2 || body["id"] == "" || body["status"] != string(job.Queued) {
		t.Fatalf("body %s, want {\"id\":…,\"status\":\"queued\"}", resp.Body)
	}
	return body["id"]
}

// wantStepOutput checks a step's result has every field the state machine
// reads, with the right JSON types, and decodes it.
func wantStepOutput(t *testing.T, raw map[string]any) steps.Output {
	t.Helper()
	for field, kind := range map[string]string{
		"job_id": "string", "status": "string", "submitted": "bool",
		"wait_seconds": "number", "failures": "number", "not_found": "number",
	} {
		ok := false
		switch raw[field].(type) {
		case string:
			ok = kind == "string"
		case bool:
			ok = kind == "bool"
		case float64:
			ok = kind == "number"
		}
		if !ok {
			t.Errorf("output field %s = %#v, want a %s", field, raw[field], kind)
		}
	}
	b, _ := json.Marshal(raw)
	var out steps.Output
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJobLifecycle takes one job through every function as the state
// machine would, and a second one through the Catch-all.
func TestJobLifecycle(t *testing.T) {
	debug := func(fn string) map[string]string {
		env := functionEnv(t, fn)
		env[logs.EnvLevel] = "DEBUG" // the most a bootstrap logs
		return env
	}
	apiFn := startFunction(t, "api", debug("api"))
	submitFn := startFunction(t, "submit", debug("submit"))
	pollFn := startFunction(t, "poll", debug("poll"))
	failFn := startFunction(t, "fail", debug("fail"))
	req := eventRequest(t, "api-submit.json", job.ParseOptions{})
	var id string

	step(t, "api-submit", func(t *testing.T) {
		id = submitted(t, apiFn.callAPI(t, loadEvent(t, "api-submit.json", "")))
		j := getJob(t, id)
		if j.Tenant != tenantA || j.Status != job.Queued || !reflect.DeepEqual(j.Request, req) || j.UpstreamID != "" {
			t.Errorf("record = tenant %q, status %q, upstream id %q, request %+v; want tenantA's queued %+v not yet submitted",
				j.Tenant, j.Status, j.UpstreamID, j.Request, req)
		}
		// The generation's deadline runs from the job's admission, its
		// last change (at once when no cap holds it back).
		if d := j.Deadline.Sub(j.UpdatedAt); d != 1800*time.Second {
			t.Errorf("deadline is %s after admission, want VIDGEN_JOB_DEADLINE_SECONDS=%s", d, jobDeadlineSeconds)
		}
		list, _, err := store().List(t.Context(), tenantA, job.Filter{}, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(list, func(j job.Job) bool { return j.ID == id }) {
			t.Errorf("tenantA's jobs in the by-tenant index do not include %s", id)
		}
		wantExecution(t, id)
	})

	step(t, "api-query", func(t *testing.T) {
		resp := apiFn.callAPI(t, loadEvent(t, "api-query.json", id))
		var g api.Generation
		if err := json.Unmarshal([]byte(resp.Body), &g); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("status %d %s, want 200 with a generation", resp.StatusCode, resp.Body)
		}
		if g.ID != id || g.Status != vidgen.Queued || g.Video != nil || g.Error != nil {
			t.Errorf("generation %s, want %s queued", resp.Body, id)
		}
	})

	t.Run("api-query keys", func(t *testing.T) {
		query := loadEvent(t, "api-query.json", id)
		for _, tc := range []struct {
			name, auth string
			status     int
		}{
			{"unknown key", "Bearer not-a-key", http.StatusUnauthorized},
			{"no key", "", http.StatusUnauthorized},
			{"not bearer", "Basic " + keyA, http.StatusUnauthorized},
			{"another tenant's key", "Bearer " + keyB, http.StatusNotFound},
		} {
			resp := apiFn.callAPI(t, withAuth(t, query, tc.auth))
			if resp.StatusCode != tc.status || strings.Contains(resp.Body, `"`+string(job.Queued)+`"`) {
				t.Errorf("%s: status %d %s, want %d without the job", tc.name, resp.StatusCode, resp.Body, tc.status)
			}
		}
	})

	// GET /v1/health with no key: the bootstrap checks moto's table, the
	// state machine's ARN and the upstream key secret's metadata.
	t.Run("api-health", func(t *testing.T) {
		resp := apiFn.callAPI(t, loadEvent(t, "api-health.json", ""))
		const want = `{"status":"ok","checks":{"state_machines":true,"store":true,"upstream_key":true},"failing":[]}`
		if resp.StatusCode != http.StatusOK || resp.Body != want {
			t.Errorf("status %d %s, want 200 %s", resp.StatusCode, resp.Body, want)
		}
	})

	t.Run("api-invalid", func(t *testing.T) {
		resp := apiFn.callAPI(t, loadEvent(t, "api-invalid.json", ""))
		var body struct {
			Error struct {
				Name    string           `json:"name"`
				Message string           `json:"message"`
				Fields  []job.FieldError `json:"fields"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &body); resp.StatusCode != http.StatusBadRequest || err != nil {
			t.Fatalf("status %d %s, want 400", resp.StatusCode, resp.Body)
		}
		want := []string{"aspect_ratio", "duration", "image_url", "seed", "style"}
		var got []string
		for _, f := range body.Error.Fields {
			got = append(got, f.Field)
			if f.Message == "" {
				t.Errorf("field %s has no message", f.Field)
			}
		}
		if body.Error.Name != "ValidationError" || !slices.Equal(got, want) {
			t.Errorf("error %s %v, want ValidationError naming %v", body.Error.Name, got, want)
		}
		if msg := "invalid request: check " + strings.Join(want, ", "); body.Error.Message != msg {
			t.Errorf("message %q, want %q", body.Error.Message, msg)
		}
	})

	t.Run("api-legacy-submit", func(t *testing.T) {
		legacy := submitted(t, apiFn.callAPI(t, loadEvent(t, "api-legacy-submit.json", "")))
		j := getJob(t, legacy)
		want := eventRequest(t, "api-legacy-submit.json", job.ParseOptions{AllowRatio: true})
		if legacy == id || j.Tenant != tenantA || !reflect.DeepEqual(j.Request, want) || j.Request.AspectRatio != "9:16" {
			t.Errorf("legacy job %s = tenant %q, request %+v; want a new job of tenantA with %+v", legacy, j.Tenant, j.Request, want)
		}
		wantExecution(t, legacy)
	})

	step(t, "submit", func(t *testing.T) {
		var raw map[string]any
		submitFn.invokeOK(t, loadEvent(t, "submit.json", id), &raw)
		out := wantStepOutput(t, raw)
		if out.JobID != id || !out.Submitted || out.WaitSeconds <= 0 || out.Status != job.Queued {
			t.Errorf("output %+v, want %s submitted and queued with a wait", out, id)
		}
		if n := e2e.sim.SubmissionsOf(req); n != 1 {
			t.Errorf("the simulator accepted %d submits of the request, want 1", n)
		}
		if j := getJob(t, id); j.UpstreamID == "" || j.SubmitStarted == nil || j.Status != job.Queued {
			t.Errorf("record = upstream id %q, submit started %v, status %q; want the upstream id recorded", j.UpstreamID, j.SubmitStarted, j.Status)
		}
	})

	t.Run("submit again", func(t *testing.T) {
		// A retried Submit whose first answer was lost must not submit twice.
		before := getJob(t, id)
		var raw map[string]any
		submitFn.invokeOK(t, loadEvent(t, "submit.json", id), &raw)
		if out := wantStepOutput(t, raw); !out.Submitted || out.WaitSeconds <= 0 {
			t.Errorf("output %+v, want submitted with a wait", out)
		}
		if n := e2e.sim.SubmissionsOf(req); n != 1 {
			t.Errorf("the simulator accepted %d submits of the request, want 1", n)
		}
		if j := getJob(t, id); j.UpstreamID != before.UpstreamID {
			t.Errorf("upstream id changed from %q to %q", before.UpstreamID, j.UpstreamID)
		}
	})

	step(t, "poll", func(t *testing.T) {
		var raw map[string]any
		pollFn.invokeOK(t, loadEvent(t, "poll.json", id), &raw)
		out := wantStepOutput(t, raw)
		if out.JobID != id || !out.Submitted || out.WaitSeconds <= 0 || (out.Status != job.Queued && out.Status != job.Generating) {
			t.Errorf("output %+v, want %s still queued or generating, with a wait", out, id)
		}
		// A Poll that learned nothing new hands its ask to the next one
		// (Output.Unrecorded) rather than writing it.
		if j := getJob(t, id); j.Polls+out.Unrecorded != 1 || j.Status.Terminal() {
			t.Errorf("record = %d polls (+%d handed on), status %q; want 1 poll, not ended", j.Polls, out.Unrecorded, j.Status)
		}
	})

	step(t, "poll completed", func(t *testing.T) {
		e2e.clk.Advance(time.Hour) // long past the simulator's queue and generation times
		var raw map[string]any
		pollFn.invokeOK(t, loadEvent(t, "poll.json", id), &raw)
		// The Poll that sees the job end announces it (the finish
		// function's work) and returns the execution's result.
		if out := wantStepOutput(t, raw); out.JobID != id || out.Status != job.Completed || out.Result == nil ||
			out.Result.Job.ID != id || out.Result.Job.Status != job.Completed {
			t.Errorf("output %+v, want %s completed, with the execution's result", out, id)
		}
		j := getJob(t, id)
		if j.Status != job.Completed || j.Video == nil || !strings.HasPrefix(j.Video.URL, e2e.simURL+"/files/") {
			t.Fatalf("record = status %q, video %+v; want completed with the simulator's video", j.Status, j.Video)
		}
		resp, _ := awstest.Fetch(t, http.MethodGet, j.Video.URL, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "video/mp4" {
			t.Errorf("GET %s = %d %s, want an MP4", j.Video.URL, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("api-query completed", func(t *testing.T) {
		resp := apiFn.callAPI(t, loadEvent(t, "api-query.json", id))
		var g api.Generation
		if err := json.Unmarshal([]byte(resp.Body), &g); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("status %d %s, want 200 with a generation", resp.StatusCode, resp.Body)
		}
		// The poll function archived the video; the api function links to
		// the copy with a URL S3 presigned.
		j := getJob(t, id)
		if j.Video == nil || j.Video.Key != "videos/"+id+".mp4" {
			t.Fatalf("record video %+v, want archived under videos/%s.mp4", j.Video, id)
		}
		if g.Status != vidgen.Completed || g.Video == nil || !strings.Contains(g.Video.URL, "/"+e2e.bucket+"/videos/"+id+".mp4?") ||
			!strings.Contains(g.Video.URL, "X-Amz-Signature=") {
			t.Fatalf("generation %s, want completed with a presigned link to the archived video", resp.Body)
		}
		video, err := http.Get(g.Video.URL)
		if err != nil {
			t.Fatal(err)
		}
		video.Body.Close()
		if video.StatusCode != http.StatusOK || video.Header.Get("Content-Type") != "video/mp4" {
			t.Errorf("GET the presigned link = %d %s, want the MP4", video.StatusCode, video.Header.Get("Content-Type"))
		}
	})

	t.Run("fail", func(t *testing.T) {
		other := submitted(t, apiFn.callAPI(t, loadEvent(t, "api-submit.json", "")))
		var raw map[string]any
		failFn.invokeOK(t, loadEvent(t, "fail.json", other), &raw)
		if out := wantStepOutput(t, raw); out.JobID != other || out.Status != job.Failed || out.Submitted {
			t.Errorf("output %+v, want %s ended as error, never submitted", out, other)
		}
		j := getJob(t, other)
		if j.Status != job.Failed || j.Error == nil || j.Error.Name != job.ErrNameInternal || !strings.Contains(j.Error.Message, "States.TaskFailed") {
			t.Errorf("record = status %q, error %+v; want error / %s naming States.TaskFailed", j.Status, j.Error, job.ErrNameInternal)
		}
		if n := e2e.sim.SubmissionsOf(req); n != 1 {
			t.Errorf("the simulator accepted %d submits of the request, want still 1", n)
		}
	})

	// Every bootstrap's own output, across the whole lifecycle, is free of
	// the upstream key and the API keys, and its lines about a job name the
	// job, its tenant and execution, and the Lambda request.
	for _, fn := range []*lambda{apiFn, submitFn, pollFn, failFn} {
		fn.stop()
		// And it carries the metrics of what the function did, as EMF
		// lines on stdout (internal/metrics checks them against the
		// specification).
		want := map[*lambda][]map[string]any{
			apiFn:    {{"AdmissionInFlight": nil}},
			submitFn: {{"JobsSubmitted": 1.0}, {"UpstreamResponses": 1.0, "Class": "2xx"}},
			pollFn:   {{"JobsEnded": 1.0, "Status": "completed"}, {"UpstreamResponses": 1.0, "Class": "2xx"}},
			failFn:   {{"JobsEnded": 1.0, "Status": "error", "Error": job.ErrNameInternal}},
		}[fn]
		for _, w := range want {
			if !hasEMF(fn.out.String(), w) {
				t.Errorf("%s printed no EMF line with %v (Stage e2e):\n%s", fn.fn, w, fn.out)
			}
		}
		for _, secret := range []string{upstreamKey, keyA, keyB} {
			if strings.Contains(fn.out.String(), secret) {
				t.Errorf("a bootstrap logged a secret:\n%s", fn.out)
			}
		}
		wantJobLines(t, fn)
	}
}

// wantJobLines checks a bootstrap's log lines (the JSON ones: the
// emulator's own are text) about a job: there are some, and each names
// the job, its tenant, its execution and the Lambda request id the
// emulator gave the invocation.
func wantJobLines(t *testing.T, fn *lambda) {
	t.Helper()
	n := 0
	for line := range strings.Lines(fn.out.String()) {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Errorf("%s: a log line is not JSON: %q", fn.fn, line)
			continue
		}
		if l[logs.JobID] == nil {
			continue
		}
		n++
		for _, k := range []string{logs.Tenant, logs.Execution, logs.RequestID} {
			if v, _ := l[k].(string); v == "" {
				t.Errorf("%s: a line about job %v has no %s: %s", fn.fn, l[logs.JobID], k, line)
			}
		}
	}
	if n == 0 {
		t.Errorf("%s logged no line about a job:\n%s", fn.fn, fn.out)
	}
}

// hasEMF reports whether out has an Embedded Metric Format line of
// namespace vidgen and Stage e2e holding every member of want (nil: any
// value).
func hasEMF(out string, want map[string]any) bool {
	for line := range strings.Lines(out) {
		var doc map[string]any
		if json.Unmarshal([]byte(line), &doc) != nil || doc["_aws"] == nil || doc["Stage"] != "e2e" ||
			!strings.Contains(line, `"Namespace":"vidgen"`) {
			continue
		}
		match := true
		for k, v := range want {
			got, ok := doc[k]
			match = match && ok && (v == nil || got == v)
		}
		if match {
			return true
		}
	}
	return false
}

// TestStarterAgainstStepFunctions starts one job's execution repeatedly
// through sfnexec.Starter against moto: every start after the first is
// harmless while the execution runs. Once it has ended, a Starter without
// Describe takes the refusal for done, one with Describe reports it.
func TestStarterAgainstStepFunctions(t *testing.T) {
	s := &sfnexec.Starter{Client: e2e.sfn, StateMachineARN: e2e.stateMachine}
	described := &sfnexec.Starter{Client: e2e.sfn, StateMachineARN: e2e.stateMachine, Describe: e2e.sfn}
	id := api.NewUUID()
	for i, starter := range []*sfnexec.Starter{s, s, described} {
		if err := starter.Start(t.Context(), id, id); err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
	}
	wantExecution(t, id)

	// An execution that ended keeps its name: a start is then refused
	// with ExecutionAlreadyExists.
	arn := executions(t, id)[0].ExecutionArn
	if _, err := e2e.sfn.StopExecution(t.Context(), &sfn.StopExecutionInput{ExecutionArn: arn}); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context(), id, id); err != nil {
		t.Errorf("start without Describe after the execution ended: %v", err)
	}
	var exists *sfntypes.ExecutionAlreadyExists
	if err := described.Start(t.Context(), id, id); !errors.As(err, &exists) {
		t.Errorf("start with Describe after the execution ended: %v, want ExecutionAlreadyExists", err)
	}
	wantExecution(t, id)

	missing := &sfnexec.Starter{Client: e2e.sfn, StateMachineARN: e2e.stateMachine + "-missing"}
	if err := missing.Start(t.Context(), id, id); err == nil {
		t.Error("start on a missing state machine succeeded")
	}
}

// TestStepErrorTypes checks the error names Step Functions sees through the
// real runtime API: a store failure is TransientError, which the machine's
// Retry matches; a job that does not exist is not retried.
func TestStepErrorTypes(t *testing.T) {
	for _, fn := range []string{"submit", "poll", "fail"} {
		t.Run(fn, func(t *testing.T) {
			event := fn + ".json"
			broken := functionEnv(t, fn)
			broken[lambdafn.EnvTable] = "vidgen-e2e-" + e2e.suffix + "-missing"
			le := startFunction(t, fn, broken).invokeErr(t, loadEvent(t, event, ""))
			if le.ErrorType != "TransientError" || !strings.Contains(le.ErrorMessage, "ResourceNotFoundException") {
				t.Errorf("with a missing table: %+v, want errorType TransientError about the missing table", le)
			}

			le = startFunction(t, fn, functionEnv(t, fn)).invokeErr(t, loadEvent(t, event, api.NewUUID()))
			if le.ErrorType == "TransientError" || !strings.Contains(le.ErrorMessage, "not found") {
				t.Errorf("for a job that does not exist: %+v, want a non-transient not-found error", le)
			}
		})
	}
}

// TestMissingEnvironment checks that a function without its first
// required variable (VIDGEN_TABLE; the authorizer's VIDGEN_KEYS_TABLE)
// fails its init, naming the variable, rather than starting
// half-configured.
func TestMissingEnvironment(t *testing.T) {
	for _, fn := range e2e.functions {
		if len(lambdafn.Required(fn)) == 0 {
			continue // needs none: TestWorkflowFunctions runs it with an empty environment
		}
		t.Run(fn, func(t *testing.T) {
			vars := functionEnv(t, fn)
			missing := lambdafn.Required(fn)[0]
			delete(vars, missing)
			l := startFunction(t, fn, vars)
			status, body := l.invoke(t, []byte(`{}`))
			l.stop() // all of its output is in now
			out := l.out.String()
			if status != http.StatusBadGateway {
				t.Errorf("invoke = HTTP %d %s, want 502: the init failed", status, body)
			}
			if !strings.Contains(out, "environment variable "+missing+" is not set") || !strings.Contains(out, "Runtime.ExitError") {
				t.Errorf("output does not say the runtime exited because %s is not set:\n%s", missing, out)
			}
			for _, v := range lambdafn.Required(fn) {
				if v != missing && strings.Contains(out, v+" is not set") {
					t.Errorf("output names %s, which is set", v)
				}
			}
		})
	}
}

// TestAuthorizer runs the authorizer under the emulator against the keys
// table: API Gateway's request in events/authorizer.json is allowed with its
// tenant in the context, any other request is denied without logging its
// key, and the api function serves the tenant such a context names.
func TestAuthorizer(t *testing.T) {
	authFn := startFunction(t, "authorizer", functionEnv(t, "authorizer"))
	event := loadEvent(t, "authorizer.json", "")
	authorize := func(t *testing.T, event []byte) events.APIGatewayV2CustomAuthorizerSimpleResponse {
		t.Helper()
		var resp events.APIGatewayV2CustomAuthorizerSimpleResponse
		authFn.invokeOK(t, event, &resp)
		return resp
	}
	if resp := authorize(t, event); !resp.IsAuthorized || len(resp.Context) != 1 || resp.Context["tenant"] != tenantA {
		t.Fatalf("events/authorizer.json: %+v, want tenantA authorized", resp)
	}

	revoked, hash, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := keyStore().Put(t.Context(), apikey.Key{Hash: hash, Tenant: tenantA, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := keyStore().Revoke(t.Context(), hash, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, auth string }{
		{"unknown key", "Bearer not-a-key"},
		{"no key", ""},
		{"not bearer", "Basic " + keyA},
		{"revoked key", "Bearer " + revoked},
	} {
		if resp := authorize(t, withAuth(t, event, tc.auth)); resp.IsAuthorized || len(resp.Context) != 0 {
			t.Errorf("%s: %+v, want a bare denial", tc.name, resp)
		}
	}

	// The api function takes the tenant from the context the authorizer
	// gave, with no key of its own to check.
	resp := authorize(t, withAuth(t, event, "Bearer "+keyB))
	submit := withAuth(t, loadEvent(t, "api-submit.json", ""), "")
	var ev map[string]any
	if err := json.Unmarshal(submit, &ev); err != nil {
		t.Fatal(err)
	}
	ev["requestContext"].(map[string]any)["authorizer"] = map[string]any{"lambda": resp.Context}
	if submit, err = json.Marshal(ev); err != nil {
		t.Fatal(err)
	}
	apiFn := startFunction(t, "api", functionEnv(t, "api"))
	if j := getJob(t, submitted(t, apiFn.callAPI(t, submit))); j.Tenant != tenantB {
		t.Errorf("job of tenant %q, want the authorizer's %s", j.Tenant, tenantB)
	}

	authFn.stop() // all of its output is in now
	for _, key := range []string{keyA, keyB, revoked, "not-a-key"} {
		if strings.Contains(authFn.out.String(), key) {
			t.Errorf("the authorizer logged a key:\n%s", authFn.out)
		}
	}
}
