package local

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/vidgen/vidgen/internal/catalog"
)

// chromium finds the browser the console test drives: VIDGEN_CHROMIUM, or
// Debian's chromium on the PATH, which make test installs when absent.
// Without one the test fails, never skips: the console would go untested.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VIDGEN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium to test the console with: run `make chromium` (it installs Debian's chromium), or set VIDGEN_CHROMIUM to a Chrome or Chromium binary")
	return ""
}

// testPNG writes a small PNG for the page to upload.
func testPNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 36))
	for x := range 64 {
		for y := range 36 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 7), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mountain.png")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConsoleInBrowser drives the console in headless Chromium against a
// real local runtime: sign in, upload an image and submit, watch a job in
// progress, play a finished video, cancel the running job. Every wait is
// for a condition in the page, never a fixed time. With
// VIDGEN_SCREENSHOT=1 it saves docs/console.png, which the README shows.
func TestConsoleInBrowser(t *testing.T) {
	exe := chromium(t)
	cfg := testConfig(t)
	// A slower clock than the other tests': a job in progress stays on the
	// page long enough to be seen, and one that never ends (sim:never)
	// stays within its deadline until the test cancels it.
	cfg.TimeScale = 100
	cfg.JobDeadline = 24 * time.Hour
	rt := start(t, cfg)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(1000, 900),
		// The test clicks Play; this keeps a headless quirk from refusing it.
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses root (CI, containers)
	}
	// The one bound on every wait below: generous, for a loaded machine.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	defer cancelBrowser()
	// fail ends the test with the page's state, to see what went wrong.
	fail := func(what string, err error) {
		t.Helper()
		// On a context of its own: ctx may be the one that ended.
		peek, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		page, _ := chromedp.Run(peek, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: %v\npage:\n%s", what, err, page)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			fail(what, err)
		}
	}
	eval := func(what, expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			fail(what, err)
		}
		return v
	}
	// until waits for a JavaScript condition to hold in the page.
	until := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))
	}
	css := func(format string, args ...any) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(format, args...)) }
	row := func(id string) string { return fmt.Sprintf(`document.querySelector('tr[data-id="%s"]')`, id) }
	image := testPNG(t)
	submit := func(prompt string) string {
		t.Helper()
		do("submit "+prompt,
			chromedp.SetUploadFiles(css("#image-file"), []string{image}),
			chromedp.SetValue(css("#prompt"), prompt),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("submit-status").textContent = ""`),
			chromedp.Click(css("#submit-button")),
			until(`document.getElementById("submit-status").textContent.startsWith("Submitted job ")`),
		)
		return eval("read the job id", `document.getElementById("submit-status").textContent.slice(14, -1)`)
	}

	start := time.Now()
	// A wrong key is refused on the page; the right one signs in.
	do("refuse a wrong key",
		chromedp.Navigate(rt.URL+"/"),
		chromedp.WaitVisible(css("#key")),
		chromedp.SendKeys(css("#key"), "not-a-key"),
		chromedp.Click(css("#signin-form button[type=submit]")),
		until(`document.getElementById("signin-status").textContent === "That key was refused."`),
	)
	do("sign in",
		chromedp.SetValue(css("#key"), keyA),
		chromedp.Click(css("#signin-form button[type=submit]")),
		chromedp.WaitVisible(css("#submit-form")),
		until(fmt.Sprintf(`sessionStorage.getItem("vidgen.apiKey") === %q`, keyA)),
	)
	// Every control has a name a screen reader can say.
	if unnamed := eval("find unnamed controls", `[...document.querySelectorAll("input, textarea, button, select")]
		.filter(e => !(e.labels?.length || e.getAttribute("aria-label") || e.textContent.trim()))
		.map(e => e.outerHTML).join("\n")`); unnamed != "" {
		t.Errorf("controls without an accessible name:\n%s", unnamed)
	}

	// A job that never ends shows as in progress, with a bar and Cancel.
	running := submit("A slow dragon over the ridge sim:never")
	do("a job in progress",
		until(fmt.Sprintf(`["queued", "generating"].includes(%s?.dataset.status)`, row(running))),
		until(row(running)+`.querySelector("progress") !== null && `+row(running)+`.querySelector('[data-action="cancel"]') !== null`),
	)
	// A job that completes can be played in the page.
	done := submit("A dragon over the mountain")
	do("a finished job plays",
		until(row(done)+`?.dataset.status === "completed"`),
		chromedp.Click(css(`tr[data-id="%s"] [data-action="play"]`, done)),
		until(`(v => v.readyState >= 2 && v.currentTime > 0)(document.getElementById("video"))`),
	)
	t.Logf("video: %s", eval("read the video", `(v => "readyState " + v.readyState + ", currentTime " + v.currentTime.toFixed(2) + ", " + v.videoWidth + "x" + v.videoHeight)(document.getElementById("video"))`))
	if os.Getenv("VIDGEN_SCREENSHOT") == "1" {
		do("pause", chromedp.Evaluate[chromedp.Void](`document.getElementById("video").pause()`))
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			fail("screenshot", err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "console.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The running job is cancelled from the page.
	do("cancel",
		chromedp.Click(css(`tr[data-id="%s"] [data-action="cancel"]`, running)),
		until(row(running)+`.dataset.status === "error" && `+row(running)+`.textContent.includes("cancelled")`),
	)
	// The API agrees with the page.
	if r := call(t, "GET", rt.URL+"/v2/video/generations?generation_id="+running, keyA, "", ""); r.status != 200 ||
		!strings.Contains(r.raw, `"Cancelled"`) {
		t.Errorf("the cancelled job reads %d %s", r.status, r.raw)
	}

	// The form offers every catalogued model, gen3a_turbo first chosen,
	// and shows the chosen model's own fields.
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	do("the models are offered",
		until(fmt.Sprintf(`document.getElementById("model").options.length === %d`, len(c.IDs()))),
		until(`document.getElementById("model").value === "gen3a_turbo" && !document.getElementById("gen3a-choices").hidden && document.getElementById("model-fields").hidden`),
		// What the page sends is kept, to compare with what it should.
		chromedp.Evaluate[chromedp.Void](`(f => { window.sent = []; window.fetch = (u, init) => { if (init?.method === "POST") window.sent.push(init.body); return f(u, init); }; })(window.fetch)`),
		chromedp.Evaluate[chromedp.Void](`(s => { s.value = "klingai/v2-master-text-to-video"; s.dispatchEvent(new Event("change")); })(document.getElementById("model"))`),
		until(`!document.getElementById("model-fields").hidden && document.getElementById("gen3a-choices").hidden && document.getElementById("image-fields").hidden`),
	)
	form := eval("read the model's fields", `[...document.querySelectorAll("#model-field-list .field")].map(f => {
		const c = f.querySelector("input, select, textarea");
		return f.querySelector("label").textContent + "=" + c.tagName.toLowerCase() + (c.type && c.tagName === "INPUT" ? ":" + c.type : "") +
			(c.tagName === "SELECT" ? "[" + [...c.options].map(o => o.textContent).join("|") + "]" : "") + (c.min !== undefined && c.min !== "" ? " " + c.min + ".." + c.max : "");
	}).join("; ") + " / prompt required " + document.getElementById("prompt").required`)
	const wantForm = `advanced_camera_control=textarea; aspect_ratio=select[(default)|16:9|9:16|1:1]; camera_control=select[(default)|down_back|forward_up|right_turn_forward|left_turn_forward]; ` +
		`cfg_scale=input:number 0..1; duration=select[(default)|5|10]; negative_prompt=input:text; provider=input:text / prompt required true`
	if form != wantForm {
		t.Errorf("the Kling model's form:\n%s\nwant\n%s", form, wantForm)
	}
	if unnamed := eval("find unnamed controls", `[...document.querySelectorAll("#submit-form input, #submit-form textarea, #submit-form select")]
		.filter(e => !(e.labels?.length || e.getAttribute("aria-label")))
		.map(e => e.outerHTML).join("\n")`); unnamed != "" {
		t.Errorf("the model's controls without a label:\n%s", unnamed)
	}
	do("submit a Kling request",
		chromedp.SetValue(css("#prompt"), "A fox in the snow"),
		chromedp.SetValue(css("#field-duration"), "10"),
		chromedp.SetValue(css("#field-negative_prompt"), "blur"),
		chromedp.SetValue(css("#field-advanced_camera_control"), `{"movement_type":"pan","movement_value":2}`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("submit-status").textContent = ""`),
		chromedp.Click(css("#submit-button")),
		until(`/^(Submitted job |Not submitted: )/.test(document.getElementById("submit-status").textContent)`),
	)
	const kling = `{"model":"klingai/v2-master-text-to-video","advanced_camera_control":{"movement_type":"pan","movement_value":2},"duration":10,"negative_prompt":"blur","prompt":"A fox in the snow"}`
	if sent := eval("read what was sent", `window.sent.at(-1)`); sent != kling {
		t.Errorf("the page sent\n%s\nwant\n%s", sent, kling)
	}
	// The API took it, and the job is on the page.
	status := eval("read the status", `document.getElementById("submit-status").textContent`)
	if !strings.HasPrefix(status, "Submitted job ") {
		t.Fatalf("the Kling request: %q", status)
	}
	klingJob := status[len("Submitted job ") : len(status)-1]
	// Each row names its job's model.
	do("the Kling job is listed with its model",
		until(row(klingJob)+`?.querySelector(".model").textContent === "klingai/v2-master-text-to-video"`),
		until(row(done)+`.querySelector(".model").textContent === "gen3a_turbo"`),
	)
	// A bad value is the API's to refuse, and the page says why.
	do("submit a bad Kling request",
		chromedp.SetValue(css("#field-cfg_scale"), "7"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("field-cfg_scale").removeAttribute("max")`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("submit-status").textContent = ""`),
		chromedp.Click(css("#submit-button")),
		until(`document.getElementById("submit-status").textContent.startsWith("Not submitted: ")`),
	)
	if status := eval("read the status", `document.getElementById("submit-status").textContent`); !strings.Contains(status, "cfg_scale") {
		t.Errorf("the refused request: %q", status)
	}
	do("back to gen3a_turbo",
		chromedp.Evaluate[chromedp.Void](`(s => { s.value = "gen3a_turbo"; s.dispatchEvent(new Event("change")); })(document.getElementById("model"))`),
		until(`document.getElementById("model-fields").hidden && !document.getElementById("gen3a-choices").hidden && !document.getElementById("image-fields").hidden && !document.getElementById("prompt").required`),
	)
	t.Logf("browser run: %s", time.Since(start).Round(time.Millisecond))
}
