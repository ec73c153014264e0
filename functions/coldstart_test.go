//go:build unix

package functions_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/api"
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

// initReport is the emulator's line about the bootstrap's init phase.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// BenchmarkColdStart measures, for each function, how long its bootstrap
// takes from a cold start to its first answer under the runtime interface
// emulator, and how long the second (warm) invocation then takes. Every
// iteration starts a fresh emulator, and so a fresh bootstrap process.
//
// Metrics, each a mean over the iterations:
//   - cold-ms: from starting the emulator process to the first answer of
//     any kind, a result or a function error (the emulator starts the
//     bootstrap, and so runs its init, on the first invocation);
//   - first-invoke-ms: the first invocation's own round trip, which holds
//     the bootstrap's start, its init and the handler's first run;
//   - init-ms: the init phase alone, as the emulator reports it;
//   - warm-ms: the second invocation's round trip.
//
// An init failure (the emulator's HTTP 502) fails the benchmark: it is no
// answer.
func BenchmarkColdStart(b *testing.B) {
	for _, fn := range slices.Sorted(slices.Values(e2e.functions)) {
		b.Run(fn, func(b *testing.B) {
			ev, ok := coldEvents[fn]
			if !ok {
				b.Fatalf("no cold-start event for function %s: add it to coldEvents", fn)
			}
			vars := functionEnv(b, fn)
			var cold, first, initPhase, warm time.Duration
			var answer string
			for b.Loop() {
				id := ""
				if ev.jobID {
					id = api.NewUUID()
				}
				payload := loadEvent(b, ev.event, id)
				began := time.Now()
				l := startFunction(b, fn, vars)
				sent := time.Now()
				status, body := l.invoke(b, payload)
				answered := time.Now()
				if status != http.StatusOK {
					l.stop()
					b.Fatalf("first invocation of %s = HTTP %d %s, want an answer; the emulator printed:\n%s", fn, status, body, l.out)
				}
				if status, body := l.invoke(b, payload); status != http.StatusOK {
					l.stop()
					b.Fatalf("second invocation of %s = HTTP %d %s; the emulator printed:\n%s", fn, status, body, l.out)
				}
				warm += time.Since(answered)
				cold += answered.Sub(began)
				first += answered.Sub(sent)
				l.stop()
				m := initReport.FindStringSubmatch(l.out.String())
				if m == nil {
					b.Fatalf("the emulator did not report %s's init phase:\n%s", fn, l.out)
				}
				ms, err := strconv.ParseFloat(m[1], 64)
				if err != nil {
					b.Fatal(err)
				}
				initPhase += time.Duration(ms * float64(time.Millisecond))
				answer = answerKind(body)
			}
			b.Logf("%s answers %s with %s", fn, ev.event, answer)
			n := float64(b.N)
			b.ReportMetric(float64(cold.Microseconds())/1e3/n, "cold-ms")
			b.ReportMetric(float64(first.Microseconds())/1e3/n, "first-invoke-ms")
			b.ReportMetric(float64(initPhase.Microseconds())/1e3/n, "init-ms")
			b.ReportMetric(float64(warm.Microseconds())/1e3/n, "warm-ms")
		})
	}
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
