package asl

import (
	"testing"
)

func TestChoiceOperators(t *testing.T) {
	const in = `{"s":"abc","s2":"abd","n":10,"n2":10,"f":2.5,"big":4294967295,"b":true,"b2":false,
		"t":"2024-05-01T12:00:00Z","t2":"2024-05-01T13:00:00+01:00","t3":"2024-05-01T12:00:00.5Z",
		"nul":null,"lit":"a*b\\c","emoji":"😀","bmp":"\uffff","sub":{"s":"abc"}}`
	tests := []struct {
		rule, want string // want is "yes", "no" or an error name
	}{
		{`"Variable":"$.s","StringEquals":"abc"`, "yes"},
		{`"Variable":"$.s","StringEquals":"abd"`, "no"},
		{`"Variable":"$.n","StringEquals":"10"`, "no"},
		{`"Variable":"$.s","StringLessThan":"abd"`, "yes"},
		{`"Variable":"$.s","StringLessThan":"abc"`, "no"},
		{`"Variable":"$.s","StringGreaterThan":"abb"`, "yes"},
		{`"Variable":"$.s","StringLessThanEquals":"abc"`, "yes"},
		{`"Variable":"$.s","StringGreaterThanEquals":"abd"`, "no"},
		{`"Variable":"$.s","StringEqualsPath":"$.s2"`, "no"},
		{`"Variable":"$.s","StringEqualsPath":"$.sub.s"`, "yes"},
		{`"Variable":"$.s","StringLessThanPath":"$.s2"`, "yes"},
		{`"Variable":"$.s","StringGreaterThanPath":"$.s2"`, "no"},
		{`"Variable":"$.s","StringLessThanEqualsPath":"$.s2"`, "yes"},
		{`"Variable":"$.s","StringGreaterThanEqualsPath":"$.sub.s"`, "yes"},
		{`"Variable":"$.s","StringEqualsPath":"$.n"`, "no"},
		// Java orders strings by UTF-16 code units: a surrogate pair sorts below U+FFFF.
		{`"Variable":"$.emoji","StringLessThanPath":"$.bmp"`, "yes"},
		{`"Variable":"$.n","NumericEquals":10`, "yes"},
		{`"Variable":"$.n","NumericEquals":10.0`, "yes"},
		{`"Variable":"$.n","NumericEquals":11`, "no"},
		{`"Variable":"$.s","NumericEquals":10`, "no"},
		{`"Variable":"$.big","NumericEquals":4294967295`, "yes"},
		{`"Variable":"$.n","NumericLessThan":10.5`, "yes"},
		{`"Variable":"$.n","NumericGreaterThan":9`, "yes"},
		{`"Variable":"$.n","NumericGreaterThan":10`, "no"},
		{`"Variable":"$.n","NumericLessThanEquals":10`, "yes"},
		{`"Variable":"$.n","NumericGreaterThanEquals":11`, "no"},
		{`"Variable":"$.n","NumericEqualsPath":"$.n2"`, "yes"},
		{`"Variable":"$.n","NumericLessThanPath":"$.f"`, "no"},
		{`"Variable":"$.n","NumericGreaterThanPath":"$.f"`, "yes"},
		{`"Variable":"$.n","NumericLessThanEqualsPath":"$.n2"`, "yes"},
		{`"Variable":"$.f","NumericGreaterThanEqualsPath":"$.n"`, "no"},
		{`"Variable":"$.n","NumericEqualsPath":"$.s"`, "no"},
		{`"Variable":"$.b","BooleanEquals":true`, "yes"},
		{`"Variable":"$.b","BooleanEquals":false`, "no"},
		{`"Variable":"$.s","BooleanEquals":true`, "no"},
		{`"Variable":"$.b","BooleanEqualsPath":"$.b2"`, "no"},
		{`"Variable":"$.b2","BooleanEqualsPath":"$.b2"`, "yes"},
		{`"Variable":"$.t","TimestampEquals":"2024-05-01T12:00:00Z"`, "yes"},
		{`"Variable":"$.t","TimestampEquals":"2024-05-01T14:00:00+02:00"`, "yes"},
		{`"Variable":"$.s","TimestampEquals":"2024-05-01T12:00:00Z"`, "no"},
		{`"Variable":"$.t","TimestampLessThan":"2024-05-01T12:00:00.001Z"`, "yes"},
		{`"Variable":"$.t","TimestampGreaterThan":"2024-05-01T12:00:00Z"`, "no"},
		{`"Variable":"$.t","TimestampLessThanEquals":"2024-05-01T12:00:00Z"`, "yes"},
		{`"Variable":"$.t","TimestampGreaterThanEquals":"2024-05-01T11:59:59Z"`, "yes"},
		{`"Variable":"$.t","TimestampEqualsPath":"$.t2"`, "yes"},
		{`"Variable":"$.t","TimestampLessThanPath":"$.t3"`, "yes"},
		{`"Variable":"$.t3","TimestampGreaterThanPath":"$.t"`, "yes"},
		{`"Variable":"$.t","TimestampLessThanEqualsPath":"$.t2"`, "yes"},
		{`"Variable":"$.t","TimestampGreaterThanEqualsPath":"$.t3"`, "no"},
		{`"Variable":"$.t","TimestampEqualsPath":"$.s"`, "no"},
		{`"Variable":"$.s","StringMatches":"a*"`, "yes"},
		{`"Variable":"$.s","StringMatches":"*c"`, "yes"},
		{`"Variable":"$.s","StringMatches":"a*b*c"`, "yes"},
		{`"Variable":"$.s","StringMatches":"a*d"`, "no"},
		{`"Variable":"$.s","StringMatches":"*"`, "yes"},
		{`"Variable":"$.s","StringMatches":"ab"`, "no"},
		{`"Variable":"$.lit","StringMatches":"a\\*b\\\\c"`, "yes"},
		{`"Variable":"$.s","StringMatches":"a\\*c"`, "no"},
		{`"Variable":"$.n","StringMatches":"*"`, "no"},
		{`"Variable":"$.nul","IsNull":true`, "yes"},
		{`"Variable":"$.s","IsNull":true`, "no"},
		{`"Variable":"$.s","IsNull":false`, "yes"},
		{`"Variable":"$.s","IsPresent":true`, "yes"},
		{`"Variable":"$.nope","IsPresent":true`, "no"},
		{`"Variable":"$.nope","IsPresent":false`, "yes"},
		{`"Variable":"$.n","IsNumeric":true`, "yes"},
		{`"Variable":"$.s","IsNumeric":true`, "no"},
		{`"Variable":"$.s","IsString":true`, "yes"},
		{`"Variable":"$.nul","IsString":false`, "yes"},
		{`"Variable":"$.b","IsBoolean":true`, "yes"},
		{`"Variable":"$.n","IsBoolean":true`, "no"},
		{`"Variable":"$.t","IsTimestamp":true`, "yes"},
		{`"Variable":"$.s","IsTimestamp":true`, "no"},
		{`"Variable":"$$.State.Name","StringEquals":"C"`, "yes"},
		{`"And":[{"Variable":"$.s","StringEquals":"abc"},{"Variable":"$.n","NumericEquals":10}]`, "yes"},
		{`"And":[{"Variable":"$.s","StringEquals":"abc"},{"Variable":"$.n","NumericEquals":11}]`, "no"},
		{`"Or":[{"Variable":"$.s","StringEquals":"x"},{"Variable":"$.n","NumericEquals":10}]`, "yes"},
		{`"Or":[{"Variable":"$.s","StringEquals":"x"},{"Variable":"$.n","NumericEquals":11}]`, "no"},
		{`"Not":{"Variable":"$.s","StringEquals":"x"}`, "yes"},
		{`"Not":{"And":[{"Variable":"$.b","BooleanEquals":true},{"Not":{"Variable":"$.nul","IsNull":true}}]}`, "yes"},
		// And stops at the first false rule, so the missing path is never read.
		{`"And":[{"Variable":"$.b","BooleanEquals":false},{"Variable":"$.nope","IsNull":true}]`, "no"},
		{`"Variable":"$.nope","StringEquals":"abc"`, "States.Runtime"},
		{`"Variable":"$.nope","IsNull":true`, "States.Runtime"},
		{`"Variable":"$.s","StringEqualsPath":"$.nope"`, "States.Runtime"},
		{`"Or":[{"Variable":"$.s","StringEquals":"x"},{"Variable":"$.nope","IsString":true}]`, "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			def := `{"StartAt":"C","States":{
				"C":{"Type":"Choice","Choices":[{` + tt.rule + `,"Next":"Yes"}],"Default":"No"},
				"Yes":{"Type":"Pass","Result":"yes","End":true},
				"No":{"Type":"Pass","Result":"no","End":true}}}`
			out, err := runDef(t, def, in, Options{})
			if tt.want != "yes" && tt.want != "no" {
				check(t, out, err, "", tt.want)
				return
			}
			check(t, out, err, `"`+tt.want+`"`, "")
		})
	}
}

func TestChoiceFlow(t *testing.T) {
	const def = `{"StartAt":"C","States":{
		"C":{"Type":"Choice","InputPath":"$.in","OutputPath":"$.keep","Choices":[
			{"Variable":"$.n","NumericLessThan":0,"Next":"Neg"},
			{"Variable":"$.n","NumericLessThan":10,"Next":"Small"},
			{"Variable":"$.n","NumericLessThan":100,"Next":"Medium"}]},
		"Neg":{"Type":"Pass","Result":"neg","ResultPath":"$.kind","End":true},
		"Small":{"Type":"Pass","Result":"small","ResultPath":"$.kind","End":true},
		"Medium":{"Type":"Pass","Result":"medium","ResultPath":"$.kind","End":true}}}`
	tests := []struct{ input, want, wantErr string }{
		{input: `{"in":{"n":-1,"keep":{}}}`, want: `{"kind":"neg"}`},
		{input: `{"in":{"n":5,"keep":{"k":1}}}`, want: `{"k":1,"kind":"small"}`},
		{input: `{"in":{"n":50,"keep":{}}}`, want: `{"kind":"medium"}`},
		{input: `{"in":{"n":500,"keep":{}}}`, wantErr: "States.NoChoiceMatched"},
		{input: `{"in":{"keep":{}}}`, wantErr: "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			out, err := runDef(t, def, tt.input, Options{})
			check(t, out, err, tt.want, tt.wantErr)
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"**", "abc", true},
		{"a*a*a", "aaa", true},
		{"a*a*a", "aa", false},
		{"*.log", "app.log", true},
		{"*.log", "app.log.gz", false},
		{`\*`, "*", true},
		{`\*`, "a", false},
		{`\\*`, `\abc`, true},
		{"ü*ß", "über gross", false},
		{"ü*ß", "üß", true},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
		}
		if got := matchGlob(g, tt.s); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
