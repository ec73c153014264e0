package costsim

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Figures are a run's per-job figures.
type Figures struct {
	Policy                 string
	Transitions            float64
	Invocations, GBSeconds float64
	WRU, RRU               float64
	UpstreamRequests       float64
	DollarsPer1000         float64
	LagP50, LagP95, LagP99 time.Duration
	Completed, Jobs        int
	Simulated              time.Duration
	SharePerService        map[string]float64 // of the dollars
}

// Figures divides a result by its jobs and prices it.
func (r Result) Figures(p Prices) Figures {
	u := r.Usage
	n := float64(u.Jobs)
	cost := map[string]float64{
		"Step Functions": float64(u.Transitions)*p.Transition + float64(u.ExpressRequests)*p.ExpressRequest + u.ExpressGBSeconds*p.ExpressGBSecond,
		"Lambda":         float64(u.Invocations)*p.LambdaRequest + u.GBSeconds*p.LambdaGBSecond,
		"DynamoDB":       float64(u.WRU)*p.DynamoWRU + float64(u.RRU)*p.DynamoRRU,
		"S3":             float64(u.S3Puts) * p.S3Put,
		"EventBridge":    float64(u.Events) * p.Event,
		"API Gateway":    float64(u.APIRequests) * p.HTTPAPIRequest,
	}
	var total float64
	for _, c := range cost {
		total += c
	}
	f := Figures{
		Policy: r.Policy, Transitions: float64(u.Transitions) / n, Invocations: float64(u.Invocations) / n,
		GBSeconds: u.GBSeconds / n, WRU: float64(u.WRU) / n, RRU: float64(u.RRU) / n,
		UpstreamRequests: float64(u.UpstreamRequests) / n, DollarsPer1000: total / n * 1000,
		Completed: len(r.Lags), Jobs: u.Jobs, Simulated: r.Simulated, SharePerService: map[string]float64{},
	}
	for k, c := range cost {
		f.SharePerService[k] = c / total
	}
	f.LagP50, f.LagP95, f.LagP99 = quantile(r.Lags, 0.50), quantile(r.Lags, 0.95), quantile(r.Lags, 0.99)
	return f
}

// quantile is the nearest-rank quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sortDurations(d []time.Duration) { slices.Sort(d) }

// WriteTable prints the figures of several runs side by side, as Markdown.
func WriteTable(w io.Writer, fs []Figures) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| policy\t transitions/job\t Lambda invocations/job\t Lambda GB-s/job\t DynamoDB WRU/job\t DynamoDB RRU/job\t upstream requests/job\t $ per 1,000 jobs\t lag p50\t lag p95\t lag p99\t")
	fmt.Fprintln(tw, "| ---\t ---\t ---\t ---\t ---\t ---\t ---\t ---\t ---\t ---\t ---\t")
	for _, f := range fs {
		fmt.Fprintf(tw, "| %s\t %.1f\t %.1f\t %.3f\t %.1f\t %.1f\t %.1f\t %.3f\t %s\t %s\t %s\t\n", f.Policy, f.Transitions,
			f.Invocations, f.GBSeconds, f.WRU, f.RRU, f.UpstreamRequests, f.DollarsPer1000,
			seconds(f.LagP50), seconds(f.LagP95), seconds(f.LagP99))
	}
	tw.Flush()
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// WritePrices states the prices and latencies the figures assume.
func WritePrices(w io.Writer, p Prices, l Latencies) {
	var b strings.Builder
	fmt.Fprintf(&b, "prices (us-east-1, on demand): Step Functions Standard $%.3f per 1,000 transitions; ", p.Transition*1000)
	fmt.Fprintf(&b, "Lambda arm64 $%.2f per 1M requests + $%.10f per GB-s at %d MB; ", p.LambdaRequest*1e6, p.LambdaGBSecond, p.LambdaMemoryMiB)
	fmt.Fprintf(&b, "DynamoDB on-demand $%.3f per 1M WRU, $%.3f per 1M RRU; S3 $%.3f per 1,000 PUT; ", p.DynamoWRU*1e6, p.DynamoRRU*1e6, p.S3Put*1000)
	fmt.Fprintf(&b, "EventBridge $%.2f per 1M events; API Gateway HTTP API $%.2f per 1M requests\n", p.Event*1e6, p.HTTPAPIRequest*1e6)
	fmt.Fprintf(&b, "modelled latencies: upstream GET %s, POST %s; DynamoDB %s; video copy to S3 %s; handler compute %s per invocation\n",
		l.UpstreamGet, l.UpstreamPost, l.Dynamo, l.S3Put, l.Compute)
	io.WriteString(w, b.String())
}

// services in the order the breakdown lists them.
var services = []string{"Step Functions", "Lambda", "DynamoDB", "S3", "EventBridge", "API Gateway"}

// WriteBreakdown prints each run's dollars per 1,000 jobs by service.
func WriteBreakdown(w io.Writer, fs []Figures) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprint(tw, "| policy\t")
	for _, s := range services {
		fmt.Fprintf(tw, " %s\t", s)
	}
	fmt.Fprint(tw, "\n| ---\t")
	for range services {
		fmt.Fprint(tw, " ---\t")
	}
	fmt.Fprintln(tw)
	for _, f := range fs {
		fmt.Fprintf(tw, "| %s\t", f.Policy)
		for _, s := range services {
			fmt.Fprintf(tw, " $%.3f\t", f.SharePerService[s]*f.DollarsPer1000)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
