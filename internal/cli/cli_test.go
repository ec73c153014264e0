package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/client"
	"github.com/vidgen/vidgen/internal/cli"
	"github.com/vidgen/vidgen/internal/local"
	"github.com/vidgen/vidgen/webhook"
)

const keyA = "cli-test-key-a"

// startLocal runs the real local runtime in-process at 200× speed and
// returns its URL.
func startLocal(t *testing.T) string {
	t.Helper()
	rt, err := local.Start(local.Config{
		Addr:      "127.0.0.1:0",
		APIKeys:   "tenantA:" + keyA,
		TimeScale: 200,
		DataDir:   t.TempDir(),
		Template:  filepath.Join("..", "..", "template.yaml"),
		// Six virtual hours are 108 s of real time: no job times out on a
		// loaded machine.
		JobDeadline: 6 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt.URL
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the command line against the API at url (VIDGEN_URL) with
// tenant A's key (VIDGEN_API_KEY), Wait polling every few milliseconds.
func run(t *testing.T, url string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"VIDGEN_URL": url, "VIDGEN_API_KEY": keyA, "VIDGEN_DATA_DIR": filepath.Join(t.TempDir(), "data")}
	code := cli.Run(t.Context(), args, cli.Env{
		Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv:        func(k string) string { return env[k] },
		ClientOptions: []client.Option{client.WithPollInterval(5*time.Millisecond, 20*time.Millisecond), client.WithBackoff(time.Millisecond, 5*time.Millisecond)},
	})
	return result{code, stdout.String(), stderr.String()}
}

// pngFile writes a small PNG and returns its path.
func pngFile(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 18))
	for x := range 32 {
		img.Set(x, x%18, color.RGBA{R: 200, A: 255})
	}
	p := filepath.Join(t.TempDir(), "frame.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// submit --wait --out from a local image file: the image goes as a data
// URI, a progress bar runs on stderr, and the video lands in the file.
func TestSubmitWaitOut(t *testing.T) {
	url := startLocal(t)
	out := filepath.Join(t.TempDir(), "video.mp4")
	r := run(t, url, "", "submit", "--image", pngFile(t), "--prompt", "a red line", "--duration", "10", "--ratio", "9:16", "--out", out)
	if r.code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	video, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(video) < 8 || string(video[4:8]) != "ftyp" {
		t.Fatalf("%s is not an MP4 (%d bytes)", out, len(video))
	}
	for _, want := range []string{"submitted ", "completed", "saved " + out} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "status    completed") {
		t.Errorf("stdout does not show the completed job:\n%s", r.stdout)
	}
	parts, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*.part"))
	if len(parts) > 0 {
		t.Errorf("partial files left: %v", parts)
	}
}

// --json prints the API's records on stdout, one JSON value per command,
// for submit, get, wait, list and cancel.
func TestJSONOutputs(t *testing.T) {
	url := startLocal(t)
	var sub vidgen.Generation
	r := run(t, url, "", "submit", "--image", "https://example.com/a.jpg", "--prompt", "sim:never", "--json")
	if r.code != cli.ExitOK || json.Unmarshal([]byte(r.stdout), &sub) != nil || sub.ID == "" || sub.Status != vidgen.Queued {
		t.Fatalf("submit --json: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var got vidgen.Generation
	if r := run(t, url, "", "get", sub.ID, "--json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil || got.ID != sub.ID {
		t.Errorf("get --json: exit %d, stdout %q", r.code, r.stdout)
	}
	var listed []vidgen.Generation
	if r := run(t, url, "", "list", "--json", "--limit", "5"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &listed) != nil || len(listed) != 1 || listed[0].ID != sub.ID {
		t.Errorf("list --json: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := run(t, url, "", "list", "--json", "--model", "klingai/v2.1-master-text-to-video"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &listed) != nil || len(listed) != 0 {
		t.Errorf("list --model of another model: exit %d, stdout %q; want no job", r.code, r.stdout)
	}
	var cancelled vidgen.Generation
	if r := run(t, url, "", "cancel", "--json", sub.ID); r.code != 0 || json.Unmarshal([]byte(r.stdout), &cancelled) != nil ||
		cancelled.Status != vidgen.Failed || cancelled.Error == nil || cancelled.Error.Name != "Cancelled" {
		t.Errorf("cancel --json: exit %d, stdout %q", r.code, r.stdout)
	}
	// wait on a cancelled job: it ended in error, so exit 1, the record on stdout.
	var waited vidgen.Generation
	if r := run(t, url, "", "wait", sub.ID, "--json"); r.code != cli.ExitFailed || json.Unmarshal([]byte(r.stdout), &waited) != nil || waited.Status != vidgen.Failed {
		t.Errorf("wait --json on a cancelled job: exit %d, stdout %q", r.code, r.stdout)
	}
	// An API error with --json: exit 3, the error as JSON on stderr.
	r = run(t, url, "", "get", "no-such-job", "--json")
	var e struct {
		Error struct {
			Status int    `json:"status"`
			Name   string `json:"name"`
		} `json:"error"`
	}
	if r.code != cli.ExitAPIError || json.Unmarshal([]byte(r.stderr), &e) != nil || e.Error.Status != 404 {
		t.Errorf("get of an unknown job --json: exit %d, stderr %q", r.code, r.stderr)
	}

	// submit --json prints the fields the API's answer has, no zero
	// created_at, polls or null video it never sent: the same fields as
	// the answer to the same request, replayed by its Idempotency-Key
	// (whose status may have moved on).
	r = run(t, url, "", "submit", "--image", "https://example.com/a.jpg", "--prompt", "sim:never", "--idempotency-key", "k1", "--json")
	printed := map[string]any{}
	if r.code != cli.ExitOK || json.Unmarshal([]byte(r.stdout), &printed) != nil {
		t.Fatalf("submit --json: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	req, err := http.NewRequest("POST", url+client.PathGenerations, strings.NewReader(`{"model":"gen3a_turbo","image_url":"https://example.com/a.jpg","prompt":"sim:never"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(client.HeaderIdempotencyKey, "k1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answered := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&answered); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the API's answer: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if p, a := slices.Sorted(maps.Keys(printed)), slices.Sorted(maps.Keys(answered)); !slices.Equal(p, a) {
		t.Errorf("submit --json printed %v, the API answers %v", printed, answered)
	}
}

// get and list show which model each job used: get a line of its own,
// list a MODEL column holding the whole id, aligned under its header.
func TestGetAndListShowTheModel(t *testing.T) {
	url := startLocal(t)
	const kling = "klingai/v2.1-master-text-to-video"
	ids := map[string]string{}
	for _, args := range [][]string{
		{"submit", "--image", "https://example.com/a.jpg", "--prompt", "sim:never", "--json"},
		{"submit", "--model", kling, "--prompt", "a fox sim:never", "--json"},
	} {
		var g vidgen.Generation
		r := run(t, url, "", args...)
		if r.code != cli.ExitOK || json.Unmarshal([]byte(r.stdout), &g) != nil {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
		model := client.DefaultModel
		if args[1] == "--model" {
			model = kling
		}
		ids[g.ID] = model
	}
	for id, model := range ids {
		if r := run(t, url, "", "get", id); r.code != cli.ExitOK || !regexp.MustCompile(`(?m)^model +`+regexp.QuoteMeta(model)+`$`).MatchString(r.stdout) {
			t.Errorf("get %s: exit %d, stdout\n%s\nwant a line model %s", id, r.code, r.stdout, model)
		}
	}
	r := run(t, url, "", "list")
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if r.code != cli.ExitOK || len(lines) != 3 {
		t.Fatalf("list: exit %d, stdout\n%s", r.code, r.stdout)
	}
	col := strings.Index(lines[0], "MODEL")
	if fmt.Sprint(strings.Fields(lines[0])) != "[ID STATUS CREATED MODEL DETAIL]" {
		t.Fatalf("list header %q lacks MODEL between CREATED and DETAIL", lines[0])
	}
	for _, line := range lines[1:] {
		id, _, _ := strings.Cut(line, " ")
		if model := ids[id]; model == "" || !strings.HasPrefix(line[col:], model+" ") {
			t.Errorf("list row %q: want model %q at column %d", line, model, col)
		}
	}
}

// A job that ends in error exits 1 and says why.
func TestFailedJobExits1(t *testing.T) {
	url := startLocal(t)
	r := run(t, url, "", "submit", "--image", "https://example.com/a.jpg", "--prompt", "sim:error", "--wait")
	if r.code != cli.ExitFailed || !strings.Contains(r.stderr, "failed: ") {
		t.Fatalf("exit %d, stderr %q; want 1 and the job's error", r.code, r.stderr)
	}
}

// wait --timeout on a job that runs on says so, with the job's status,
// and exits 4: not the failed call the expired deadline makes of it.
func TestWaitTimeoutExits4(t *testing.T) {
	url := startLocal(t)
	var sub vidgen.Generation
	r := run(t, url, "", "submit", "--image", "https://example.com/a.jpg", "--prompt", "sim:never", "--json")
	if r.code != cli.ExitOK || json.Unmarshal([]byte(r.stdout), &sub) != nil {
		t.Fatalf("submit: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	still := regexp.MustCompile(`(?m)^vidgen wait: timed out after 50ms: job ` + sub.ID + ` is still (queued|generating)\n$`)
	if r := run(t, url, "", "wait", sub.ID, "--timeout", "50ms"); r.code != cli.ExitTimeout || !still.MatchString(r.stderr) {
		t.Errorf("wait --timeout: exit %d, stderr %q; want 4 and %s", r.code, r.stderr, still)
	}
	r = run(t, url, "", "wait", sub.ID, "--timeout", "50ms", "--json")
	var e struct {
		Error struct {
			Status    *int          `json:"status"`
			JobStatus vidgen.Status `json:"job_status"`
			Name      string        `json:"name"`
			Message   string        `json:"message"`
		} `json:"error"`
	}
	if r.code != cli.ExitTimeout || e.Error.Status != nil || json.Unmarshal([]byte(r.stderr), &e) != nil || e.Error.Name != "Timeout" ||
		(e.Error.JobStatus != vidgen.Queued && e.Error.JobStatus != vidgen.Generating) || !strings.HasPrefix(e.Error.Message, "timed out after 50ms: job "+sub.ID) {
		t.Errorf("wait --timeout --json: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// The API's refusal of a request exits 3 and names the bad field.
func TestAPIErrorExits3(t *testing.T) {
	url := startLocal(t)
	r := run(t, url, "", "submit", "--image", "http://example.com/a.jpg")
	if r.code != cli.ExitAPIError || !strings.Contains(r.stderr, "image_url") {
		t.Fatalf("exit %d, stderr %q; want 3 naming image_url", r.code, r.stderr)
	}
	if r := run(t, "http://127.0.0.1:1", "", "get", "x"); r.code != cli.ExitAPIError {
		t.Errorf("unreachable API: exit %d, want 3", r.code)
	}
}

// noSleep is a client clock on which a retry's wait is counted and cut
// short, so that a test sees whether the client would have waited.
type noSleep struct{ sleeps atomic.Int32 }

func (*noSleep) Now() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
func (c *noSleep) Sleep(context.Context, time.Duration) error {
	c.sleeps.Add(1)
	return errors.New("the client waited to retry")
}

// A submit refused for the daily spend cap exits 3 at once with the cap's
// message, submit and batch alike: the client does not retry a refusal
// that holds until UTC midnight.
func TestSpendCapExits3AtOnce(t *testing.T) {
	const msg = "the daily spend cap of 50 credits is reached: 50 credits recorded on 2026-03-01 (UTC); new jobs are admitted again from 2026-03-02T00:00:00Z"
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "43200")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintf(w, `{"error":{"name":"SpendCapReached","message":%q,"spend_cap":{"daily_cap":50,"credits_used":50,"day":"2026-03-01","resets_at":"2026-03-02T00:00:00Z"}}}`, msg)
	}))
	t.Cleanup(srv.Close)
	batch := filepath.Join(t.TempDir(), "one.jsonl")
	if err := os.WriteFile(batch, []byte(`{"image_url":"https://example.com/a.jpg"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"submit", "--image", "https://example.com/a.jpg"},
		{"batch", batch},
	} {
		requests.Store(0)
		clk := &noSleep{}
		var stdout, stderr bytes.Buffer
		env := map[string]string{"VIDGEN_URL": srv.URL, "VIDGEN_API_KEY": keyA, "VIDGEN_DATA_DIR": filepath.Join(t.TempDir(), "data")}
		code := cli.Run(t.Context(), args, cli.Env{
			Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
			Getenv:        func(k string) string { return env[k] },
			ClientOptions: []client.Option{client.WithClock(clk)},
		})
		if code != cli.ExitAPIError || !strings.Contains(stdout.String()+stderr.String(), msg) {
			t.Errorf("vidgen %s: exit %d, stdout %q, stderr %q; want 3 and the cap's message", args[0], code, stdout.String(), stderr.String())
		}
		if n := requests.Load(); n != 1 || clk.sleeps.Load() != 0 {
			t.Errorf("vidgen %s: %d requests, %d waits; want one request, no wait", args[0], n, clk.sleeps.Load())
		}
	}
}

// Wrong command lines exit 2 before any request is made (the URL is
// unreachable).
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.png")
	if err := os.WriteFile(big, make([]byte, 4<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not an image"), 0o600); err != nil {
		t.Fatal(err)
	}
	badLine := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(badLine, []byte("{\"prompt\":\"ok\",\"image_url\":\"https://example.com/a.jpg\"}\n{\"promt\":\"typo\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: vidgen COMMAND"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"submit", "--prompt", "x"}, "--image is required"},
		{[]string{"submit", "--image", "https://example.com/a.jpg", "--duration", "7"}, "--duration must be 5 or 10"},
		{[]string{"submit", "--image", "https://example.com/a.jpg", "--ratio", "4:3"}, "--ratio must be 16:9 or 9:16"},
		{[]string{"submit", "--image", "https://example.com/a.jpg", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"submit", "--image", big}, "is 4.0 MiB; the API takes images up to 4.0 MiB (4194304 bytes)"},
		{[]string{"submit", "--image", text}, "is text/plain; charset=utf-8; the API takes PNG, JPEG or WebP"},
		{[]string{"submit", "--image", filepath.Join(dir, "missing.png")}, "no such file"},
		{[]string{"get"}, "give one job id"},
		{[]string{"cancel", "a", "b"}, "give one job id, got 2"},
		{[]string{"list", "--status", "done"}, "--status must be"},
		{[]string{"download", "x"}, "--out is required"},
		{[]string{"batch", filepath.Join(dir, "missing.jsonl")}, "no such file"},
		{[]string{"batch", badLine}, "line 2: promt: unknown field: model gen3a_turbo takes "},
		{[]string{"submit", "--image", "https://example.com/a.jpg", "--param", "seed"}, "want NAME=VALUE"},
		{[]string{"submit", "--image", "https://example.com/a.jpg", "--duration", "10", "--param", "duration=5"}, "--param duration repeats --duration"},
		{[]string{"submit", "--image", "https://example.com/a.jpg", "--param", "model=x"}, "--param model repeats --model"},
		{[]string{"submit", "--image", "https://example.com/a.jpg", "--param", "seed=1", "--param", "seed=2"}, "--param seed is given twice"},
		{[]string{"submit", "--model", "", "--prompt", "x"}, "--model must name a model"},
		{[]string{"models", "a", "b"}, "at most one model id"},
		{[]string{"webhook", "check"}, "one subcommand, verify"},
		{[]string{"webhook", "verify", "--id", "x"}, "--secret is required"},
		{[]string{"keys", "create"}, "-tenant is required"},
	} {
		r := run(t, "http://127.0.0.1:1", "", tc.args...)
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("vidgen %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
		if len(tc.args) < 2 || tc.args[0] == "keys" || tc.args[1] == "check" || strings.Contains(tc.want, "flag provided") || strings.Contains(tc.want, "line 2:") {
			continue // no command to take --json, an error before it is parsed, or bad lines (TestBatchTellsEveryBadLine)
		}
		// With --json (first, so that a flag error after it is JSON too),
		// the same error in the documented shape.
		args := slices.Insert(slices.Clone(tc.args), 1, "--json")
		if tc.args[0] == "webhook" {
			args = slices.Insert(slices.Clone(tc.args), len(tc.args), "--json")
		}
		r = run(t, "http://127.0.0.1:1", "", args...)
		var e struct {
			Error struct {
				Name    string `json:"name"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.stderr), &e); r.code != cli.ExitUsage || err != nil || e.Error.Name != "UsageError" || !strings.Contains(e.Error.Message, tc.want) {
			t.Errorf("vidgen %s: exit %d, stderr %q; want 2 and a UsageError %q", strings.Join(args, " "), r.code, r.stderr, tc.want)
		}
	}
}

// Every command answers -h and --help with its usage on stdout, exit 0.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"", "submit", "get", "wait", "list", "cancel", "download", "batch", "keys", "webhook", "webhook verify", "models"} {
		for _, h := range []string{"-h", "--help"} {
			args := append(strings.Fields(cmd), h)
			r := run(t, "http://127.0.0.1:1", "", args...)
			if r.code != cli.ExitOK || !strings.Contains(r.stdout, "usage:") {
				t.Errorf("vidgen %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
		}
	}
	if r := run(t, "", "", "submit", "-h"); !strings.Contains(r.stdout, "-image") || !strings.Contains(r.stdout, "-model") ||
		!strings.Contains(r.stdout, "-param") || !strings.Contains(r.stdout, "exit codes") {
		t.Errorf("submit -h does not list --image, --model, --param and the exit codes:\n%s", r.stdout)
	}
}

// The top-level help's list line names every flag that vidgen list -h
// and docs/cli.md's command table give it.
func TestHelpListsListFlags(t *testing.T) {
	var top string
	for l := range strings.Lines(run(t, "", "", "-h").stdout) {
		if strings.HasPrefix(l, "  list ") {
			top = l
		}
	}
	own, _, _ := strings.Cut(run(t, "", "", "list", "-h").stdout, "\n")
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(list [^`]*)` \\|").FindSubmatch(docs)
	if row == nil || top == "" {
		t.Fatalf("no list line in vidgen -h (%q) or docs/cli.md's table (%q)", top, row)
	}
	flag := regexp.MustCompile(`--[a-z-]+`)
	flags := slices.Compact(slices.Sorted(slices.Values(append(flag.FindAllString(own, -1), flag.FindAllString(string(row[1]), -1)...))))
	for _, f := range flags {
		if !strings.Contains(top, f) {
			t.Errorf("vidgen -h's list line %q lacks %s (vidgen list -h: %q; docs/cli.md: %q)", top, f, own, row[1])
		}
	}
}

// batch submits one job per line (local image paths relative to the
// file), reports each, and with --wait waits for them all; a refused line
// exits 3 after the others are submitted.
func TestBatch(t *testing.T) {
	url := startLocal(t)
	dir := filepath.Dir(pngFile(t))
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.jsonl", `{"image_url":"frame.png","prompt":"one"}

{"image_url":"https://example.com/b.jpg","prompt":"two","duration":10}
`)
	r := run(t, url, "", "batch", good, "--wait", "--json", "--key-prefix", "nightly")
	var items []struct {
		Line   int           `json:"line"`
		Key    string        `json:"idempotency_key"`
		ID     string        `json:"id"`
		Status vidgen.Status `json:"status"`
	}
	if r.code != cli.ExitOK || json.Unmarshal([]byte(r.stdout), &items) != nil || len(items) != 2 {
		t.Fatalf("batch --wait --json: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for i, it := range items {
		if it.ID == "" || it.Status != vidgen.Completed || it.Key != fmt.Sprintf("nightly-%d", i) || it.Line != []int{1, 3}[i] {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	// A line the API refuses though the built-in catalogue takes it: its
	// key, nightly-1, was the second line's of good.jsonl, with another
	// request. The first is good.jsonl's own first line, answered again.
	mixed := write("mixed.jsonl", `{"image_url":"frame.png","prompt":"one"}
{"image_url":"https://example.com/a.jpg","duration":5}
`)
	r = run(t, url, "", "batch", mixed, "--key-prefix", "nightly")
	if r.code != cli.ExitAPIError || !strings.Contains(r.stdout, "line 2: not submitted: vidgen API: 422 Unprocessable Entity: IdempotencyKeyReused: this Idempotency-Key") ||
		!strings.Contains(r.stdout, "2 lines: 1 submitted, 1 refused") {
		t.Errorf("batch with a bad line: exit %d, stdout %q", r.code, r.stdout)
	}
	// With --json a refused line's error is the API's: its message apart
	// from its status and name; the batch's own error is named too.
	r = run(t, url, "", "batch", mixed, "--json", "--key-prefix", "nightly")
	var refused []struct {
		Error *vidgen.ErrorDetail `json:"error"`
	}
	var e struct {
		Error struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if r.code != cli.ExitAPIError || json.Unmarshal([]byte(r.stdout), &refused) != nil || len(refused) != 2 || refused[1].Error == nil ||
		refused[1].Error.Name != "IdempotencyKeyReused" || !strings.HasPrefix(refused[1].Error.Message, "this Idempotency-Key was used") {
		t.Errorf("batch --json with a refused line: exit %d, stdout %q", r.code, r.stdout)
	}
	if json.Unmarshal([]byte(r.stderr), &e) != nil || e.Error.Name != "NotSubmitted" || e.Error.Message != "1 of 2 lines were not submitted" {
		t.Errorf("batch --json with a refused line: stderr %q; want a NotSubmitted error", r.stderr)
	}
}

// batch checks every line as the API would, by the catalogue built in,
// and tells every bad line at once, submitting nothing (the API is
// unreachable: a submit would exit 3).
func TestBatchTellsEveryBadLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.jsonl")
	lines := `{"image_url":"https://example.com/a.jpg","prompt":"fine"}
{"image_url":"https://example.com/a.jpg","promt":"typo"}
{"model":"no-such-model","prompt":"x"}
{"model":"google/veo3","prompt":"x","duration":5}
not json
{"model":"google/veo3","prompt":"fine"}
`
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "http://127.0.0.1:1", "", "batch", file)
	for _, want := range []string{
		"4 bad lines, nothing submitted:",
		"\n  line 2: promt: unknown field: model gen3a_turbo takes ",
		"\n  line 3: model: unknown model \"no-such-model\" (vidgen models lists them)",
		"\n  line 4: duration: must be one of 4, 6, 8",
		"\n  line 5: body: must be a JSON object: invalid character 'o'",
	} {
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, want) {
			t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, want)
		}
	}
	if strings.Contains(r.stderr, "line 1:") || strings.Contains(r.stderr, "line 6:") {
		t.Errorf("a good line is told bad: %q", r.stderr)
	}
	r = run(t, "http://127.0.0.1:1", "", "batch", "--json", file)
	var e struct {
		Error struct {
			Name   string `json:"name"`
			Fields []struct {
				Line  int    `json:"line"`
				Field string `json:"field"`
			} `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || r.code != cli.ExitUsage || e.Error.Name != "UsageError" {
		t.Fatalf("batch --json: exit %d, stderr %q", r.code, r.stderr)
	}
	var got []string
	for _, f := range e.Error.Fields {
		got = append(got, fmt.Sprintf("%d %s", f.Line, f.Field))
	}
	if want := []string{"2 promt", "3 model", "4 duration", "5 body"}; !slices.Equal(got, want) {
		t.Errorf("batch --json fields %v, want %v", got, want)
	}
}

// webhook verify accepts what vidgen signed (exit 0) and refuses a
// tampered body (exit 1).
func TestWebhookVerify(t *testing.T) {
	secret := webhook.SecretPrefix + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	body := `{"type":"video.generation.completed","timestamp":"2026-03-01T12:00:00Z","data":{"id":"j1","status":"completed"}}`
	now := time.Now()
	sig, err := webhook.Sign(secret, "msg_j1", now, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"webhook", "verify", "--secret", secret, "--id", "msg_j1", "--timestamp", fmt.Sprint(now.Unix()), "--signature", sig}
	if r := run(t, "", body, args...); r.code != cli.ExitOK || !strings.Contains(r.stdout, "ok: video.generation.completed for job j1") {
		t.Errorf("valid: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", strings.Replace(body, "j1", "j2", 1), args...); r.code != cli.ExitFailed || !strings.Contains(r.stdout, "invalid") {
		t.Errorf("tampered: exit %d, stdout %q", r.code, r.stdout)
	}
	headers := []string{"webhook", "verify", "--json", "--secret", secret, "--header", "webhook-id: msg_j1",
		"--header", "webhook-timestamp: " + fmt.Sprint(now.Unix()), "--header", "webhook-signature: " + sig}
	if r := run(t, "", body, headers...); r.code != cli.ExitOK || !strings.HasPrefix(r.stdout, `{"ok":true`) {
		t.Errorf("--header form: exit %d, stdout %q", r.code, r.stdout)
	}
}

// keys runs vidgen-keys' commands on local mode's key store.
func TestKeys(t *testing.T) {
	var stdout, stderr bytes.Buffer
	dir := t.TempDir()
	env := cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string {
		return map[string]string{"VIDGEN_DATA_DIR": dir}[k]
	}}
	if code := cli.Run(context.Background(), []string{"keys", "create", "-tenant", "workflow"}, env); code != 0 || !strings.Contains(stdout.String(), "tenant  workflow") {
		t.Fatalf("keys create: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := cli.Run(context.Background(), []string{"keys", "list"}, env); code != 0 || !strings.Contains(stdout.String(), "workflow") {
		t.Errorf("keys list: exit %d, stdout %q", code, stdout.String())
	}
}
