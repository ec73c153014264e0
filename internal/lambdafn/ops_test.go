package lambdafn_test

// What lets the stack be operated (docs/operations.md): every function logs
// into a log group of the stack's with retention, at LogLevel; the HTTP API
// writes access logs; the alarms cover every state machine and function and
// the service's own failures and notify one topic; the dashboard shows the
// service. Every vidgen metric an alarm or the dashboard names is one the
// functions emit (contractMetrics), so none of them monitors nothing.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/vidgen/vidgen/internal/apikey"
	"github.com/vidgen/vidgen/internal/job"
	"github.com/vidgen/vidgen/internal/logs"
	"go.yaml.in/yaml/v3"
)

// contractMetrics are the metrics the functions emit in namespace vidgen,
// each with the dimension sets it carries (issue 14's contract, shared with
// the code that emits them).
var contractMetrics = map[string][][]string{
	"JobsSubmitted":       {{"Stage"}},
	"JobsEnded":           {{"Stage"}, {"Stage", "Status"}, {"Stage", "Error"}},
	"JobDuration":         {{"Stage"}},
	"DetectionLag":        {{"Stage"}},
	"PollsPerJob":         {{"Stage"}},
	"UpstreamResponses":   {{"Stage", "Class"}},
	"AdmissionWaiting":    {{"Stage"}},
	"AdmissionInFlight":   {{"Stage"}},
	"WebhookDeliveries":   {{"Stage", "Outcome"}},
	"ReconcilerActions":   {{"Stage", "Action"}},
	"SpendCountersMissed": {{"Stage"}},
}

// contractValues are the values each dimension but Stage takes. Error is a
// job's error name, "Other" for one outside the fixed set.
var contractValues = map[string][]string{
	"Status": {string(job.Completed), string(job.Failed)},
	"Error": {job.ErrNameTimedOut, job.ErrNameCancelled, job.ErrNameRejected, job.ErrNameSubmitUncertain,
		job.ErrNameUpstreamNotFound, job.ErrNameGenerationFailed, job.ErrNameInternal, job.ErrNameUpstreamAuth, job.ErrNameConfiguration, "Other"},
	"Class":   {"2xx", "4xx", "429", "5xx", "transport"},
	"Outcome": {"succeeded", "failed"},
	"Action":  {"started", "resumed", "timed_out", "slots_repaired"},
}

// commonEnv are the variables every function gets through Globals, each
// with the parameter that sets it.
var commonEnv = map[string]string{logs.EnvLevel: "LogLevel", "VIDGEN_STAGE": "Stage"}

// The topic every alarm notifies, as target() spells it.
const alarmTopic = "If(CreateAlarmTopic, AlarmTopic, AlarmTopicArn)"

// accessLogVars are what each access-log line must carry: request id,
// route, status, latency and the tenant the authorizer resolved.
var accessLogVars = []string{"$context.requestId", "$context.routeKey", "$context.status", "$context.responseLatency",
	"$context.authorizer." + apikey.ContextTenant}

// A metricRef is one metric an alarm or the dashboard names.
type metricRef struct {
	where     string // the alarm's logical id, or the dashboard widget's title
	namespace string
	name      string
	// dims maps each dimension to its value: a literal, or ${X} for a
	// reference to X. A SEARCH leaves the value of dimensions it does not
	// fix empty.
	dims  map[string]string
	stats []string
}

func (m metricRef) dimNames() []string { return slices.Sorted(maps.Keys(m.dims)) }

func TestOperations(t *testing.T) { reportsNothing(t, (*project).checkOperations) }

// checkOperations returns every way in which the template falls short of
// being operable.
func (p *project) checkOperations() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	root := p.doc.Content[0]
	resources := get(root, "Resources")
	globals := get(root, "Globals", "Function")
	byType := map[string][]string{}
	for _, id := range keys(resources) {
		typ := scalar(get(resources, id, "Type"))
		byType[typ] = append(byType[typ], id)
	}

	// Log level: one parameter, the levels the handlers know.
	if lv := get(root, "Parameters", "LogLevel"); lv == nil {
		add("parameter LogLevel is missing")
	} else if got := scalars(get(lv, "AllowedValues")); !slices.Equal(got, []string{"DEBUG", "INFO", "WARN", "ERROR"}) || scalar(get(lv, "Default")) != "INFO" {
		add("parameter LogLevel allows %v with Default %s; want [DEBUG INFO WARN ERROR], Default INFO", got, describe(get(lv, "Default")))
	}
	common := get(globals, "Environment", "Variables")
	if got := keys(common); !slices.Equal(got, slices.Sorted(maps.Keys(commonEnv))) {
		add("Globals.Function.Environment.Variables are %v; want exactly %v, which every function reads", got, slices.Sorted(maps.Keys(commonEnv)))
	}

	// Every log group keeps its lines LogRetentionDays.
	for _, id := range byType["AWS::Logs::LogGroup"] {
		if r := get(resources, id, "Properties", "RetentionInDays"); target(r) != "LogRetentionDays" {
			add("%s: RetentionInDays is %s, want !Ref LogRetentionDays", id, describe(r))
		}
	}

	// Every function logs JSON at LogLevel into a log group of its own.
	groupOf := map[string]string{}
	for _, id := range byType["AWS::Serverless::Function"] {
		props := get(resources, id, "Properties")
		lc := func(key string) *yaml.Node {
			if v := get(props, "LoggingConfig", key); v != nil {
				return v
			}
			return get(globals, "LoggingConfig", key)
		}
		if v := lc("LogFormat"); scalar(v) != "JSON" {
			add("%s: LoggingConfig.LogFormat is %s, want \"JSON\" (ApplicationLogLevel needs it)", id, describe(v))
		}
		// Lambda's filter takes a line with no "level" (every EMF line)
		// for INFO: at WARN it would drop the metrics. The handlers filter.
		if v := lc("ApplicationLogLevel"); scalar(v) != "TRACE" {
			add("%s: LoggingConfig.ApplicationLogLevel is %s, want \"TRACE\" (the handlers filter at LogLevel; Lambda's filter would drop EMF lines)", id, describe(v))
		}
		if v := lc("SystemLogLevel"); v == nil {
			add("%s: LoggingConfig.SystemLogLevel is not set", id)
		}
		switch g := lc("LogGroup"); {
		case g == nil:
			add("%s: LoggingConfig.LogGroup is not set, so Lambda logs to a group kept forever; point it at an AWS::Logs::LogGroup", id)
		case resourceType(root, target(g)) != "AWS::Logs::LogGroup":
			add("%s: LoggingConfig.LogGroup is %s, not !Ref of an AWS::Logs::LogGroup", id, describe(g))
		case groupOf[target(g)] != "":
			add("%s: logs into %s, as %s does; give each function its own", id, target(g), groupOf[target(g)])
		default:
			groupOf[target(g)] = id
		}
		for k, param := range commonEnv {
			v := get(props, "Environment", "Variables", k)
			if v == nil {
				v = get(common, k)
			}
			if target(v) != param {
				add("%s: %s is %s, want !Ref %s", id, k, describe(v), param)
			}
		}
	}

	// Access logs: a JSON line per request into a log group of the API's.
	for _, id := range byType["AWS::Serverless::HttpApi"] {
		als := get(resources, id, "Properties", "AccessLogSettings")
		if als == nil {
			add("%s: has no AccessLogSettings", id)
			continue
		}
		if d := get(als, "DestinationArn"); !isGetAttArn(d) || resourceType(root, target(d)) != "AWS::Logs::LogGroup" {
			add("%s: AccessLogSettings.DestinationArn is %s, want !GetAtt <an AWS::Logs::LogGroup>.Arn", id, describe(d))
		}
		format := scalar(get(als, "Format"))
		for _, v := range accessLogVars {
			if !regexp.MustCompile(regexp.QuoteMeta(v) + `\b`).MatchString(format) {
				add("%s: the access log format lacks %s", id, v)
			}
		}
		if line := regexp.MustCompile(`\$context\.[A-Za-z0-9_.]+`).ReplaceAllString(format, "0"); !json.Valid([]byte(line)) {
			add("%s: the access log format is not one JSON object per line", id)
		}
	}

	problems = append(problems, p.checkAlarms(root, byType)...)
	return append(problems, p.checkDashboard(root, byType)...)
}

// checkAlarms holds the alarms to their coverage, their metrics to the
// contract and their actions to the topic.
func (p *project) checkAlarms(root *yaml.Node, byType map[string][]string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	resources := get(root, "Resources")

	// The topic: the stack's own unless AlarmTopicArn names one, and an
	// email subscription when AlarmEmail is set.
	if c := get(root, "Conditions", "CreateAlarmTopic"); !isEqualsEmpty(c, "AlarmTopicArn") {
		add("condition CreateAlarmTopic is %s, want !Equals [!Ref AlarmTopicArn, \"\"]", describe(c))
	}
	if scalar(get(resources, "AlarmTopic", "Type")) != "AWS::SNS::Topic" || scalar(get(resources, "AlarmTopic", "Condition")) != "CreateAlarmTopic" {
		add("AlarmTopic must be an AWS::SNS::Topic made on condition CreateAlarmTopic")
	}
	for _, param := range []string{"AlarmEmail", "AlarmTopicArn"} {
		if n := get(root, "Parameters", param); n == nil || get(n, "Default") == nil || scalar(get(n, "Default")) != "" {
			add("parameter %s must default to \"\" (optional)", param)
		}
	}
	subscribed := false
	for _, id := range byType["AWS::SNS::Subscription"] {
		props := get(resources, id, "Properties")
		cond := get(root, "Conditions", scalar(get(resources, id, "Condition")))
		if target(get(props, "Endpoint")) == "AlarmEmail" && scalar(get(props, "Protocol")) == "email" &&
			target(get(props, "TopicArn")) == alarmTopic && slices.Contains(refs(cond), "AlarmEmail") {
			subscribed = true
		}
	}
	if !subscribed {
		add("no AWS::SNS::Subscription sends the alarms' topic to AlarmEmail (Protocol email, on a condition on AlarmEmail)")
	}

	// Each alarm says where docs/operations.md explains it.
	doc, err := fs.ReadFile(p.files, "docs/operations.md")
	if err != nil {
		add("read docs/operations.md: %v", err)
	}
	var sections []string
	for _, m := range regexp.MustCompile(`(?m)^#+ +(.+)$`).FindAllStringSubmatch(string(doc), -1) {
		sections = append(sections, slug(m[1]))
	}

	var refsOf []metricRef
	for _, id := range byType["AWS::CloudWatch::Alarm"] {
		props := get(resources, id, "Properties")
		switch m := regexp.MustCompile(`docs/operations\.md#([a-z0-9_-]+)`).FindStringSubmatch(scalar(get(props, "AlarmDescription"))); {
		case m == nil:
			add("%s: AlarmDescription names no section of docs/operations.md (docs/operations.md#…)", id)
		case !slices.Contains(sections, m[1]):
			add("%s: AlarmDescription points at docs/operations.md#%s, which has no such section", id, m[1])
		}
		for _, k := range []string{"AlarmActions", "OKActions"} {
			if v := get(props, k); v == nil || len(v.Content) != 1 || target(v.Content[0]) != alarmTopic {
				add("%s: %s is %s, want [%s]", id, k, describe(v), alarmTopic)
			}
		}
		if get(props, "TreatMissingData") == nil {
			add("%s: TreatMissingData is not set; say what no data means", id)
		}
		th := get(props, "Threshold")
		if param := get(root, "Parameters", target(th)); param == nil || scalar(get(param, "Type")) != "Number" || get(param, "Default") == nil {
			if scalar(th) != "1" {
				add("%s: Threshold is %s, want !Ref of a Number parameter with a Default (or 1: any at all)", id, describe(th))
			}
		}
		ms, err := alarmMetrics(id, props)
		if err != nil {
			add("%s", err)
		}
		refsOf = append(refsOf, ms...)
	}
	problems = append(problems, checkRefs(root, refsOf)...)

	// Coverage: what each alarm monitors, by namespace, metric and the
	// dimensions that say whose it is.
	monitored := func(ns, metric string, dims map[string]string) []string {
		var ids []string
		for _, m := range refsOf {
			if m.namespace != ns || m.name != metric {
				continue
			}
			if !slices.ContainsFunc(slices.Collect(maps.Keys(dims)), func(k string) bool { return m.dims[k] != dims[k] }) {
				ids = append(ids, m.where)
			}
		}
		return ids
	}
	for _, sm := range byType["AWS::Serverless::StateMachine"] {
		for _, metric := range []string{"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"} {
			if len(monitored("AWS/States", metric, map[string]string{"StateMachineArn": "${" + sm + "}"})) == 0 {
				add("%s: no alarm on AWS/States %s", sm, metric)
			}
		}
	}
	for _, fn := range byType["AWS::Serverless::Function"] {
		for _, metric := range []string{"Errors", "Throttles"} {
			if len(monitored("AWS/Lambda", metric, map[string]string{"FunctionName": "${" + fn + "}"})) == 0 {
				add("%s: no alarm on AWS/Lambda %s", fn, metric)
			}
		}
	}
	for _, api := range byType["AWS::Serverless::HttpApi"] {
		stage := scalar(get(resources, api, "Properties", "StageName"))
		if len(monitored("AWS/ApiGateway", "5xx", map[string]string{"ApiId": "${" + api + "}", "Stage": stage})) == 0 {
			add("%s: no alarm on AWS/ApiGateway 5xx (ApiId, Stage %s)", api, stage)
		}
	}
	for _, w := range []struct {
		what   string
		metric string
		dim    string
		values []string // all of them in one alarm
	}{
		{"jobs reaching their deadline", "JobsEnded", "Error", []string{job.ErrNameTimedOut}},
		{"the upstream refusing the key", "JobsEnded", "Error", []string{job.ErrNameUpstreamAuth}},
		{"the upstream key secret empty or missing", "JobsEnded", "Error", []string{job.ErrNameConfiguration}},
		{"the upstream error rate", "UpstreamResponses", "Class", contractValues["Class"]},
		{"the reconciler finding stranded jobs", "ReconcilerActions", "Action", []string{"started", "resumed"}},
		{"jobs missing their tenant's spend counter", "SpendCountersMissed", "Stage", []string{"${Stage}"}},
	} {
		seen := map[string][]string{} // alarm → values it names
		for _, v := range w.values {
			for _, id := range monitored("vidgen", w.metric, map[string]string{w.dim: v}) {
				seen[id] = append(seen[id], v)
			}
		}
		if !slices.ContainsFunc(slices.Collect(maps.Values(seen)), func(vs []string) bool { return len(vs) == len(w.values) }) {
			add("no alarm on %s: vidgen %s with %s %v", w.what, w.metric, w.dim, w.values)
		}
	}
	return problems
}

// slug is a heading's anchor as GitHub makes it: lower case, spaces to
// hyphens, punctuation dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isEqualsEmpty reports whether c is !Equals [!Ref param, ""].
func isEqualsEmpty(c *yaml.Node, param string) bool {
	tag, v := intrinsic(c)
	if c == nil || tag != "Equals" || v.Kind != yaml.SequenceNode || len(v.Content) != 2 {
		return false
	}
	return target(v.Content[0]) == param && v.Content[1].Kind == yaml.ScalarNode && v.Content[1].Value == "" && !strings.HasPrefix(v.Content[1].Tag, "!Ref")
}

// alarmMetrics reads the metrics an alarm monitors: its single metric, or
// the MetricStats of its metric math, of which one entry returns data.
func alarmMetrics(id string, props *yaml.Node) ([]metricRef, error) {
	dimsOf := func(list *yaml.Node) map[string]string {
		out := map[string]string{}
		if list != nil {
			for _, d := range list.Content {
				out[scalar(get(d, "Name"))] = refValue(get(d, "Value"))
			}
		}
		return out
	}
	if math := get(props, "Metrics"); math != nil {
		var out []metricRef
		returned := 0
		for _, m := range math.Content {
			if r := get(m, "ReturnData"); r == nil || scalar(r) == "true" {
				returned++
			}
			if ms := get(m, "MetricStat"); ms != nil {
				out = append(out, metricRef{where: id, namespace: scalar(get(ms, "Metric", "Namespace")), name: scalar(get(ms, "Metric", "MetricName")),
					dims: dimsOf(get(ms, "Metric", "Dimensions")), stats: []string{scalar(get(ms, "Stat"))}})
			}
		}
		if returned != 1 {
			return out, fmt.Errorf("%s: %d of its Metrics return data, want exactly 1 (set ReturnData: false on the others)", id, returned)
		}
		return out, nil
	}
	if get(props, "MetricName") == nil {
		return nil, fmt.Errorf("%s: names neither MetricName nor Metrics", id)
	}
	return []metricRef{{where: id, namespace: scalar(get(props, "Namespace")), name: scalar(get(props, "MetricName")),
		dims: dimsOf(get(props, "Dimensions")), stats: []string{scalar(get(props, "Statistic"))}}}, nil
}

// refValue spells a dimension value as the dashboard's !Sub does: ${X}
// for !Ref X, else the literal.
func refValue(n *yaml.Node) string {
	if tag, _ := intrinsic(n); tag == "Ref" {
		return "${" + target(n) + "}"
	}
	return scalar(n)
}

// checkRefs holds metric references to what is emitted: vidgen metrics to
// the contract, in this stage; AWS ones to this stack's resources.
func checkRefs(root *yaml.Node, ms []metricRef) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	resources := get(root, "Resources")
	ownDim := map[string]struct{ dim, typ string }{
		"AWS/States":     {"StateMachineArn", "AWS::Serverless::StateMachine"},
		"AWS/Lambda":     {"FunctionName", "AWS::Serverless::Function"},
		"AWS/ApiGateway": {"ApiId", "AWS::Serverless::HttpApi"},
	}
	for _, m := range ms {
		if m.namespace != "vidgen" {
			own, ok := ownDim[m.namespace]
			if !ok {
				add("%s: names %s %s, a namespace this stack does not monitor", m.where, m.namespace, m.name)
				continue
			}
			v := m.dims[own.dim]
			if id, ok := strings.CutPrefix(v, "${"); !ok || scalar(get(resources, strings.TrimSuffix(id, "}"), "Type")) != own.typ {
				add("%s: %s %s has %s %q, not a reference to an %s of the stack", m.where, m.namespace, m.name, own.dim, v, own.typ)
			}
			continue
		}
		sets, ok := contractMetrics[m.name]
		if !ok {
			add("%s: names vidgen %s, which no function emits (contract: %v)", m.where, m.name, slices.Sorted(maps.Keys(contractMetrics)))
			continue
		}
		if !slices.ContainsFunc(sets, func(s []string) bool { return slices.Equal(slices.Sorted(slices.Values(s)), m.dimNames()) }) {
			add("%s: names vidgen %s with dimensions %v, which it is not emitted with (%v)", m.where, m.name, m.dimNames(), sets)
			continue
		}
		for _, d := range m.dimNames() {
			v := m.dims[d]
			switch {
			case d == "Stage" && v != "${Stage}":
				add("%s: vidgen %s has Stage %q, want the Stage parameter", m.where, m.name, v)
			case d != "Stage" && v != "" && !slices.Contains(contractValues[d], v):
				add("%s: vidgen %s has %s %q, which is never emitted (%v)", m.where, m.name, d, v, contractValues[d])
			}
		}
	}
	return problems
}

// dashboardWants are the metrics the dashboard must show, with the
// statistics each needs.
var dashboardWants = []struct {
	namespace, name string
	dims            []string
	stats           []string
}{
	{"vidgen", "JobsSubmitted", []string{"Stage"}, nil},
	{"vidgen", "JobsEnded", []string{"Stage"}, nil},
	{"vidgen", "JobsEnded", []string{"Stage", "Status"}, nil},
	{"vidgen", "JobsEnded", []string{"Stage", "Error"}, nil},
	{"vidgen", "JobDuration", []string{"Stage"}, []string{"p50", "p90", "p99"}},
	{"vidgen", "DetectionLag", []string{"Stage"}, []string{"p50", "p90", "p99"}},
	{"vidgen", "UpstreamResponses", []string{"Class", "Stage"}, nil},
	{"vidgen", "AdmissionWaiting", []string{"Stage"}, nil},
	{"vidgen", "AdmissionInFlight", []string{"Stage"}, nil},
	{"vidgen", "SpendCountersMissed", []string{"Stage"}, nil},
	{"AWS/States", "ExecutionsStarted", []string{"StateMachineArn"}, nil},
	{"AWS/States", "ExecutionsFailed", []string{"StateMachineArn"}, nil},
	{"AWS/States", "ExecutionsTimedOut", []string{"StateMachineArn"}, nil},
	{"AWS/States", "ExecutionsAborted", []string{"StateMachineArn"}, nil},
}

// checkDashboard parses each dashboard's body and holds its metrics to the
// contract and to dashboardWants.
func (p *project) checkDashboard(root *yaml.Node, byType map[string][]string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(byType["AWS::CloudWatch::Dashboard"]) == 0 {
		return []string{"there is no AWS::CloudWatch::Dashboard"}
	}
	var all []metricRef
	for _, id := range byType["AWS::CloudWatch::Dashboard"] {
		b := get(root, "Resources", id, "Properties", "DashboardBody")
		tag, v := intrinsic(b)
		if tag != "Sub" || v.Kind != yaml.ScalarNode {
			add("%s: DashboardBody is %s, want a !Sub of the JSON text", id, describe(b))
			continue
		}
		ms, err := dashboardMetrics(v.Value)
		if err != nil {
			add("%s: %v", id, err)
			continue
		}
		all = append(all, ms...)
	}
	problems = append(problems, checkRefs(root, all)...)
	for _, w := range dashboardWants {
		var stats []string
		found := false
		for _, m := range all {
			if m.namespace == w.namespace && m.name == w.name && slices.Equal(m.dimNames(), slices.Sorted(slices.Values(w.dims))) {
				found = true
				stats = append(stats, m.stats...)
			}
		}
		if !found {
			add("the dashboard does not show %s %s by %v", w.namespace, w.name, w.dims)
		}
		for _, s := range w.stats {
			if found && !slices.Contains(stats, s) {
				add("the dashboard does not show %s %s's %s", w.namespace, w.name, s)
			}
		}
	}
	return problems
}

var (
	searchRe   = regexp.MustCompile(`SEARCH\(\s*'\{([^}]*)\}([^']*)'`)
	searchPair = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// dashboardMetrics reads the metrics of a dashboard body's metric widgets:
// each ["namespace", "name", "dim", "value", …, {options}] and each SEARCH
// expression's schema and MetricName.
func dashboardMetrics(body string) ([]metricRef, error) {
	var d struct {
		Widgets []struct {
			Type       string
			Properties struct {
				Title   string
				Stat    string
				Metrics [][]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	var out []metricRef
	for i, w := range d.Widgets {
		if w.Type != "metric" {
			continue
		}
		where := fmt.Sprintf("dashboard widget %d %q", i, w.Properties.Title)
		for _, raw := range w.Properties.Metrics {
			var parts []string
			var opts struct {
				Stat, Expression string
			}
			for _, r := range raw {
				var s string
				if json.Unmarshal(r, &s) == nil {
					parts = append(parts, s)
				} else if err := json.Unmarshal(r, &opts); err != nil {
					return nil, fmt.Errorf("%s: %s: %w", where, r, err)
				}
			}
			if opts.Expression != "" {
				for _, m := range searchRe.FindAllStringSubmatch(opts.Expression, -1) {
					schema := strings.Split(m[1], ",")
					ref := metricRef{where: where, namespace: strings.TrimSpace(schema[0]), dims: map[string]string{}}
					for _, dim := range schema[1:] {
						ref.dims[strings.TrimSpace(dim)] = ""
					}
					for _, kv := range searchPair.FindAllStringSubmatch(m[2], -1) {
						if kv[1] == "MetricName" {
							ref.name = kv[2]
						} else if _, ok := ref.dims[kv[1]]; ok {
							ref.dims[kv[1]] = kv[2]
						}
					}
					out = append(out, ref)
				}
				continue
			}
			if len(parts) < 2 || len(parts)%2 != 0 || slices.Contains(parts, ".") {
				return nil, fmt.Errorf("%s: metric %v is not [namespace, name, dimension, value, …] spelled out in full", where, parts)
			}
			ref := metricRef{where: where, namespace: parts[0], name: parts[1], dims: map[string]string{}}
			for j := 2; j < len(parts); j += 2 {
				ref.dims[parts[j]] = parts[j+1]
			}
			ref.stats = []string{cmp.Or(opts.Stat, w.Properties.Stat, "Average")}
			out = append(out, ref)
		}
	}
	return out, nil
}

// TestOperationsCheckCatchesMismatches runs checkOperations on mutated
// copies of the template: each mutation must be reported, exactly as said
// here, and nothing else.
func TestOperationsCheckCatchesMismatches(t *testing.T) {
	if problems := loadProject(t).checkOperations(); len(problems) > 0 {
		t.Fatalf("the template itself has problems (TestOperations): %v", problems)
	}
	// editBody replaces old with new in the dashboard's body.
	editBody := func(t *testing.T, p *project, old, new string) {
		t.Helper()
		_, body := intrinsic(p.resource("Dashboard", "Properties", "DashboardBody"))
		if !strings.Contains(body.Value, old) {
			t.Fatalf("the dashboard body does not contain %q", old)
		}
		body.Value = strings.Replace(body.Value, old, new, 1)
	}
	testMutations(t, (*project).checkOperations, nil, []mutation{
		{
			name: "a function logging into Lambda's default group",
			mutate: func(t *testing.T, p *project) {
				deleteKey(p.resource("PollFunction", "Properties"), "LoggingConfig")
			},
			want: []string{"PollFunction: LoggingConfig.LogGroup is not set, so Lambda logs to a group kept forever; point it at an AWS::Logs::LogGroup"},
		},
		{
			name: "two functions in one log group, one kept forever",
			mutate: func(t *testing.T, p *project) {
				setKey(p.resource("FailFunction", "Properties", "LoggingConfig"), "LogGroup", parseYAML(t, "!Ref PollFunctionLogGroup"))
				deleteKey(p.resource("PollFunctionLogGroup", "Properties"), "RetentionInDays")
			},
			want: []string{
				"PollFunction: logs into PollFunctionLogGroup, as FailFunction does; give each function its own",
				"PollFunctionLogGroup: RetentionInDays is not set, want !Ref LogRetentionDays",
			},
		},
		{
			name: "a fixed log level, text logs and no stage",
			mutate: func(t *testing.T, p *project) {
				lc := get(p.doc.Content[0], "Globals", "Function", "LoggingConfig")
				setKey(lc, "ApplicationLogLevel", parseYAML(t, "DEBUG"))
				setKey(lc, "LogFormat", parseYAML(t, "Text"))
				deleteKey(get(p.doc.Content[0], "Globals", "Function", "Environment", "Variables"), "VIDGEN_STAGE")
				setKey(get(p.doc.Content[0], "Parameters", "LogLevel"), "AllowedValues", parseYAML(t, "[DEBUG, INFO, WARN, ERROR, FATAL]"))
			},
			want: append(append(append(
				eachFunction(functionIDs(loadProject(t)), `%s: LoggingConfig.ApplicationLogLevel is "DEBUG", want "TRACE" (the handlers filter at LogLevel; Lambda's filter would drop EMF lines)`),
				eachFunction(functionIDs(loadProject(t)), `%s: LoggingConfig.LogFormat is "Text", want "JSON" (ApplicationLogLevel needs it)`)...),
				eachFunction(functionIDs(loadProject(t)), "%s: VIDGEN_STAGE is not set, want !Ref Stage")...),
				"Globals.Function.Environment.Variables are [VIDGEN_LOG_LEVEL]; want exactly [VIDGEN_LOG_LEVEL VIDGEN_STAGE], which every function reads",
				"parameter LogLevel allows [DEBUG INFO WARN ERROR FATAL] with Default \"INFO\"; want [DEBUG INFO WARN ERROR], Default INFO"),
		},
		{
			name: "access logs without the tenant, and not JSON",
			mutate: func(t *testing.T, p *project) {
				als := p.resource("HttpApi", "Properties", "AccessLogSettings")
				f := get(als, "Format")
				f.Value = strings.Replace(f.Value, `,"tenant":"$context.authorizer.tenant"`, "", 1)
				f.Value = strings.Replace(f.Value, `"routeKey":"$context.routeKey"`, `"routeKey":$context.routeKey"`, 1)
			},
			want: []string{
				"HttpApi: the access log format lacks $context.authorizer.tenant",
				"HttpApi: the access log format is not one JSON object per line",
			},
		},
		{
			name: "a state machine and a function without their alarms",
			mutate: func(t *testing.T, p *project) {
				resources := get(p.doc.Content[0], "Resources")
				deleteKey(resources, "VideoBatchExecutionsAbortedAlarm")
				deleteKey(resources, "SubmitFunctionThrottlesAlarm")
				setKey(p.resource("Api5xxAlarm", "Properties"), "MetricName", parseYAML(t, "4xx"))
			},
			want: []string{
				"VideoBatchStateMachine: no alarm on AWS/States ExecutionsAborted",
				"SubmitFunction: no alarm on AWS/Lambda Throttles",
				"HttpApi: no alarm on AWS/ApiGateway 5xx (ApiId, Stage $default)",
			},
		},
		{
			name: "alarms on metrics no function emits",
			mutate: func(t *testing.T, p *project) {
				setKey(p.resource("JobsTimedOutAlarm", "Properties"), "MetricName", parseYAML(t, "JobsFinished"))
				dims := p.resource("UpstreamAuthAlarm", "Properties", "Dimensions")
				setKey(dims.Content[1], "Value", parseYAML(t, "Unauthorized"))
				math := p.resource("UpstreamErrorRateAlarm", "Properties", "Metrics")
				deleteKey(get(math.Content[0], "MetricStat", "Metric", "Dimensions").Content[1], "Name")
				setKey(get(p.resource("StrandedJobsAlarm", "Properties", "Metrics").Content[0], "MetricStat", "Metric", "Dimensions").Content[0], "Value", parseYAML(t, "prod"))
			},
			want: []string{
				"JobsTimedOutAlarm: names vidgen JobsFinished, which no function emits (contract: [AdmissionInFlight AdmissionWaiting DetectionLag JobDuration JobsEnded JobsSubmitted PollsPerJob ReconcilerActions SpendCountersMissed UpstreamResponses WebhookDeliveries])",
				"no alarm on jobs reaching their deadline: vidgen JobsEnded with Error [TimedOut]",
				`UpstreamAuthAlarm: vidgen JobsEnded has Error "Unauthorized", which is never emitted ([TimedOut Cancelled UpstreamRejected SubmitOutcomeUnknown UpstreamNotFound GenerationFailed InternalError UpstreamAuth ConfigurationError Other])`,
				"no alarm on the upstream refusing the key: vidgen JobsEnded with Error [UpstreamAuth]",
				"UpstreamErrorRateAlarm: names vidgen UpstreamResponses with dimensions [ Stage], which it is not emitted with ([[Stage Class]])",
				"no alarm on the upstream error rate: vidgen UpstreamResponses with Class [2xx 4xx 429 5xx transport]",
				`StrandedJobsAlarm: vidgen ReconcilerActions has Stage "prod", want the Stage parameter`,
			},
		},
		{
			name: "alarms that notify nobody or say nothing about missing data",
			mutate: func(t *testing.T, p *project) {
				setKey(p.resource("PollFunctionErrorsAlarm", "Properties"), "AlarmActions", parseYAML(t, "[!Ref AlarmTopicArn]"))
				deleteKey(p.resource("WebhookExecutionsFailedAlarm", "Properties"), "OKActions")
				deleteKey(p.resource("Api5xxAlarm", "Properties"), "TreatMissingData")
				setKey(p.resource("JobsTimedOutAlarm", "Properties"), "Threshold", parseYAML(t, "3"))
				setKey(get(p.resource("StrandedJobsAlarm", "Properties", "Metrics").Content[0]), "ReturnData", parseYAML(t, "true"))
				deleteKey(get(p.doc.Content[0], "Resources"), "AlarmEmailSubscription")
				p.editFile(t, "docs/operations.md", "### API 5xx", "### API errors")
				setKey(p.resource("StrandedJobsAlarm", "Properties"), "AlarmDescription", parseYAML(t, "Jobs were stranded."))
			},
			want: []string{
				"PollFunctionErrorsAlarm: AlarmActions is [!Ref AlarmTopicArn], want [" + alarmTopic + "]",
				"WebhookExecutionsFailedAlarm: OKActions is not set, want [" + alarmTopic + "]",
				"Api5xxAlarm: TreatMissingData is not set; say what no data means",
				`JobsTimedOutAlarm: Threshold is "3", want !Ref of a Number parameter with a Default (or 1: any at all)`,
				"StrandedJobsAlarm: 2 of its Metrics return data, want exactly 1 (set ReturnData: false on the others)",
				"no AWS::SNS::Subscription sends the alarms' topic to AlarmEmail (Protocol email, on a condition on AlarmEmail)",
				"Api5xxAlarm: AlarmDescription points at docs/operations.md#api-5xx, which has no such section",
				"StrandedJobsAlarm: AlarmDescription names no section of docs/operations.md (docs/operations.md#…)",
			},
		},
		{
			name: "a dashboard naming metrics no function emits and missing percentiles",
			mutate: func(t *testing.T, p *project) {
				editBody(t, p, `["vidgen", "AdmissionWaiting", "Stage", "${Stage}"`, `["vidgen", "QueueDepth", "Stage", "${Stage}"`)
				editBody(t, p, `MetricName=\"JobsEnded\"`, `MetricName=\"JobFailures\"`)
				editBody(t, p, `{"stat": "p99", "label": "p99"}`, `{"stat": "Maximum", "label": "max"}`)
				editBody(t, p, `"UpstreamResponses", "Stage", "${Stage}", "Class", "2xx"`, `"UpstreamResponses", "Stage", "${Stage}", "Class", "200"`)
			},
			want: []string{
				`dashboard widget 8 "Queue depth: jobs waiting for a slot, slots held": names vidgen QueueDepth, which no function emits (contract: [AdmissionInFlight AdmissionWaiting DetectionLag JobDuration JobsEnded JobsSubmitted PollsPerJob ReconcilerActions SpendCountersMissed UpstreamResponses WebhookDeliveries])`,
				"the dashboard does not show vidgen AdmissionWaiting by [Stage]",
				`dashboard widget 3 "Outcomes: failed jobs by error name": names vidgen JobFailures, which no function emits (contract: [AdmissionInFlight AdmissionWaiting DetectionLag JobDuration JobsEnded JobsSubmitted PollsPerJob ReconcilerActions SpendCountersMissed UpstreamResponses WebhookDeliveries])`,
				"the dashboard does not show vidgen JobsEnded by [Stage Error]",
				"the dashboard does not show vidgen JobDuration's p99",
				`dashboard widget 7 "Upstream health: responses by class": vidgen UpstreamResponses has Class "200", which is never emitted ([2xx 4xx 429 5xx transport])`,
			},
		},
	})
}
