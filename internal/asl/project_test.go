package asl

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestProjectStateMachines checks that the project's own definitions load
// and that the video job runs to both of its ends.
func TestProjectStateMachines(t *testing.T) {
	files, err := filepath.Glob("../../statemachine/*.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no state machine definitions in ../../statemachine")
	}
	for _, f := range files {
		def, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(def); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	def, err := os.ReadFile("../../statemachine/video_job.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, string(def))
	polls := 0
	inv := invokerFunc(func(_ context.Context, resource string, _ json.RawMessage) (json.RawMessage, error) {
		switch resource {
		case "${SubmitFunctionArn}":
			return json.RawMessage(`{"status":"queued","submitted":true,"waiting":false,"wait_seconds":10,"failures":0,"not_found":0}`), nil
		case "${PollFunctionArn}":
			if polls++; polls < 3 {
				return json.RawMessage(`{"status":"generating","wait_seconds":15,"failures":0,"not_found":0}`), nil
			}
			return json.RawMessage(`{"status":"completed","failures":0}`), nil
		case "${FinishFunctionArn}":
			return json.RawMessage(`{"job":{"id":"j-1","status":"completed"},"callback":false}`), nil
		case "${RegisterFunctionArn}": // the resume's check, then the submit
			return json.RawMessage(`{"job_id":"j-1","follow":false,"step":{"status":"queued","submitted":true,"waiting":false,"wait_seconds":10,"failures":0,"not_found":0}}`), nil
		}
		return json.RawMessage(`{}`), nil
	})
	clock := newClock()
	exe := Execution{ID: "id", Name: "job", Input: json.RawMessage(`{"job_id":"j-1"}`), StartTime: t0}
	out, err := m.Run(context.Background(), exe, Options{Clock: clock, Invoker: inv, Tasks: NewTasks(nil)})
	check(t, string(out), err, `{"id":"j-1","status":"completed"}`, "")

	failPoll := invokerFunc(func(_ context.Context, resource string, _ json.RawMessage) (json.RawMessage, error) {
		switch resource {
		case "${SubmitFunctionArn}":
			return json.RawMessage(`{"status":"queued","submitted":true,"waiting":false,"wait_seconds":10,"failures":0,"not_found":0}`), nil
		case "${PollFunctionArn}":
			return nil, &Error{Name: "TransientError", Cause: "upstream down"}
		case "${FinishFunctionArn}":
			return json.RawMessage(`{"job":{"id":"j-1","status":"error"},"callback":false,"error":"InternalError","cause":"{\"id\":\"j-1\"}"}`), nil
		case "${RegisterFunctionArn}":
			return json.RawMessage(`{"job_id":"j-1","follow":false,"step":{"status":"queued","submitted":true,"waiting":false,"wait_seconds":10,"failures":0,"not_found":0}}`), nil
		}
		return json.RawMessage(`{"status":"error"}`), nil
	})
	_, err = m.Run(context.Background(), exe, Options{Clock: newClock(), Invoker: failPoll, Rand: func() float64 { return 0.5 }, Tasks: NewTasks(nil)})
	if e, ok := err.(*Error); !ok || e.Name != "InternalError" || e.Cause != `{"id":"j-1"}` {
		t.Fatalf("error = %v, want the job's error name and record", err)
	}

	// A Poll that announced the job it saw end (its result in step.result)
	// ends the execution without Finish, either way.
	for _, tc := range []struct{ result, out, errName string }{
		{`{"job":{"id":"j-1","status":"completed"},"callback":false}`, `{"id":"j-1","status":"completed"}`, ""},
		{`{"job":{"id":"j-1","status":"error"},"callback":false,"error":"GenerationFailed","cause":"{}"}`, "", "GenerationFailed"},
	} {
		var finishes int
		announced := invokerFunc(func(_ context.Context, resource string, _ json.RawMessage) (json.RawMessage, error) {
			switch resource {
			case "${PollFunctionArn}":
				return json.RawMessage(`{"status":"completed","failures":0,"result":` + tc.result + `}`), nil
			case "${FinishFunctionArn}":
				finishes++
			case "${RegisterFunctionArn}":
				return json.RawMessage(`{"job_id":"j-1","follow":false,"step":{"status":"queued","submitted":true,"waiting":false,"wait_seconds":10,"failures":0,"not_found":0}}`), nil
			}
			return json.RawMessage(`{}`), nil
		})
		out, err := m.Run(context.Background(), exe, Options{Clock: newClock(), Invoker: announced, Tasks: NewTasks(nil)})
		if tc.errName != "" {
			if e, ok := err.(*Error); !ok || e.Name != tc.errName {
				t.Errorf("announced by Poll: error = %v, want %s", err, tc.errName)
			}
		} else {
			check(t, string(out), err, tc.out, "")
		}
		if finishes != 0 {
			t.Errorf("announced by Poll: Finish ran %d times, want 0", finishes)
		}
	}
}

// TestBatchItemProcessorsAgree checks that video_batch's Maps for an
// inline list and an S3 manifest process an item alike, one per child or
// in chunks: state names must be unique
// across a machine, so the manifest's copy prefixes each with "Manifest",
// nested ones too.
func TestBatchItemProcessorsAgree(t *testing.T) {
	def, err := os.ReadFile("../../statemachine/video_batch.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		States map[string]struct {
			ItemProcessor json.RawMessage
		}
	}
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"RunInline", "RunManifest"}, {"RunInlineChunks", "RunManifestChunks"}} {
		inline, manifest := string(m.States[pair[0]].ItemProcessor), string(m.States[pair[1]].ItemProcessor)
		if inline == "" || manifest == "" {
			t.Fatalf("video_batch has no %s or %s item processor", pair[0], pair[1])
		}
		var a, b any
		json.Unmarshal([]byte(inline), &a)
		for _, name := range stateNames(a) {
			manifest = strings.ReplaceAll(manifest, `"Manifest`+name+`"`, `"`+name+`"`)
		}
		json.Unmarshal([]byte(manifest), &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s's and %s's item processors differ beyond the Manifest prefix:\ninline   %s\nmanifest %s", pair[0], pair[1], inline, manifest)
		}
	}
}

// stateNames lists the names of the states in v, nested ones (an Inline
// Map's inside an item processor) too.
func stateNames(v any) []string {
	var names []string
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			if k == "States" {
				if states, ok := sub.(map[string]any); ok {
					for name := range states {
						names = append(names, name)
					}
				}
			}
			names = append(names, stateNames(sub)...)
		}
	case []any:
		for _, sub := range v {
			names = append(names, stateNames(sub)...)
		}
	}
	return names
}
