package lambdafn_test

// What lets the template be deployed more than once, and what each function
// may do: physical names derive from the stack, data outlives a deleted
// stack without blocking the next one, ARNs name no partition, every
// function's role grants exactly what its code calls, and samconfig.toml
// keeps each stage in its own stack. check() runs these beside the checks
// of template_test.go, so TestTemplateCheckCatchesMismatches proves them too.

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vidgen/vidgen/internal/admission"
	"github.com/vidgen/vidgen/internal/api"
	"github.com/vidgen/vidgen/internal/dynamostore"
	"github.com/vidgen/vidgen/internal/gentime"
	"github.com/vidgen/vidgen/internal/lambdafn"
	"github.com/vidgen/vidgen/internal/notify"
	"github.com/vidgen/vidgen/internal/reconcile"
	"github.com/vidgen/vidgen/internal/steps"
	"go.yaml.in/yaml/v3"
)

// Upstream is how a grant on the upstream key's secret names it: the one
// the stack makes, or the one the deployer passes.
const upstream = "If(CreateUpstreamKeySecret, UpstreamKeySecret, UpstreamKeySecretArn)"

// allowed is, one line per function, every IAM grant its role may hold:
// "action resource", the resource as grantName spells it. Each line is what
// the function's code calls, as lambdafn wires it: the job store's calls per
// method are in jobStoreCalls (TestAllowListMatchesCode holds the two
// together), the keys table is read with dynamokeys.Store.Get, the bucket
// through s3blob (PutObject, GetObject, presigned GetObject) under the key
// prefixes of internal/blob (images/) and internal/archive (videos/),
// secrets through secret.Cache (GetSecretValue), executions through
// sfnexec.Starter and sfnexec.Executions, parked executions resumed through
// sfnexec.Tasks (the dispatcher of api, register, finish and reconcile, and
// submit's own), events through eventbus.Publisher. SAM adds CloudWatch Logs and X-Ray writes to
// every function on its own (AWSLambdaBasicExecutionRole,
// AWSXrayWriteOnlyAccess); they are not in Policies.
var allowed = map[string][]string{
	"api":        {"dynamodb:GetItem JobsTable", "dynamodb:BatchGetItem JobsTable", "dynamodb:PutItem JobsTable", "dynamodb:UpdateItem JobsTable", "dynamodb:Query JobsTable/index/*", "dynamodb:GetItem KeysTable", "s3:PutObject ImagesBucket/images/*", "s3:GetObject ImagesBucket/videos/*", "secretsmanager:GetSecretValue CursorSecret", "secretsmanager:GetSecretValue WebhookSecret", "states:StartExecution VideoJobStateMachine", "states:SendTaskSuccess *", "secretsmanager:DescribeSecret " + upstream},
	"authorizer": {"dynamodb:GetItem KeysTable"},
	"submit":     {"dynamodb:GetItem JobsTable", "dynamodb:UpdateItem JobsTable", "s3:GetObject ImagesBucket/images/*", "secretsmanager:GetSecretValue " + upstream, "states:SendTaskSuccess *"},
	// poll does finish's work for the jobs it sees end (steps.Handlers.Finisher).
	"poll": {"dynamodb:GetItem JobsTable", "dynamodb:BatchGetItem JobsTable", "dynamodb:UpdateItem JobsTable", "dynamodb:Query JobsTable/index/*", "s3:PutObject ImagesBucket/videos/*", "secretsmanager:GetSecretValue " + upstream,
		"events:PutEvents EventBusName", "states:StartExecution stateMachine:${AWS::StackName}-video-job", "states:SendTaskSuccess *"},
	"fail":      {"dynamodb:GetItem JobsTable", "dynamodb:UpdateItem JobsTable"},
	"reconcile": {"dynamodb:GetItem JobsTable", "dynamodb:BatchGetItem JobsTable", "dynamodb:UpdateItem JobsTable", "dynamodb:PutItem JobsTable", "dynamodb:Query JobsTable/index/*", "states:StartExecution VideoJobStateMachine", "states:DescribeExecution execution:${VideoJobStateMachine.Name}:*", "states:SendTaskSuccess *"},
	// register does submit's work for the job it registers (steps.Registrar.Submitter).
	"register": {"dynamodb:GetItem JobsTable", "dynamodb:BatchGetItem JobsTable", "dynamodb:PutItem JobsTable", "dynamodb:UpdateItem JobsTable", "dynamodb:Query JobsTable/index/*", "s3:PutObject ImagesBucket/images/*", "s3:GetObject ImagesBucket/images/*",
		"secretsmanager:GetSecretValue " + upstream, "states:StartExecution stateMachine:${AWS::StackName}-video-job", "states:SendTaskSuccess *"},
	"finish":    {"dynamodb:GetItem JobsTable", "dynamodb:BatchGetItem JobsTable", "dynamodb:UpdateItem JobsTable", "dynamodb:Query JobsTable/index/*", "events:PutEvents EventBusName", "states:StartExecution stateMachine:${AWS::StackName}-video-job", "states:SendTaskSuccess *"},
	"webhook":   {"dynamodb:GetItem JobsTable", "secretsmanager:GetSecretValue WebhookSecret"},
	"summarize": {"s3:GetObject ImagesBucket/results/*", "s3:GetObject ImagesBucket/batches/*"},
}

// jobStoreCalls is what each method of *dynamostore.Store calls on the jobs
// table. A transaction needs the actions of its parts (Put: PutItem,
// Update: UpdateItem); the indexes are only ever queried.
var jobStoreCalls = map[string][]string{
	"Create":        {"dynamodb:PutItem JobsTable"},
	"CreateClaimed": {"dynamodb:PutItem JobsTable", "dynamodb:GetItem JobsTable"}, // a lost race reads the winning claim
	"LiveClaim":     {"dynamodb:GetItem JobsTable"},
	"Get":           {"dynamodb:GetItem JobsTable"},
	"Update":        {"dynamodb:UpdateItem JobsTable", "dynamodb:GetItem JobsTable"},         // an end that gives a slot back reads the record
	"List":          {"dynamodb:Query JobsTable/index/*", "dynamodb:BatchGetItem JobsTable"}, // by-tenant, then the records by key
	"OpenJobs":      {"dynamodb:Query JobsTable/index/*"},                                    // open-by-deadline
	"Waiting":       {"dynamodb:Query JobsTable/index/*"},                                    // waiting-by-created
	"QueuePosition": {"dynamodb:Query JobsTable/index/*"},                                    // waiting-by-created
	"InFlight":      {"dynamodb:BatchGetItem JobsTable"},                                     // every counter shard
	// The learned generation times' item (internal/gentime).
	"GenTimes":      {"dynamodb:GetItem JobsTable"},
	"RecordGenTime": {"dynamodb:UpdateItem JobsTable"},
	// Reads the counters and each open job, lists open-by-deadline, and
	// writes the counters over on condition of their version.
	"RepairSlots": {"dynamodb:BatchGetItem JobsTable", "dynamodb:GetItem JobsTable", "dynamodb:Query JobsTable/index/*", "dynamodb:PutItem JobsTable"},
	"Admit":       {"dynamodb:GetItem JobsTable", "dynamodb:BatchGetItem JobsTable", "dynamodb:UpdateItem JobsTable"},
	// The conditional markers that announce a job's end once.
	"ClaimAnnouncement": {"dynamodb:UpdateItem JobsTable"},
	"MarkAnnounced":     {"dynamodb:UpdateItem JobsTable"},
	// A tenant's spend counter of a day (the spend cap, list usage).
	"Spend": {"dynamodb:GetItem JobsTable"},
}

// jobStoreUse is how each function's handler holds the job store: the
// consumer interfaces lambdafn fills with a *dynamostore.Store. The handler
// can call no other method.
var jobStoreUse = map[string][]reflect.Type{
	"api":       {reflect.TypeFor[api.Store](), reflect.TypeFor[admission.Store](), reflect.TypeFor[gentime.Store]()},
	"submit":    {reflect.TypeFor[steps.Store](), reflect.TypeFor[gentime.Store](), reflect.TypeFor[admission.SpendReader]()},
	"poll":      {reflect.TypeFor[steps.Store](), reflect.TypeFor[gentime.Store](), reflect.TypeFor[notify.Getter](), reflect.TypeFor[notify.Announcements](), reflect.TypeFor[admission.Store]()},
	"fail":      {reflect.TypeFor[steps.Store]()},
	"reconcile": {reflect.TypeFor[reconcile.Store](), reflect.TypeFor[admission.Store]()},
	"register":  {reflect.TypeFor[steps.Registry](), reflect.TypeFor[admission.Store](), reflect.TypeFor[steps.Store](), reflect.TypeFor[gentime.Store](), reflect.TypeFor[admission.SpendReader]()},
	"finish":    {reflect.TypeFor[notify.Getter](), reflect.TypeFor[notify.Announcements](), reflect.TypeFor[admission.Store]()},
	"webhook":   {reflect.TypeFor[notify.Getter]()},
}

// TestAllowListMatchesCode holds each function's jobs-table grants in
// allowed to the store methods its handler can call, so that a method
// added to a consumer interface, or to the store, fails here until its
// calls are granted.
func TestAllowListMatchesCode(t *testing.T) {
	store := reflect.TypeFor[*dynamostore.Store]()
	for m := range store.Methods() {
		if _, ok := jobStoreCalls[m.Name]; !ok {
			t.Errorf("dynamostore.Store.%s: jobStoreCalls does not say which DynamoDB actions it calls", m.Name)
		}
	}
	for _, fn := range slices.Sorted(maps.Keys(allowed)) {
		var want []string
		for _, iface := range jobStoreUse[fn] {
			for m := range iface.Methods() {
				calls, ok := jobStoreCalls[m.Name]
				if !ok {
					t.Errorf("%s: %s.%s is not a method jobStoreCalls knows", fn, iface, m.Name)
				}
				want = append(want, calls...)
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		var got []string
		for _, g := range allowed[fn] {
			if strings.HasPrefix(g, "dynamodb:") && strings.Contains(g, " JobsTable") {
				got = append(got, g)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: allowed grants on JobsTable %v, but the store methods its handler can call need %v", fn, got, want)
		}
	}
}

// unscopable are the actions that take no resource: a Statement may grant
// them on "*". A callback task token (.waitForTaskToken) names no resource
// IAM can scope SendTaskSuccess to.
var unscopable = []string{"states:SendTaskSuccess"}

// samPolicyActions are the actions of the SAM policy templates, from SAM's
// policy_templates.json. A function may use the ones that grant one action;
// the others grant table or bucket management no function does.
var samPolicyActions = map[string][]string{
	"AWSSecretsManagerGetSecretValuePolicy": {"secretsmanager:GetSecretValue"},
	"StepFunctionsExecutionPolicy":          {"states:StartExecution"},
	"EventBridgePutEventsPolicy":            {"events:PutEvents"},
	"LambdaInvokePolicy":                    {"lambda:InvokeFunction"},
	"DynamoDBCrudPolicy": {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query",
		"dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"},
	"DynamoDBReadPolicy":  {"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"},
	"DynamoDBWritePolicy": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"},
	"S3CrudPolicy": {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:PutObject",
		"s3:PutObjectAcl", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:DeleteObject"},
	"S3ReadPolicy":  {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:GetLifecycleConfiguration"},
	"S3WritePolicy": {"s3:PutObject", "s3:PutObjectAcl", "s3:PutLifecycleConfiguration"},
}

// checkGrants compares what function id's Policies grant with its line in
// allowed, both ways: nothing beyond it, and nothing of it missing.
func checkGrants(id, name string, policyList *yaml.Node) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	want, ok := allowed[name]
	if !ok {
		return []string{fmt.Sprintf("%s: the allowed list in deploy_test.go has no line for functions/%s: list what its code calls", id, name)}
	}
	got, unknown := grants(policyList)
	for _, u := range unknown {
		add("%s: %s", id, u)
	}
	missing, extra := diff(want, got)
	for _, g := range extra {
		add("%s: grants %s, which is not in its allowed list (what its code calls)", id, g)
	}
	for _, g := range missing {
		add("%s: its allowed list has %s, which its policies do not grant", id, g)
	}
	return problems
}

// grants lists the "action resource" pairs a Policies list allows, and
// what it holds that cannot be read as such.
func grants(list *yaml.Node) (out, unknown []string) {
	if list == nil {
		return nil, nil
	}
	for _, item := range list.Content {
		if item.Kind == yaml.ScalarNode {
			unknown = append(unknown, fmt.Sprintf("attaches the managed policy %s; grant exactly what the code calls in a Statement", item.Value))
			continue
		}
		for _, k := range keys(item) {
			v := get(item, k)
			if k == "Statement" {
				g, u := statementGrants(v)
				out, unknown = append(out, g...), append(unknown, u...)
				continue
			}
			actions, ok := samPolicyActions[k]
			if !ok {
				unknown = append(unknown, fmt.Sprintf("uses the SAM policy template %s, whose actions deploy_test.go does not know", k))
				continue
			}
			for _, a := range actions {
				out = append(out, a+" "+target(get(v, policyParam[k])))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), unknown
}

func statementGrants(list *yaml.Node) (out, unknown []string) {
	if list != nil && list.Kind == yaml.MappingNode {
		list = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{list}}
	}
	if list == nil {
		return nil, nil
	}
	for _, st := range list.Content {
		if get(st, "NotAction") != nil || get(st, "NotResource") != nil {
			unknown = append(unknown, "has a Statement with NotAction or NotResource, which grants what no list can show")
			continue
		}
		if scalar(get(st, "Effect")) != "Allow" {
			continue // a Deny only narrows
		}
		for _, a := range listOf(get(st, "Action")) {
			for _, r := range listOf(get(st, "Resource")) {
				out = append(out, scalar(a)+" "+grantName(r))
			}
		}
	}
	return out, unknown
}

// listOf is a YAML sequence's items, or the one value.
func listOf(n *yaml.Node) []*yaml.Node {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.SequenceNode && n.Tag == "!!seq":
		return n.Content
	}
	return []*yaml.Node{n}
}

// arnPrefix is the part of an ARN spelled with !Sub that names partition,
// service, region and account.
var arnPrefix = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:[a-z0-9-]+:(\$\{AWS::Region\})?:(\$\{AWS::AccountId\})?:`)

// grantName spells a Resource for the allowed list: a logical id for
// !Ref X or !GetAtt X.Arn, "X/index/*" for !Sub ${X.Arn}/index/*, and an
// ARN spelled with !Sub without its partition, service, region and
// account ("stateMachine:${AWS::StackName}-video-job").
func grantName(r *yaml.Node) string {
	if r.Kind == yaml.ScalarNode && r.Tag == "!!str" {
		return r.Value
	}
	tag, v := intrinsic(r)
	if tag != "Sub" {
		return target(r)
	}
	s := scalar(v)
	if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
		s = scalar(v.Content[0])
	}
	s = arnPrefix.ReplaceAllString(s, "")
	return regexp.MustCompile(`\$\{([A-Za-z0-9]+)\.Arn\}`).ReplaceAllString(s, "$1")
}

// nameProperties are the properties that give a resource its physical
// name, by resource type.
var nameProperties = map[string]string{
	"AWS::DynamoDB::Table":             "TableName",
	"AWS::S3::Bucket":                  "BucketName",
	"AWS::SecretsManager::Secret":      "Name",
	"AWS::Logs::LogGroup":              "LogGroupName",
	"AWS::Serverless::StateMachine":    "Name",
	"AWS::StepFunctions::StateMachine": "StateMachineName",
	"AWS::Serverless::Function":        "FunctionName",
	"AWS::Lambda::Function":            "FunctionName",
	"AWS::Scheduler::Schedule":         "Name",
	"AWS::Scheduler::ScheduleGroup":    "Name",
	"AWS::IAM::Role":                   "RoleName",
	"AWS::Events::Rule":                "Name",
	"AWS::Events::EventBus":            "Name",
	"AWS::SQS::Queue":                  "QueueName",
	"AWS::SNS::Topic":                  "TopicName",
	"AWS::CloudWatch::Alarm":           "AlarmName",
	"AWS::CloudWatch::Dashboard":       "DashboardName",
}

// mustRetain are the resource types that hold data: a deleted stack must
// leave them behind.
var mustRetain = []string{"AWS::DynamoDB::Table", "AWS::S3::Bucket"}

// maxStackName bounds the stack name: the longest derived name,
// "<stack>-example-parent", must fit Step Functions' 80 characters, and
// "<stack>-reconcile" EventBridge Scheduler's 64.
const maxStackName = 54

// checkDeployment returns every way in which the template could not be
// deployed twice in one account and region, or once more after its stack
// was deleted.
func (p *project) checkDeployment() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	root := p.doc.Content[0]
	resources := get(root, "Resources")

	for _, id := range keys(resources) {
		res := get(resources, id)
		typ := scalar(get(res, "Type"))
		props := get(res, "Properties")
		policy := scalar(get(res, "DeletionPolicy"))
		retained := policy == "Retain" || policy == "RetainExceptOnCreate"
		if slices.Contains(mustRetain, typ) && !retained {
			add("%s: holds data but its DeletionPolicy is %q; use RetainExceptOnCreate (or Retain)", id, policy)
		}
		if retained && scalar(get(res, "UpdateReplacePolicy")) != "Retain" {
			add("%s: is kept when deleted but not when replaced; set UpdateReplacePolicy: Retain", id)
		}
		if prop, ok := nameProperties[typ]; ok {
			if n := get(props, prop); n != nil {
				switch {
				case !derivesFrom(n, "AWS::StackName"):
					add("%s: %s %s does not derive from the stack name; use !Sub ${AWS::StackName}-… or leave it to CloudFormation", id, prop, spell(n))
				case retained && !derivesFrom(n, "AWS::StackId"):
					add("%s: is kept after its stack is deleted, so %s %s would clash with a stack made again under the same name; leave it to CloudFormation or add the stack id", id, prop, spell(n))
				}
			} else if typ == "AWS::Scheduler::Schedule" {
				add("%s: has no Name; give it one derived from the stack name", id)
			}
		}
		// SAM's ScheduleV2 events name their schedule <Function><Event>
		// unless told otherwise: the same in every stack.
		events := get(props, "Events")
		for _, ev := range keys(events) {
			e := get(events, ev)
			if scalar(get(e, "Type")) != "ScheduleV2" {
				continue
			}
			if n := get(e, "Properties", "Name"); n == nil || !derivesFrom(n, "AWS::StackName") {
				add("%s: event %s (ScheduleV2) has Name %s; give it one derived from the stack name", id, ev, spell(n))
			}
		}
	}

	walk(root, "", func(path string, n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && regexp.MustCompile(`arn:aws(-[a-z-]+)?:`).MatchString(n.Value) {
			add("%s: %q names the partition; use arn:${AWS::Partition}:… in a !Sub", path, n.Value)
		}
	})

	problems = append(problems, p.checkSamconfig()...)
	return append(problems, p.checkReconcileParams()...)
}

// reconcileParams are the reconciler's parameters, each with the variable
// it reaches the function through ("" for the schedule's rate) and its
// default, the value the reconciler had before it was a parameter.
var reconcileParams = []struct {
	param, env string
	def        int
}{
	{"ReconcileIntervalMinutes", "", 5},
	{"ReconcileMinAgeSeconds", lambdafn.EnvReconcileMinAge, 300},
	{"ReconcileGraceSeconds", lambdafn.EnvReconcileGrace, 300},
}

// checkReconcileParams holds the reconciler's parameters to their
// defaults and bounds, and checks that each reaches ReconcileFunction: the
// rate as its schedule, MinAge and Grace as its environment.
func (p *project) checkReconcileParams() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	root := p.doc.Content[0]
	fn := get(root, "Resources", "ReconcileFunction", "Properties")
	for _, rp := range reconcileParams {
		param := get(root, "Parameters", rp.param)
		if param == nil {
			add("parameter %s is missing", rp.param)
			continue
		}
		def, _ := strconv.Atoi(scalar(get(param, "Default")))
		lo, loErr := strconv.Atoi(scalar(get(param, "MinValue")))
		hi, hiErr := strconv.Atoi(scalar(get(param, "MaxValue")))
		switch {
		case scalar(get(param, "Type")) != "Number" || loErr != nil || hiErr != nil:
			add("parameter %s must be a Number with MinValue and MaxValue", rp.param)
		case def != rp.def || def < lo || def > hi:
			add("parameter %s has Default %s, want %d within [MinValue, MaxValue]", rp.param, scalar(get(param, "Default")), rp.def)
		}
		if rp.env != "" {
			if v := get(fn, "Environment", "Variables", rp.env); target(v) != rp.param {
				add("ReconcileFunction: %s is %s, want !Ref %s", rp.env, describe(v), rp.param)
			}
			continue
		}
		used := false
		events := get(fn, "Events")
		for _, ev := range keys(events) {
			e := get(events, ev)
			if scalar(get(e, "Type")) == "ScheduleV2" && slices.Contains(refs(get(e, "Properties", "ScheduleExpression")), rp.param) {
				used = true
			}
		}
		if !used {
			add("ReconcileFunction: no ScheduleV2 event's ScheduleExpression uses %s", rp.param)
		}
	}
	return problems
}

// spell shows a name's value in a message: a !Sub with its text quoted.
func spell(n *yaml.Node) string {
	if n == nil {
		return "not set"
	}
	tag, v := intrinsic(n)
	switch {
	case tag == "Sub" && v.Kind == yaml.ScalarNode:
		return fmt.Sprintf("!Sub %q", v.Value)
	case tag == "Sub" && v.Kind == yaml.SequenceNode && len(v.Content) > 0:
		return fmt.Sprintf("!Sub [%q, …]", scalar(v.Content[0]))
	}
	return describe(n)
}

// derivesFrom reports whether the value uses the pseudo parameter pseudo:
// as ${pseudo} in a !Sub, or as a !Ref (either form) anywhere inside it.
func derivesFrom(n *yaml.Node, pseudo string) bool {
	sub := false
	if tag, _ := intrinsic(n); tag == "Sub" {
		sub = true
	}
	found := false
	walk(n, "", func(_ string, c *yaml.Node) {
		tag, v := intrinsic(c)
		switch {
		case c.Kind == yaml.ScalarNode && sub && strings.Contains(c.Value, "${"+pseudo+"}"):
			found = true
		case tag == "Ref" && scalar(v) == pseudo:
			found = true
		}
	})
	return found
}

// walk calls f on n and everything below it, with a dotted path.
func walk(n *yaml.Node, path string, f func(path string, n *yaml.Node)) {
	if n == nil {
		return
	}
	f(path, n)
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			walk(c, fmt.Sprintf("%s[%d]", path, i), f)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(n.Content[i+1], strings.TrimPrefix(path+"."+n.Content[i].Value, "."), f)
		}
	}
}

// samconfigEnvs are the config envs samconfig.toml must hold, each its own
// stack.
var samconfigEnvs = []string{"dev", "prod"}

// checkSamconfig holds samconfig.toml to one stack per stage: dev and prod
// envs with distinct stack names short enough for the derived names, a
// region each, and Stage set to the env.
func (p *project) checkSamconfig() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	conf, err := parseSamconfig(p.samconfig)
	if err != nil {
		return []string{"samconfig.toml: " + err.Error()}
	}
	stacks := map[string]string{}
	for _, env := range samconfigEnvs {
		val := func(key string) string {
			for _, cmd := range []string{"deploy", "global"} {
				if v, ok := conf[env+"."+cmd+".parameters"][key]; ok {
					return v
				}
			}
			return ""
		}
		if _, ok := conf[env+".deploy.parameters"]; !ok {
			add("samconfig.toml: no [%s.deploy.parameters]: `sam deploy --config-env %s` would deploy nothing it names", env, env)
			continue
		}
		stack := val("stack_name")
		switch {
		case stack == "":
			add("samconfig.toml: env %s names no stack_name", env)
		case len(stack) > maxStackName:
			add("samconfig.toml: env %s's stack_name %q is longer than %d characters, too long for the names derived from it", env, stack, maxStackName)
		case stacks[stack] != "":
			add("samconfig.toml: envs %s and %s deploy the same stack %q", stacks[stack], env, stack)
		default:
			stacks[stack] = env
		}
		if val("region") == "" {
			add("samconfig.toml: env %s names no region, so it deploys wherever the shell points", env)
		}
		if !strings.Contains(val("capabilities"), "CAPABILITY_IAM") {
			add("samconfig.toml: env %s lacks capabilities CAPABILITY_IAM (the stack makes roles)", env)
		}
		if !regexp.MustCompile(`(^|\s)Stage=(\\?")?` + env + `(\\?")?(\s|$)`).MatchString(val("parameter_overrides")) {
			add("samconfig.toml: env %s's parameter_overrides %q do not set Stage=%s", env, val("parameter_overrides"), env)
		}
	}
	return problems
}

// parseSamconfig reads the part of TOML samconfig.toml uses: [a.b.c]
// tables of key = "string", number or boolean, and comments. Strings are
// unquoted.
func parseSamconfig(src string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	table := ""
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, ok := strings.CutPrefix(line, "["); ok {
			name, ok = strings.CutSuffix(name, "]")
			if !ok {
				return nil, fmt.Errorf("line %d: %q is not a table header", i+1, line)
			}
			table = strings.TrimSpace(name)
			if out[table] == nil {
				out[table] = map[string]string{}
			}
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not key = value", i+1, line)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if strings.HasPrefix(val, `"`) {
			s, err := strconv.Unquote(val)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", i+1, key, err)
			}
			val = s
		}
		if out[table] == nil {
			out[table] = map[string]string{}
		}
		out[table][key] = val
	}
	return out, nil
}

func TestSamconfigParses(t *testing.T) {
	conf, err := parseSamconfig("version = 0.1\n# c\n[dev.deploy.parameters]\nstack_name = \"vidgen-dev\"\nparameter_overrides = \"Stage=\\\"dev\\\" X=\\\"1\\\"\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := conf["dev.deploy.parameters"]; got["stack_name"] != "vidgen-dev" || got["parameter_overrides"] != `Stage="dev" X="1"` {
		t.Fatalf("parsed %v", conf)
	}
}
