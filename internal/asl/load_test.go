package asl

import (
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	// task wraps the fields of a Task state named Poll.
	task := func(fields string) string {
		return `{"StartAt":"Poll","States":{"Poll":{"Type":"Task","Resource":"r",` + fields + `"End":true}}}`
	}
	// choice wraps one choice rule of a Choice state named C.
	choice := func(rule string) string {
		return `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[` + rule + `],"Default":"D"},"D":{"Type":"Succeed"}}}`
	}
	tests := []refusal{
		{"invalid JSON", `{"StartAt":`, []string{"asl: definition is not valid JSON"}},
		{"not an object", `[]`, []string{"must be a JSON object"}},
		{"HeartbeatSeconds", task(`"HeartbeatSeconds":30,`),
			[]string{`asl: state "Poll": field "HeartbeatSeconds" is only supported on a Task whose Resource ends in .waitForTaskToken`}},
		{"fields of other query languages and variables", task(`"Credentials":{},"Arguments":{},"Output":{},"Assign":{},`),
			[]string{`state "Poll": field "Credentials" is not supported`, `field "Arguments" is not supported`,
				`field "Output" is not supported`, `field "Assign" is not supported`}},
		{"Map without ItemProcessor", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`,
			[]string{`asl: state "M": field "ItemProcessor" is required`}},
		{"Parallel", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[],"End":true}}}`,
			[]string{`state "P": field "Type": state type "Parallel" is not supported`}},
		{"missing Type", `{"StartAt":"S","States":{"S":{"End":true}}}`, []string{`state "S": field "Type" is required`}},
		{"JSONata machine", `{"QueryLanguage":"JSONata","StartAt":"S","States":{"S":{"Type":"Succeed"}}}`,
			[]string{`asl: field "QueryLanguage": "JSONata" is not supported, only JSONPath`}},
		{"JSONata state", `{"StartAt":"S","States":{"S":{"Type":"Succeed","QueryLanguage":"JSONata"}}}`,
			[]string{`state "S": field "QueryLanguage": "JSONata" is not supported`}},
		{"unknown top-level field", `{"StartAt":"S","Foo":1,"States":{"S":{"Type":"Succeed"}}}`,
			[]string{`asl: field "Foo" is not supported`}},
		{"unknown state field", `{"StartAt":"S","States":{"S":{"Type":"Succeed","Next":"S"}}}`,
			[]string{`state "S": field "Next" is not supported`}},
		{"no States", `{"StartAt":"S"}`, []string{`field "States" must be a non-empty object`}},
		{"StartAt missing state", `{"StartAt":"Nope","States":{"S":{"Type":"Succeed"}}}`,
			[]string{`field "StartAt": there is no state named "Nope"`}},
		{"invalid Next", `{"StartAt":"S","States":{"S":{"Type":"Pass","Next":"Nope"}}}`,
			[]string{`state "S": field "Next": there is no state named "Nope"`}},
		{"invalid Catch Next", task(`"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Nope"}],`),
			[]string{`state "Poll": Catch[0]: field "Next": there is no state named "Nope"`}},
		{"invalid Default", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"C"}],"Default":"Nope"}}}`,
			[]string{`state "C": field "Default": there is no state named "Nope"`}},
		// A rule's Next was not checked once: a definition naming no such
		// state panicked where it must be refused, as AWS refuses it.
		{"invalid Choice rule Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Not":{"Variable":"$.a","IsPresent":true},"Next":"Nope"}],"Default":"C"}}}`,
			[]string{`state "C": Choices[0]: field "Next": there is no state named "Nope"`}},
		{"unreachable", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"Orphan":{"Type":"Succeed"}}}`,
			[]string{`asl: state "Orphan": is not reachable from StartAt "A"`}},
		{"Next and End", `{"StartAt":"S","States":{"S":{"Type":"Pass","Next":"S","End":true}}}`,
			[]string{`state "S": fields "Next" and "End" cannot both be set`}},
		{"neither Next nor End", `{"StartAt":"S","States":{"S":{"Type":"Wait","Seconds":1}}}`,
			[]string{`state "S": needs field "Next" or "End": true`}},
		{"no Resource", `{"StartAt":"T","States":{"T":{"Type":"Task","End":true}}}`,
			[]string{`state "T": field "Resource" is required`}},
		{"States.ALL not alone", task(`"Retry":[{"ErrorEquals":["States.ALL","E"]}],`),
			[]string{`state "Poll": Retry[0]: field "ErrorEquals": States.ALL must appear alone, in the last retrier or catcher`}},
		{"States.ALL not last", task(`"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Poll"},{"ErrorEquals":["E"],"Next":"Poll"}],`),
			[]string{`state "Poll": Catch[0]: field "ErrorEquals": States.ALL must appear alone, in the last`}},
		{"unknown States error", task(`"Retry":[{"ErrorEquals":["States.Timout"]}],`),
			[]string{`Retry[0]: field "ErrorEquals": "States.Timout" is not a predefined error name`}},
		{"empty ErrorEquals", task(`"Retry":[{"ErrorEquals":[]}],`),
			[]string{`Retry[0]: field "ErrorEquals" must be a non-empty array of error names`}},
		{"bad retrier values", task(`"Retry":[{"ErrorEquals":["E"],"MaxAttempts":-1,"BackoffRate":0.5,"IntervalSeconds":0,"JitterStrategy":"HALF","MaxDelaySeconds":0,"Foo":1}],`),
			[]string{`field "MaxAttempts" must be an integer from 0 to 99999999`, `field "BackoffRate" must be a number of at least 1.0`,
				`field "IntervalSeconds" must be an integer from 1 to 99999999`, `field "JitterStrategy" must be FULL or NONE`,
				`field "MaxDelaySeconds" must be an integer from 1 to 31622400`, `Retry[0]: field "Foo" is not supported`}},
		{"task TimeoutSeconds", task(`"TimeoutSeconds":0,`), []string{`state "Poll": field "TimeoutSeconds" must be an integer from 1`}},
		{"machine TimeoutSeconds", `{"StartAt":"S","TimeoutSeconds":1.5,"States":{"S":{"Type":"Succeed"}}}`,
			[]string{`asl: field "TimeoutSeconds" must be an integer from 1`}},
		{"unknown intrinsic", task(`"Parameters":{"h.$":"States.Hash($.a, 'SHA-256')"},`),
			[]string{`state "Poll": field "Parameters": field "h.$": intrinsic function "States.Hash($.a, 'SHA-256')": function "States.Hash" is not supported`}},
		{"intrinsic arity", task(`"Parameters":{"h.$":"States.MathAdd(1)"},`), []string{`States.MathAdd does not take 1 arguments`}},
		{"JsonMerge without isDeep", task(`"Parameters":{"h.$":"States.JsonMerge($.a, $.b)"},`),
			[]string{`States.JsonMerge does not take 2 arguments`}},
		{"intrinsic open escape", task(`"Parameters":{"h.$":"States.Format('a\\b')"},`), []string{`a backslash must escape one of`}},
		{"intrinsic syntax", task(`"Parameters":{"h.$":"States.Array(1"},`), []string{`intrinsic function "States.Array(1"`}},
		{"ResultSelector neither path nor intrinsic", task(`"ResultSelector":{"h.$":"plain"},`),
			[]string{`field "ResultSelector": field "h.$": "plain" is neither a path nor an intrinsic function`}},
		{"template conflict", task(`"Parameters":{"a":1,"a.$":"$.a"},`), []string{`fields "a" and "a.$" conflict`}},
		{"Parameters not an object", task(`"Parameters":"x",`), []string{`field "Parameters" must be an object`}},
		{"wildcard path", task(`"InputPath":"$.items[*].id",`),
			[]string{`field "InputPath": path "$.items[*].id" is not a supported reference path`}},
		{"filter path", task(`"OutputPath":"$..id",`), []string{`field "OutputPath": path "$..id" is not a supported reference path`}},
		{"unsupported context path", task(`"Parameters":{"t.$":"$$.StateMachine.Id"},`),
			[]string{`context path "$$.StateMachine.Id" is not supported`}},
		{"ResultPath with an index", task(`"ResultPath":"$.a[0]",`), []string{`field "ResultPath": path "$.a[0]" cannot use an array index`}},
		{"ResultPath to the context", task(`"ResultPath":"$$.Execution",`), []string{`cannot refer to the context object`}},
		{"ResultSelector on Pass", `{"StartAt":"S","States":{"S":{"Type":"Pass","ResultSelector":{},"End":true}}}`,
			[]string{`state "S": field "ResultSelector" is not supported`}},
		{"Wait with two fields", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}}}`,
			[]string{`state "W": fields "Seconds" and "SecondsPath" cannot both be set`}},
		{"Wait without a field", `{"StartAt":"W","States":{"W":{"Type":"Wait","End":true}}}`, []string{`state "W": needs one of fields`}},
		{"Wait negative", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":-1,"End":true}}}`,
			[]string{`field "Seconds" must be an integer from 0`}},
		{"Wait bad timestamp", `{"StartAt":"W","States":{"W":{"Type":"Wait","Timestamp":"2024-05-01 12:00","End":true}}}`,
			[]string{`field "Timestamp": "2024-05-01 12:00" is not an RFC 3339 timestamp`}},
		{"Choice without Choices", `{"StartAt":"C","States":{"C":{"Type":"Choice","Default":"C"}}}`,
			[]string{`state "C": field "Choices" must be a non-empty array`}},
		{"nested Next", choice(`{"Not":{"Variable":"$.a","IsNull":true,"Next":"D"},"Next":"D"}`),
			[]string{`state "C": Choices[0].Not: field "Next" is only allowed in a top-level choice rule`}},
		{"top-level rule without Next", choice(`{"Variable":"$.a","IsNull":true}`), []string{`Choices[0]: field "Next" is required`}},
		{"unknown operator", choice(`{"Variable":"$.a","StringContains":"x","Next":"D"}`),
			[]string{`Choices[0]: field "StringContains" is not supported`, `Choices[0]: has no comparison operator`}},
		{"two operators", choice(`{"Variable":"$.a","IsNull":true,"IsString":true,"Next":"D"}`),
			[]string{`fields "IsNull" and "IsString" cannot both be set`}},
		{"no Variable", choice(`{"StringEquals":"x","Next":"D"}`), []string{`Choices[0]: field "Variable" is required`}},
		{"Variable with And", choice(`{"Variable":"$.a","And":[{"Variable":"$.a","IsNull":true}],"Next":"D"}`),
			[]string{`field "Variable" cannot be used with "And"`}},
		{"empty Or", choice(`{"Or":[],"Next":"D"}`), []string{`field "Or" must be a non-empty array of choice rules`}},
		{"BooleanLessThan", choice(`{"Variable":"$.a","BooleanLessThan":true,"Next":"D"}`), []string{`field "BooleanLessThan" is not supported`}},
		{"wrong operand type", choice(`{"Variable":"$.a","NumericEquals":"1","Next":"D"}`),
			[]string{`Choices[0]: field "NumericEquals" has a value of the wrong type`}},
		{"bad timestamp operand", choice(`{"Variable":"$.a","TimestampEquals":"yesterday","Next":"D"}`),
			[]string{`field "TimestampEquals" has a value of the wrong type`}},
		{"bad StringMatches escape", choice(`{"Variable":"$.a","StringMatches":"a\\b","Next":"D"}`),
			[]string{`field "StringMatches": only * and \ can be escaped`}},
		{"bad Path operand", choice(`{"Variable":"$.a","StringEqualsPath":"a","Next":"D"}`),
			[]string{`field "StringEqualsPath": path "a" must start with $`}},
		{"Fail with Error and ErrorPath", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}`,
			[]string{`state "F": fields "Error" and "ErrorPath" cannot both be set`}},
		{"Fail with a States. name", `{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"States.ExceedToleratedFailureThreshold"}}}`,
			[]string{`state "F": field "Error": "States.ExceedToleratedFailureThreshold" begins with "States."`}},
		{"Fail with InputPath", `{"StartAt":"F","States":{"F":{"Type":"Fail","InputPath":"$"}}}`,
			[]string{`state "F": field "InputPath" is not supported`}},
		{"long state name", `{"StartAt":"` + strings.Repeat("n", 81) + `","States":{"` + strings.Repeat("n", 81) + `":{"Type":"Succeed"}}}`,
			[]string{`name is longer than 80 characters`}},
	}
	wantRefused(t, tests)
}

// refusal is a definition Parse must refuse, and what its error must say.
type refusal struct {
	name, def string
	want      []string // each must appear in the error
}

// wantRefused checks that Parse refuses each definition with an error that
// contains each of its wants.
func wantRefused(t *testing.T, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.def))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", m)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseReportsAllErrors(t *testing.T) {
	_, err := Parse([]byte(`{"StartAt":"Poll","States":{
		"Poll":{"Type":"Task","Resource":"r","HeartbeatSeconds":30,"Next":"Missing"},
		"Loop":{"Type":"Parallel","Branches":[],"End":true}}}`))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		`asl: state "Loop": field "Type": state type "Parallel" is not supported`,
		`asl: state "Poll": field "Next": there is no state named "Missing"`,
		`asl: state "Poll": field "HeartbeatSeconds" is only supported on a Task whose Resource ends in .waitForTaskToken`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestParseAccepts(t *testing.T) {
	// Every supported field at once, so none is refused by mistake.
	def := `{"Comment":"all","Version":"1.0","QueryLanguage":"JSONPath","StartAt":"P","TimeoutSeconds":60,"States":{
		"P":{"Type":"Pass","Comment":"c","InputPath":"$","OutputPath":"$","Parameters":{"a.$":"$$.Execution.Input"},
			"Result":{"x":1},"ResultPath":"$.r","Next":"T"},
		"T":{"Type":"Task","Comment":"c","Resource":"r","InputPath":null,"OutputPath":null,"Parameters":{},
			"ResultSelector":{"s.$":"States.StringSplit('a b', ' ')"},"ResultPath":null,"TimeoutSeconds":5,
			"Retry":[{"Comment":"r","ErrorEquals":["E","States.Timeout"],"IntervalSeconds":2,"MaxAttempts":0,"BackoffRate":1,
				"MaxDelaySeconds":10,"JitterStrategy":"FULL"},{"ErrorEquals":["States.ALL"]}],
			"Catch":[{"Comment":"c","ErrorEquals":["States.ALL"],"ResultPath":"$.e","Next":"F"}],"Next":"C"},
		"C":{"Type":"Choice","Comment":"c","InputPath":"$","OutputPath":"$","Choices":[
			{"Comment":"c","Variable":"$.a","StringMatches":"x\\*","Next":"W"},
			{"Or":[{"Variable":"$['b c'][0]","IsPresent":true},{"Not":{"Variable":"$$.State.RetryCount","NumericEqualsPath":"$.n"}}],"Next":"S"}],
			"Default":"F"},
		"W":{"Type":"Wait","Comment":"c","InputPath":"$","OutputPath":"$","Timestamp":"2024-01-01T00:00:00.123+01:00","Next":"S"},
		"S":{"Type":"Succeed","Comment":"c","InputPath":"$","OutputPath":"$"},
		"F":{"Type":"Fail","Comment":"c","ErrorPath":"$.e.Error","CausePath":"States.JsonToString($.e)"}}}`
	mustParse(t, def)
}
