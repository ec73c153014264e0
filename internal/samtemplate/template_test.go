package samtemplate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vidgen/vidgen/internal/local/localarn"
)

// writeTemplate writes a template and an empty ASL file beside it.
func writeTemplate(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sm.asl.json"), []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const templateHead = `
Parameters:
  Stage:
    Type: String
    Default: dev
  BatchState:
    Type: String
    Default: ENABLED
  NoDefault:
    Type: String
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  DevOrProd: !Or [!Condition IsProd, !Equals [dev, !Ref Stage]]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          PLAIN: text
          NUMBER: 5
          TABLE: !Ref Table
  Table:
    Type: AWS::DynamoDB::Table
  Child:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: sm.asl.json
`

func TestLoad(t *testing.T) {
	path := writeTemplate(t, templateHead+`
  Parent:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: sm.asl.json
      DefinitionSubstitutions:
        FnArn: !GetAtt Fn.Arn
        FnRef: !Ref Fn
        FnLong: {"Fn::GetAtt": [Fn, Arn]}
        ChildArn: !GetAtt Child.Arn
        ChildRef: !Ref Child
        ChildLong: {Ref: Child}
        ChildName: !GetAtt Child.Name
        Stage: !Ref Stage
        TableName: !Ref Table
        Text: plain
`)
	tmpl, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fnARN, childARN := localarn.Function("Fn"), "arn:aws:states:local:000000000000:stateMachine:Child"
	want := map[string]string{
		"FnArn": fnARN, "FnRef": fnARN, "FnLong": fnARN,
		"ChildArn": childARN, "ChildRef": childARN, "ChildLong": childARN, "ChildName": "Child",
		"Stage": "dev", "TableName": "Table", "Text": "plain",
	}
	got := map[string]string{}
	for k, s := range tmpl.StateMachines["Parent"].Substitutions {
		got[k] = s.Value()
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("substitutions\n got %v\nwant %v", got, want)
	}
	if s := tmpl.StateMachines["Parent"].Substitutions["ChildArn"]; s.StateMachine != "Child" || s.Function != "" {
		t.Errorf("ChildArn = %+v", s)
	}
	if want := map[string]string{"Stage": "dev", "BatchState": "ENABLED"}; !reflect.DeepEqual(tmpl.Parameters, want) {
		t.Errorf("parameters = %v, want %v", tmpl.Parameters, want)
	}
	if want := map[string]string{"PLAIN": "text", "NUMBER": "5"}; !reflect.DeepEqual(tmpl.Functions["Fn"].Environment, want) {
		t.Errorf("environment = %v, want %v", tmpl.Functions["Fn"].Environment, want)
	}
}

func TestLoadSchedules(t *testing.T) {
	path := writeTemplate(t, templateHead+`
  Nightly:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: cron(0 6 * * ? *)
      FlexibleTimeWindow: {Mode: "OFF"}
      State: !If [IsProd, ENABLED, DISABLED]
      Target:
        Arn: !Ref Child
        RoleArn: !GetAtt Role.Arn
        Input: !Sub |
          {"stage": "${Stage}", "table": "${Table}", "child": "${Child.Arn}", "literal": "${!Stage}",
           "at": "<aws.scheduler.scheduled-time>", "id": "<aws.scheduler.execution-id>"}
  Daily:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: rate(1 day)
      State: !Ref BatchState
      Target:
        Arn: !GetAtt Child.Arn
        Input: !Sub
          - '{"bucket": "${Bucket}", "dev": "${Dev}"}'
          - Bucket: !Ref Table
            Dev: !If [IsDev, yes, no]
  Dev:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: rate(5 minutes)
      State: !If [DevOrProd, ENABLED, DISABLED]
      Target:
        Arn: {"Fn::GetAtt": [Child, Arn]}
        Input: '{"plain": "${Stage}"}'
  Regional:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: rate(1 hour)
      State: !Select [0, [ENABLED]]
      Target:
        Arn: arn:aws:states:local:000000000000:stateMachine:Child
        Input: !Sub '{"region": "${AWS::Region}"}'
  ToFunction:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: at(2026-12-01T00:00:00)
      State: !Ref NoDefault
      Target:
        Arn: !GetAtt Fn.Arn
        Input: '{not json'
  Role:
    Type: AWS::IAM::Role
`)
	tmpl, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Schedule{
		"Nightly": {LogicalID: "Nightly", Expression: "cron(0 6 * * ? *)", State: "DISABLED", Target: "Child",
			InputTemplate: `{"stage": "dev", "table": "Table", "child": "arn:aws:states:local:000000000000:stateMachine:Child", "literal": "${Stage}",` +
				"\n" + ` "at": "<aws.scheduler.scheduled-time>", "id": "<aws.scheduler.execution-id>"}` + "\n"},
		"Daily": {LogicalID: "Daily", Expression: "rate(1 day)", State: "ENABLED", Target: "Child",
			InputTemplate: `{"bucket": "Table", "dev": "yes"}`},
		"Dev": {LogicalID: "Dev", Expression: "rate(5 minutes)", State: "ENABLED", Target: "Child",
			InputTemplate: `{"plain": "${Stage}"}`}, // no !Sub: no substitution, as in CloudFormation
		"Regional": {LogicalID: "Regional", Expression: "rate(1 hour)", State: "DISABLED",
			StateNote: "State cannot be resolved locally (Fn::Select is not supported locally); taken as DISABLED",
			Target:    "Child", InputError: "${AWS::Region}: pseudo parameter AWS::Region has no local value"},
		"ToFunction": {LogicalID: "ToFunction", Expression: "at(2026-12-01T00:00:00)", State: "DISABLED",
			StateNote:     "State cannot be resolved locally (parameter NoDefault has no Default to run with locally); taken as DISABLED",
			TargetNote:    "the target Fn (AWS::Serverless::Function) is not a state machine; only state machine targets run locally",
			InputTemplate: "{not json", InputError: "not JSON once the <aws.scheduler.…> attributes are filled in: invalid character 'n' looking for beginning of object key string"},
	}
	if len(tmpl.Schedules) != len(want) {
		t.Errorf("schedules: %v", tmpl.Schedules)
	}
	for id, w := range want {
		if got := tmpl.Schedules[id]; !reflect.DeepEqual(got, w) {
			t.Errorf("schedule %s\n got %#v\nwant %#v", id, got, w)
		}
	}
}

func TestLoadProblems(t *testing.T) {
	schedule := func(expr, arn string) string {
		return `
  S:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: ` + expr + `
      Target:
        Arn: ` + arn + "\n"
	}
	substitution := func(v string) string {
		return `
  P:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: sm.asl.json
      DefinitionSubstitutions:
        X: ` + v + "\n"
	}
	tests := []struct{ name, resources, want string }{
		{"unknown function or machine", substitution("!GetAtt Nothing.Arn"), "substitution X: unknown function, state machine or parameter Nothing"},
		{"unknown Ref", substitution("!Ref Nothing"), "substitution X: unknown function, state machine or parameter Nothing"},
		{"attribute other than Arn", substitution("!GetAtt Fn.Name"), "only !GetAtt <Function or StateMachine>.Arn is supported, got Fn.Name"},
		{"Arn of another resource", substitution("!GetAtt Table.Arn"), "got Table.Arn (AWS::DynamoDB::Table)"},
		{"unsupported function", substitution("!Sub x"), "unsupported value (tag !Sub)"},
		{"no DefinitionUri", "\n  Q:\n    Type: AWS::Serverless::StateMachine\n    Properties: {Definition: {}}\n", "only DefinitionUri definitions run locally"},
		{"singular for more than one", schedule("rate(2 minute)", "!Ref Child"), `invalid schedule expression "rate(2 minute)": the unit is singular for 1 and plural otherwise`},
		{"plural for one", schedule("rate(1 days)", "!Ref Child"), `invalid schedule expression "rate(1 days)"`},
		{"zero", schedule("rate(0 minutes)", "!Ref Child"), "the value must be a positive whole number"},
		{"unknown unit", schedule("rate(5 seconds)", "!Ref Child"), "the unit must be minute(s), hour(s) or day(s)"},
		{"cron fields", schedule("cron(0 6 * *)", "!Ref Child"), "cron() takes six fields"},
		{"at format", schedule("at(tomorrow)", "!Ref Child"), "at() takes yyyy-mm-ddThh:mm:ss"},
		{"no expression kind", schedule("every day", "!Ref Child"), `invalid schedule expression "every day": want rate(…), cron(…) or at(…)`},
		{"no expression", schedule("!Ref NoDefault", "!Ref Child"), "ScheduleExpression: parameter NoDefault has no Default"},
		{"unknown target", schedule("rate(1 day)", "!Ref Nothing"), "Target.Arn names unknown resource Nothing"},
		{"no target", "\n  S:\n    Type: AWS::Scheduler::Schedule\n    Properties: {ScheduleExpression: rate(1 day)}\n", "no Target.Arn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeTemplate(t, templateHead+tt.resources))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// The project's own template loads, and each of its schedules can fire.
func TestLoadProjectTemplate(t *testing.T) {
	tmpl, err := Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tmpl.StateMachines["VideoJobStateMachine"]; !ok {
		t.Fatal("no VideoJobStateMachine")
	}
	for id, s := range tmpl.Schedules {
		if s.Target == "" || s.InputError != "" {
			t.Errorf("schedule %s cannot fire locally: %s %s", id, s.TargetNote, s.InputError)
		}
	}
}

func TestLoadTimeouts(t *testing.T) {
	fn := func(id, timeout string) string {
		s := "\n  " + id + ":\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n"
		if timeout != "" {
			s += "      Timeout: " + timeout + "\n"
		}
		return s
	}
	params := "Parameters:\n  Slow:\n    Type: Number\n    Default: 120\n"
	globals := func(timeout string) string { return "Globals:\n  Function:\n    Timeout: " + timeout + "\n" }
	tests := []struct {
		name, text string
		want       map[string]time.Duration
		problem    string
	}{
		{name: "Lambda's default", text: "Resources:" + fn("A", ""),
			want: map[string]time.Duration{"A": 3 * time.Second}},
		{name: "globals, overridden per function", text: globals("30") + "Resources:" + fn("A", "") + fn("B", "5"),
			want: map[string]time.Duration{"A": 30 * time.Second, "B": 5 * time.Second}},
		{name: "a parameter's default", text: params + globals("!Ref Slow") + "Resources:" + fn("A", "") + fn("B", "!Ref Slow"),
			want: map[string]time.Duration{"A": 120 * time.Second, "B": 120 * time.Second}},
		{name: "too long", text: "Resources:" + fn("A", "901"), problem: `function A: Timeout: must be whole seconds from 1 to 900, got "901"`},
		{name: "not whole seconds", text: globals("1.5") + "Resources:" + fn("A", ""), problem: `Globals.Function.Timeout: must be whole seconds from 1 to 900, got "1.5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Load(writeTemplate(t, tt.text))
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]time.Duration{}
			for id, f := range tmpl.Functions {
				got[id] = f.Timeout
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("timeouts %v, want %v", got, tt.want)
			}
		})
	}
}
