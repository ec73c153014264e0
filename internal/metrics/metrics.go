// Package metrics records vidgen's operational metrics under the names,
// units and dimensions that the template's alarms and dashboard use
// (docs/operations.md). A Recorder turns what happened (a job ended, the
// upstream answered) into measurements and hands them to a Sink: EMF writes
// CloudWatch Embedded Metric Format lines for Lambda, Registry keeps them in
// memory and serves them in Prometheus text format for the local runtime.
//
// Every measurement carries the dimension Stage and only dimensions of a
// small fixed range of values: no job, tenant or execution ids.
package metrics

import (
	"time"

	"github.com/vidgen/vidgen/internal/job"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "vidgen"

// EnvStage names the environment variable holding the Stage dimension's
// value (template.yaml's Stage parameter); the local runtime uses "local".
const EnvStage = "VIDGEN_STAGE"

// Name is a metric's name.
type Name string

// The metrics vidgen records.
const (
	JobsSubmitted       Name = "JobsSubmitted"
	JobsEnded           Name = "JobsEnded"
	JobDuration         Name = "JobDuration"
	DetectionLag        Name = "DetectionLag"
	PollsPerJob         Name = "PollsPerJob"
	UpstreamResponses   Name = "UpstreamResponses"
	AdmissionWaiting    Name = "AdmissionWaiting"
	AdmissionInFlight   Name = "AdmissionInFlight"
	WebhookDeliveries   Name = "WebhookDeliveries"
	ReconcilerActions   Name = "ReconcilerActions"
	SpendCountersMissed Name = "SpendCountersMissed"
)

// Names lists every metric, in the order the Registry shows them.
func Names() []Name {
	return []Name{JobsSubmitted, JobsEnded, JobDuration, DetectionLag, PollsPerJob,
		UpstreamResponses, AdmissionWaiting, AdmissionInFlight, WebhookDeliveries, ReconcilerActions, SpendCountersMissed}
}

// Unit is a CloudWatch unit.
type Unit string

// The units vidgen's metrics use.
const (
	Count   Unit = "Count"
	Seconds Unit = "Seconds"
)

// Kind says how a metric aggregates where it is kept in memory.
type Kind int

// The kinds of metric.
const (
	Counter Kind = iota // events: their values add up
	Gauge               // a level: the last value stands
	Summary             // observations: their count and sum are kept
)

// Dimension keys beside Stage.
const (
	DimStage   = "Stage"
	DimStatus  = "Status"
	DimError   = "Error"
	DimClass   = "Class"
	DimOutcome = "Outcome"
	DimAction  = "Action"
)

// Spec describes a metric.
type Spec struct {
	Unit Unit
	Kind Kind
	// Sets are the metric's dimension sets, each without Stage, which every
	// set starts with: {{}} is [Stage] alone. A set whose dimensions a
	// measurement lacks is left out for it (JobsEnded has no Error when a
	// job completed).
	Sets [][]string
	Help string
}

// Spec returns what n is.
func (n Name) Spec() Spec {
	stage := [][]string{{}}
	switch n {
	case JobsSubmitted:
		return Spec{Count, Counter, stage, "jobs the upstream accepted (they got their upstream id)"}
	case JobsEnded:
		return Spec{Count, Counter, [][]string{{}, {DimStatus}, {DimError}}, "jobs whose terminal record was written, by status and error name"}
	case JobDuration:
		return Spec{Seconds, Summary, stage, "seconds from a job's creation to its end"}
	case DetectionLag:
		return Spec{Seconds, Summary, stage, "seconds from the upstream's end of a generation (estimated: the middle of the span between the last ask that found it unfinished and the one that found it done) to the job's end"}
	case PollsPerJob:
		return Spec{Count, Summary, stage, "upstream checks made for a job, at its end"}
	case UpstreamResponses:
		return Spec{Count, Counter, [][]string{{DimClass}}, "upstream calls by answer class: 2xx, 4xx, 429, 5xx, transport"}
	case AdmissionWaiting:
		return Spec{Count, Gauge, stage, "jobs waiting for a slot, at the last admission round that read the queue"}
	case AdmissionInFlight:
		return Spec{Count, Gauge, stage, "slots held (generations in flight), at the last admission round"}
	case WebhookDeliveries:
		return Spec{Count, Counter, [][]string{{DimOutcome}}, "webhook delivery attempts by outcome: succeeded, failed"}
	case ReconcilerActions:
		return Spec{Count, Counter, [][]string{{DimAction}}, "reconciler acts: started, resumed, timed_out, slots_repaired"}
	case SpendCountersMissed:
		return Spec{Count, Counter, stage, "jobs whose credits were recorded without their tenant's daily spend counter, which undercounts them"}
	}
	return Spec{Unit: Count, Kind: Counter, Sets: stage}
}

// Upstream answer classes (UpstreamResponses' Class).
const (
	Class2xx       = "2xx"
	Class4xx       = "4xx"
	Class429       = "429"
	Class5xx       = "5xx"
	ClassTransport = "transport"
)

// Webhook delivery outcomes (WebhookDeliveries' Outcome).
const (
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Reconciler actions (ReconcilerActions' Action).
const (
	ActionStarted       = "started"
	ActionResumed       = "resumed"
	ActionTimedOut      = "timed_out"
	ActionSlotsRepaired = "slots_repaired"
)

// OtherError is JobsEnded's Error for a name outside vidgen's own set (an
// upstream's error name, which could be anything).
const OtherError = "Other"

// ErrorDimension is the Error dimension's value for a job error name:
// vidgen's own names as they are, any other OtherError, so that the
// dimension's values stay few.
func ErrorDimension(name string) string {
	if n, ok := job.LookupErrorName(name); ok && n.Source == job.FromJob {
		return name
	}
	return OtherError
}

// Label is one dimension's value.
type Label struct{ Key, Value string }

// Measurement is one value of one metric.
type Measurement struct {
	Name   Name
	Labels []Label // the dimensions beside Stage that it has
	Value  float64
}

// Sink keeps or sends measurements. Record gets the measurements of one
// event together (a job's end is several); it must be safe for concurrent
// use and must not fail the caller: metrics are never worth a failed step.
type Sink interface {
	Record(at time.Time, stage string, ms []Measurement)
}

// Recorder records vidgen's metrics into a Sink. A nil *Recorder records
// nothing, so a handler built without one (as most tests build them)
// works as before.
type Recorder struct {
	stage string
	sink  Sink
	now   func() time.Time
}

// New returns a Recorder that records into sink with the given Stage;
// now stamps each event (time.Now when nil).
func New(stage string, sink Sink, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{stage: stage, sink: sink, now: now}
}

func (r *Recorder) record(ms ...Measurement) {
	if r == nil || r.sink == nil {
		return
	}
	r.sink.Record(r.now(), r.stage, ms)
}

// JobSubmitted records that the upstream accepted a job.
func (r *Recorder) JobSubmitted() { r.record(Measurement{Name: JobsSubmitted, Value: 1}) }

// JobEnded records the end of j, whose terminal record was just written:
// that it ended, how long it took, how often the upstream was asked, and
// lag, the detection lag, when it is known (lag > 0).
func (r *Recorder) JobEnded(j job.Job, lag time.Duration) {
	if r == nil {
		return
	}
	labels := []Label{{DimStatus, string(j.Status)}}
	if j.Status == job.Failed && j.Error != nil {
		labels = append(labels, Label{DimError, ErrorDimension(j.Error.Name)})
	}
	ms := []Measurement{
		{Name: JobsEnded, Labels: labels, Value: 1},
		{Name: JobDuration, Value: max(j.UpdatedAt.Sub(j.CreatedAt), 0).Seconds()},
		{Name: PollsPerJob, Value: float64(j.Polls)},
	}
	if lag > 0 {
		ms = append(ms, Measurement{Name: DetectionLag, Value: lag.Seconds()})
	}
	r.record(ms...)
}

// UpstreamResponse records one upstream call's answer class (Class2xx …
// ClassTransport).
func (r *Recorder) UpstreamResponse(class string) {
	r.record(Measurement{Name: UpstreamResponses, Labels: []Label{{DimClass, class}}, Value: 1})
}

// StatusClass is the class of an upstream answer with HTTP status code.
// The 1xx and 3xx that should never reach a caller count as 5xx: like a
// 5xx, they say something between vidgen and the upstream is not working.
func StatusClass(code int) string {
	switch {
	case code == 429:
		return Class429
	case code >= 200 && code < 300:
		return Class2xx
	case code >= 400 && code < 500:
		return Class4xx
	}
	return Class5xx
}

// AdmissionRound records an admission round: slots held after it, and
// jobs left waiting for one (negative when the round did not read the
// queue, because every slot was taken: then only inFlight is recorded).
func (r *Recorder) AdmissionRound(inFlight, waiting int) {
	ms := []Measurement{{Name: AdmissionInFlight, Value: float64(inFlight)}}
	if waiting >= 0 {
		ms = append(ms, Measurement{Name: AdmissionWaiting, Value: float64(waiting)})
	}
	r.record(ms...)
}

// WebhookDelivery records one delivery attempt and whether it succeeded.
func (r *Recorder) WebhookDelivery(ok bool) {
	outcome := Failed
	if ok {
		outcome = Succeeded
	}
	r.record(Measurement{Name: WebhookDeliveries, Labels: []Label{{DimOutcome, outcome}}, Value: 1})
}

// ReconcilerAction records one act of the reconciler (ActionStarted …
// ActionSlotsRepaired).
func (r *Recorder) ReconcilerAction(action string) {
	r.record(Measurement{Name: ReconcilerActions, Labels: []Label{{DimAction, action}}, Value: 1})
}

// SpendCounterMissed records that a job's credits were recorded without
// its tenant's daily spend counter (the store's fallback when the
// counter's transaction keeps failing), so the day's sum the spend cap
// reads misses them. It names no job or tenant: the store's error log
// line does.
func (r *Recorder) SpendCounterMissed() { r.record(Measurement{Name: SpendCountersMissed, Value: 1}) }
