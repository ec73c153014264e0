//go:build unix

package functions_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/apiload"
)

// coldEvents is what BenchmarkColdStart sends each function: its sample in
// events/, about a job that does not exist where the sample names one
// (jobID true). Each is cheap, touches the function's AWS dependencies the
// way a real first request does, and has an answer without any setup:
// api answers 404 for the unknown job, authorizer allows the sample's key,
// register records a job (or follows the one under the sample's
// idempotency key), reconcile and summarize report; submit, poll, fail,
// finish and webhook answer with a function error about the missing job.
var coldEvents = map[string]struct {
	event string
	jobID bool
}{
	"api":        {"api-query.json", true},
	"authorizer": {"authorizer.json", false},
	"submit":     {"submit.json", true},
	"poll":       {"poll.json", true},
	"fail":       {"fail.json", true},
	"reconcile":  {"reconcile.json", false},
	"register":   {"register.json", true},
	"finish":     {"finish.json", true},
	"webhook":    {"webhook.json", true},
	"summarize":  {"summarize.json", false},
}

// helloWorld is the reference of the cold starts, under functions/: the
// smallest aws-lambda-go function, built and run as the functions are.
const helloWorld = "internal/helloworld"

// coldStartGoal is issue 17's bound on a function's cold start, as a
// multiple of the hello-world function's measured in the same run.
const coldStartGoal = 1.5

// initReport is the emulator's line about the bootstrap's init phase.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// BenchmarkColdStart measures, for each function, how long its bootstrap
// takes from a cold start to its first answer under the runtime interface
// emulator, and how long the second (warm) invocation then takes. Every
// iteration starts a fresh emulator, and so a fresh bootstrap process,
// first with the hello-world function (helloWorld) and then with the
// function, so that both are measured in the same conditions on a machine
// whose load drifts.
//
// Metrics, each a mean over the iterations:
//   - cold-ms: from starting the emulator process to the first answer of
//     any kind, a result or a function error (the emulator starts the
//     bootstrap, and so runs its init, on the first invocation);
//   - first-invoke-ms: the first invocation's own round trip, which holds
//     the bootstrap's start, its init and the handler's first run: the
//     cold start as Lambda's caller sees it, without the emulator's own
//     start;
//   - init-ms: the init phase alone, as the emulator reports it;
//   - warm-ms: the second invocation's round trip;
//   - hello-first-invoke-ms, hello-cold-ms, hello-init-ms: the hello-world
//     function's, in the same iterations;
//   - x-hello: first-invoke-ms ÷ hello-first-invoke-ms, the figure issue
//     17 bounds (coldStartGoal); the benchmark prints a target line per
//     function once all have run.
//
// An init failure (the emulator's HTTP 502) fails the benchmark: it is no
// answer.
func BenchmarkColdStart(b *testing.B) {
	var lines []string
	for _, fn := range slices.Sorted(slices.Values(e2e.functions)) {
		var last coldStart
		ok := b.Run(fn, func(b *testing.B) {
			ev, ok := coldEvents[fn]
			if !ok {
				b.Fatalf("no cold-start event for function %s: add it to coldEvents", fn)
			}
			vars := functionEnv(b, fn)
			var fnSum, helloSum coldStart
			var answer string
			for b.Loop() {
				id := ""
				if ev.jobID {
					id = api.NewUUID()
				}
				payload := loadEvent(b, ev.event, id)
				hello, _ := measureColdStart(b, helloWorld, nil, payload)
				helloSum.add(hello)
				cs, body := measureColdStart(b, fn, vars, payload)
				fnSum.add(cs)
				answer = answerKind(body)
			}
			b.Logf("%s answers %s with %s", fn, ev.event, answer)
			n := float64(b.N)
			b.ReportMetric(ms(fnSum.cold)/n, "cold-ms")
			b.ReportMetric(ms(fnSum.first)/n, "first-invoke-ms")
			b.ReportMetric(ms(fnSum.init)/n, "init-ms")
			b.ReportMetric(ms(fnSum.warm)/n, "warm-ms")
			b.ReportMetric(ms(helloSum.first)/n, "hello-first-invoke-ms")
			b.ReportMetric(ms(helloSum.cold)/n, "hello-cold-ms")
			b.ReportMetric(ms(helloSum.init)/n, "hello-init-ms")
			b.ReportMetric(ms(fnSum.first)/ms(helloSum.first), "x-hello")
			last = coldStart{cold: fnSum.cold / time.Duration(b.N), first: fnSum.first / time.Duration(b.N),
				helloFirst: helloSum.first / time.Duration(b.N)}
		})
		if ok && last.helloFirst > 0 {
			ratio := ms(last.first) / ms(last.helloFirst)
			lines = append(lines, fmt.Sprintf("target: cold start of %s (first invocation; load average %s): %.1f ms, %.2f× hello-world's %.1f ms, target ≤ %.1f× hello-world: %s",
				fn, apiload.LoadAverage(), ms(last.first), ratio, ms(last.helloFirst), coldStartGoal, verdict(ratio <= coldStartGoal)))
		}
	}
	// After every sub-benchmark's own lines, together, as make bench's
	// other targets are printed.
	for _, l := range lines {
		fmt.Println(l)
	}
}

// coldStart is what one cold start took, or the sum of several.
type coldStart struct{ cold, first, init, warm, helloFirst time.Duration }

func (c *coldStart) add(o coldStart) {
	c.cold, c.first, c.init, c.warm = c.cold+o.cold, c.first+o.first, c.init+o.init, c.warm+o.warm
}

// measureColdStart starts fn's bootstrap under a new emulator, invokes it
// twice with payload and returns what that took and the first answer.
func measureColdStart(b *testing.B, fn string, vars map[string]string, payload []byte) (coldStart, []byte) {
	b.Helper()
	began := time.Now()
	l := startFunction(b, fn, vars)
	defer l.stop()
	sent := time.Now()
	status, body := l.invoke(b, payload)
	answered := time.Now()
	if status != http.StatusOK {
		l.stop()
		b.Fatalf("first invocation of %s = HTTP %d %s, want an answer; the emulator printed:\n%s", fn, status, body, l.out)
	}
	if status, again := l.invoke(b, payload); status != http.StatusOK {
		l.stop()
		b.Fatalf("second invocation of %s = HTTP %d %s; the emulator printed:\n%s", fn, status, again, l.out)
	}
	cs := coldStart{cold: answered.Sub(began), first: answered.Sub(sent), warm: time.Since(answered)}
	l.stop()
	m := initReport.FindStringSubmatch(l.out.String())
	if m == nil {
		b.Fatalf("the emulator did not report %s's init phase:\n%s", fn, l.out)
	}
	initMS, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		b.Fatal(err)
	}
	cs.init = time.Duration(initMS * float64(time.Millisecond))
	return cs, body
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "not met"
}

// answerKind says what an invocation answered: a result, or a function
// error and its type.
func answerKind(body []byte) string {
	var le lambdaError
	if json.Unmarshal(body, &le) == nil && le.ErrorType != "" {
		return "a function error (" + le.ErrorType + ")"
	}
	return "a result"
}
