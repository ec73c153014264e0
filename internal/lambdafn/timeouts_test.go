package lambdafn_test

// TestTimeoutBudgets holds template.yaml and the state machines to AWS's
// rules for Lambda steps: a function's timeout exceeds the worst case of
// its work (lambdafn.Budget), a Task's TimeoutSeconds exceeds the timeout of
// the function it invokes, and every Task that invokes a function retries
// the errors AWS documents for Lambda invocations.

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/lambdafn"
	"go.yaml.in/yaml/v3"
)

// lambdaErrors are the errors a Lambda invocation from Step Functions can
// fail with that say nothing of the step's own work, so that every Lambda
// Task retries them: the service errors the Step Functions developer guide
// tells to retry ("Handle transient Lambda service exceptions"),
// throttling, a function that crashed (Lambda.Unknown) and one that ran
// out of time (Sandbox.Timedout).
var lambdaErrors = []string{
	"Lambda.ServiceException",
	"Lambda.AWSLambdaException",
	"Lambda.SdkClientException",
	"Lambda.ClientExecutionTimeoutException",
	"Lambda.TooManyRequestsException",
	"Lambda.Unknown",
	"Sandbox.Timedout",
}

// apiGatewayLimit is the HTTP API's integration timeout: the api function
// must answer (or fail) within it.
const apiGatewayLimit = 30 * time.Second

func TestTimeoutBudgets(t *testing.T) { reportsNothing(t, (*project).checkTimeouts) }

// checkTimeouts returns every disagreement between the code's budgets, the
// template's function timeouts and the state machines' Tasks.
func (p *project) checkTimeouts() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	root := p.doc.Content[0]
	resources := get(root, "Resources")
	globals := get(root, "Globals", "Function")

	timeouts := map[string]time.Duration{} // by logical id
	for _, id := range keys(resources) {
		r := get(resources, id)
		if scalar(get(r, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		props := get(r, "Properties")
		secs, err := strconv.Atoi(scalar(effective(props, globals, "Timeout")))
		if err != nil {
			add("%s: Timeout is not a whole number of seconds", id)
			continue
		}
		timeout := time.Duration(secs) * time.Second
		timeouts[id] = timeout
		fn := strings.ToLower(strings.TrimSuffix(id, "Function"))
		budget := lambdafn.Budget(fn)
		switch {
		case budget == 0:
			add("%s: lambdafn.Budget has no budget for function %q", id, fn)
		case timeout <= budget:
			add("%s: Timeout %v does not exceed the worst case of its work, %v (lambdafn.Budget)", id, timeout, budget)
		}
		if fn == "api" && timeout >= apiGatewayLimit {
			add("%s: Timeout %v is not under API Gateway's %v integration timeout", id, timeout, apiGatewayLimit)
		}
	}

	for _, id := range keys(resources) {
		r := get(resources, id)
		if scalar(get(r, "Type")) != "AWS::Serverless::StateMachine" {
			continue
		}
		props := get(r, "Properties")
		uri := scalar(get(props, "DefinitionUri"))
		def, err := fs.ReadFile(p.files, uri)
		if err != nil {
			add("%s: %v", id, err)
			continue
		}
		// The function each substitution names.
		functionOf := map[string]string{}
		subs := get(props, "DefinitionSubstitutions")
		for _, k := range keys(subs) {
			if refs := refs(get(subs, k)); len(refs) == 1 {
				functionOf["${"+k+"}"] = refs[0]
			}
		}
		var m struct{ States map[string]json.RawMessage }
		if err := json.Unmarshal(def, &m); err != nil {
			add("%s: %v", uri, err)
			continue
		}
		for state, raw := range lambdaTasks(m.States) {
			fnID := functionOf[raw.resource]
			timeout, ok := timeouts[fnID]
			if !ok {
				continue // not a Lambda of this template
			}
			if raw.TimeoutSeconds == 0 {
				add("%s: Task %s invokes %s with no TimeoutSeconds (the default is the execution's, a year)", uri, state, fnID)
			} else if task := time.Duration(raw.TimeoutSeconds) * time.Second; task <= timeout {
				add("%s: Task %s has TimeoutSeconds %v, not above %s's Timeout %v", uri, state, task, fnID, timeout)
			}
			if raw.HeartbeatSeconds > 0 && raw.HeartbeatSeconds >= raw.TimeoutSeconds {
				add("%s: Task %s has HeartbeatSeconds %d, not below its TimeoutSeconds %d", uri, state, raw.HeartbeatSeconds, raw.TimeoutSeconds)
			}
			if missing := unretried(raw.Retry); len(missing) > 0 {
				add("%s: Task %s (%s) does not retry %s", uri, state, fnID, strings.Join(missing, ", "))
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// lambdaTask is what the check reads of a Task state that invokes a Lambda.
type lambdaTask struct {
	resource         string // the function's ARN substitution, e.g. ${PollFunctionArn}
	TimeoutSeconds   int
	HeartbeatSeconds int
	Retry            []struct{ ErrorEquals []string }
}

// lambdaTasks finds the Lambda Tasks among states, in Map processors too.
func lambdaTasks(states map[string]json.RawMessage) map[string]lambdaTask {
	out := map[string]lambdaTask{}
	for name, res := range taskResources(states) {
		raw := states[name]
		if i := strings.LastIndex(name, "/"); i >= 0 {
			raw = nestedState(states, name)
		}
		var task lambdaTask
		if json.Unmarshal(raw, &task) != nil {
			continue
		}
		task.resource = res
		out[name] = task
	}
	return out
}

// nestedState finds a state that taskResources named parent/…/child.
func nestedState(states map[string]json.RawMessage, path string) json.RawMessage {
	names := strings.Split(path, "/")
	raw := states[names[0]]
	for _, n := range names[1:] {
		var s struct {
			Iterator  *struct{ States map[string]json.RawMessage }
			Processor *struct{ States map[string]json.RawMessage } `json:"ItemProcessor"`
		}
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		switch {
		case s.Processor != nil:
			raw = s.Processor.States[n]
		case s.Iterator != nil:
			raw = s.Iterator.States[n]
		default:
			return nil
		}
	}
	return raw
}

// unretried lists the Lambda errors no retrier of retry matches.
func unretried(retry []struct{ ErrorEquals []string }) []string {
	var missing []string
	for _, e := range lambdaErrors {
		if !slices.ContainsFunc(retry, func(r struct{ ErrorEquals []string }) bool {
			return slices.Contains(r.ErrorEquals, e) || slices.Contains(r.ErrorEquals, "States.ALL")
		}) {
			missing = append(missing, e)
		}
	}
	return missing
}

// TestTimeoutBudgetsCatchMismatches shows the check notices each rule
// broken.
func TestTimeoutBudgetsCatchMismatches(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		edit       func(t *testing.T, p *project)
	}{
		{"function shorter than its work", "PollFunction: Timeout 1m0s does not exceed", func(t *testing.T, p *project) {
			setKey(p.resource("PollFunction", "Properties"), "Timeout", &yaml.Node{Kind: yaml.ScalarNode, Value: "60"})
		}},
		{"Task no longer than its function", "Task Poll has TimeoutSeconds", func(t *testing.T, p *project) {
			p.editFile(t, "statemachine/video_job.asl.json", `"TimeoutSeconds": 930`, `"TimeoutSeconds": 800`)
		}},
		{"a Lambda error not retried", "Task Finish (FinishFunction) does not retry", func(t *testing.T, p *project) {
			p.editFile(t, "statemachine/video_job.asl.json", `"ErrorEquals": [
            "States.ALL"
          ],
          "IntervalSeconds": 2,
          "MaxAttempts": 10`, `"ErrorEquals": [
            "TransientError"
          ],
          "IntervalSeconds": 2,
          "MaxAttempts": 10`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProject(t)
			if got := p.checkTimeouts(); len(got) != 0 {
				t.Fatalf("the project as it is has problems: %v", got)
			}
			tc.edit(t, p)
			got := p.checkTimeouts()
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Fatalf("problems %q, want one containing %q", got, tc.want)
			}
		})
	}
}
