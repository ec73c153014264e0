package asl

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
)

// objects is an Options.WriteObject that keeps what it is given.
type objects struct {
	mu    sync.Mutex
	files map[string]string // bucket/key → body
	order []string
	err   error
}

func (o *objects) write(_ context.Context, bucket, key string, body []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if o.files == nil {
		o.files = map[string]string{}
	}
	o.files[bucket+"/"+key] = string(body)
	o.order = append(o.order, key)
	return nil
}

// runID is the map run id uuid makes from Rand 0.5, as the tests set it.
const runID = "80808080-8080-4080-8080-808080808080"

// child is what a results file says of child i of Map M, with the input
// and output given as JSON text.
func child(i int, input, output string) string {
	return fmt.Sprintf(`{"ExecutionArn":"arn:aws:states:eu-west-1:1:execution:sm:run-1/M-%d","Input":%q,"InputDetails":{"Included":true},`+
		`"Name":"M-%d","Output":%q,"OutputDetails":{"Included":true},"RedriveCount":0,"RedriveStatus":"NOT_REDRIVABLE",`+
		`"RedriveStatusReason":"Execution is SUCCEEDED and cannot be redriven","StartDate":"2024-05-01T12:00:00.250Z",`+
		`"StateMachineArn":"arn:aws:states:eu-west-1:1:stateMachine:sm/M","Status":"SUCCEEDED","StopDate":"2024-05-01T12:00:00.250Z"}`,
		i, input, i, output)
}

// failedChild is a FAILED child i, as child is a SUCCEEDED one.
func failedChild(i int, input string) string {
	return fmt.Sprintf(`{"Cause":"no","Error":"Bad","ExecutionArn":"arn:aws:states:eu-west-1:1:execution:sm:run-1/M-%d","Input":%q,`+
		`"InputDetails":{"Included":true},"Name":"M-%d","OutputDetails":{"Included":true},"RedriveCount":0,`+
		`"RedriveStatus":"REDRIVABLE_BY_MAP_RUN","StartDate":"2024-05-01T12:00:00.250Z",`+
		`"StateMachineArn":"arn:aws:states:eu-west-1:1:stateMachine:sm/M","Status":"FAILED","StopDate":"2024-05-01T12:00:00.250Z"}`,
		i, input, i)
}

func manifestOf(bucket, dir string, files map[string]int) string {
	list := func(status string) string {
		size, ok := files[status]
		if !ok {
			return "[]"
		}
		return fmt.Sprintf(`[{"Key":"%s/%s_0.json","Size":%d}]`, dir, status, size)
	}
	return fmt.Sprintf(`{"DestinationBucket":%q,"MapRunArn":"arn:aws:states:eu-west-1:1:mapRun:sm/M:%s",`+
		`"ResultFiles":{"FAILED":%s,"PENDING":%s,"SUCCEEDED":%s}}`, bucket, runID, list("FAILED"), list("PENDING"), list("SUCCEEDED"))
}

func TestMapResultWriter(t *testing.T) {
	const (
		toS3  = `"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix":"runs"}},`
		items = `[{"n":1},{"n":2,"fail":true},{"n":3}]`
	)
	succeeded := "[" + child(0, `{"n":1}`, `{"n":1}`) + "," + child(2, `{"n":3}`, `{"n":3}`) + "]"
	// Inputs and outputs are rendered from decoded values, with sorted keys.
	failed := "[" + failedChild(1, `{"fail":true,"n":2}`) + "]"
	details := `{"MapRunArn":"arn:aws:states:eu-west-1:1:mapRun:sm/M:` + runID +
		`","ResultWriterDetails":{"Bucket":"out","Key":"runs/` + runID + `/manifest.json"}}`
	tests := []struct {
		name, def, input string
		writeErr         error
		noHook           bool
		want, wantErr    string
		files            map[string]string // bucket/key → exact body
	}{
		{name: "all succeed", def: distributed(toS3, pass), input: `[{"n":1},{"n":3}]`,
			want: details,
			files: map[string]string{
				"out/runs/" + runID + "/SUCCEEDED_0.json": "[" + child(0, `{"n":1}`, `{"n":1}`) + "," + child(1, `{"n":3}`, `{"n":3}`) + "]",
				"out/runs/" + runID + "/manifest.json":    "",
			}},
		{name: "tolerated failures are in FAILED_0.json", def: distributed(toS3+`"ToleratedFailureCount":1,`, failMarked), input: items,
			want: details,
			files: map[string]string{
				"out/runs/" + runID + "/SUCCEEDED_0.json": succeeded,
				"out/runs/" + runID + "/FAILED_0.json":    failed,
				"out/runs/" + runID + "/manifest.json": manifestOf("out", "runs/"+runID,
					map[string]int{"SUCCEEDED": len(succeeded), "FAILED": len(failed)}),
			}},
		{name: "items never started are PENDING", def: distributed(toS3+`"MaxConcurrency":1,`, failMarked),
			input: `[{"n":1,"fail":true},{"n":2}]`, wantErr: "States.ExceedToleratedFailureThreshold",
			files: map[string]string{
				"out/runs/" + runID + "/FAILED_0.json":  "[" + failedChild(0, `{"fail":true,"n":1}`) + "]",
				"out/runs/" + runID + "/PENDING_0.json": `[{"Input":"{\"n\":2}","InputDetails":{"Included":true},"Status":"PENDING"}]`,
				"out/runs/" + runID + "/manifest.json":  "",
			}},
		{name: "bucket and prefix from paths, no prefix",
			def:   distributed(`"ItemsPath":"$.xs","ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket.$":"$.b"}},`, pass),
			input: `{"b":"dyn","xs":[1]}`,
			want:  `{"MapRunArn":"arn:aws:states:eu-west-1:1:mapRun:sm/M:` + runID + `","ResultWriterDetails":{"Bucket":"dyn","Key":"` + runID + `/manifest.json"}}`,
			files: map[string]string{"dyn/" + runID + "/SUCCEEDED_0.json": "[" + child(0, `1`, `1`) + "]", "dyn/" + runID + "/manifest.json": ""}},
		{name: "COMPACT as JSON Lines",
			def: distributed(`"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix":"runs/"},
				"WriterConfig":{"Transformation":"COMPACT","OutputType":"JSONL"}},`, pass),
			input: `[{"n":1},[2,3]]`, want: details,
			files: map[string]string{"out/runs/" + runID + "/SUCCEEDED_0.json": "{\"n\":1}\n[2,3]\n", "out/runs/" + runID + "/manifest.json": ""}},
		{name: "FLATTEN to S3", def: distributed(`"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix":"runs"},
				"WriterConfig":{"Transformation":"FLATTEN","OutputType":"JSON"}},`, pass),
			input: `[[1,2],3,[[4]]]`, want: details,
			files: map[string]string{"out/runs/" + runID + "/SUCCEEDED_0.json": `[1,2,3,[4]]`, "out/runs/" + runID + "/manifest.json": ""}},
		{name: "WriterConfig alone shapes the state output",
			def:   distributed(`"ToleratedFailureCount":1,"ResultWriter":{"WriterConfig":{"Transformation":"FLATTEN"}},`, failMarked),
			input: `[[1,2],{"n":2,"fail":true}]`,
			want:  `[1,2,` + failedChild(1, `{"fail":true,"n":2}`) + `]`},
		{name: "WriterConfig NONE alone", def: distributed(`"ResultWriter":{"WriterConfig":{"Transformation":"NONE"}},`, pass),
			input: `[5]`, want: `[` + child(0, `5`, `5`) + `]`},
		{name: "ResultSelector and ResultPath apply", def: distributed(toS3+`"ResultSelector":{"key.$":"$.ResultWriterDetails.Key"},"ResultPath":"$.w","ItemsPath":"$.xs",`, pass),
			input: `{"xs":[1]}`, want: `{"xs":[1],"w":{"key":"runs/` + runID + `/manifest.json"}}`},
		{name: "write error", def: distributed(toS3, pass), input: `[1]`, writeErr: errors.New("access denied"),
			wantErr: "States.ResultWriterFailed"},
		{name: "named write error", def: distributed(toS3, pass), input: `[1]`, writeErr: &Error{Name: "S3.NoSuchBucket"},
			wantErr: "S3.NoSuchBucket"},
		{name: "no hook", def: distributed(toS3, pass), input: `[1]`, noHook: true, wantErr: "States.Runtime"},
		{name: "bucket not a string", def: distributed(`"ItemsPath":"$.xs","ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket.$":"$.b"}},`, pass),
			input: `{"b":1,"xs":[1]}`, wantErr: "States.Runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &objects{err: tt.writeErr}
			opts := Options{WriteObject: store.write, Rand: func() float64 { return 0.5 }}
			if tt.noHook {
				opts.WriteObject = nil
			}
			out, err := runDef(t, tt.def, tt.input, opts)
			check(t, out, err, tt.want, tt.wantErr)
			if tt.files == nil {
				return
			}
			if got, want := slices.Sorted(maps.Keys(store.files)), slices.Sorted(maps.Keys(tt.files)); !slices.Equal(got, want) {
				t.Fatalf("files %q, want %q", got, want)
			}
			if last := store.order[len(store.order)-1]; !strings.HasSuffix(last, "/manifest.json") {
				t.Errorf("wrote %s last, want the manifest", last)
			}
			for k, want := range tt.files {
				if want != "" && store.files[k] != want {
					t.Errorf("%s =\n%s\nwant\n%s", k, store.files[k], want)
				}
			}
		})
	}
}

// TestMapResultWriterManifest checks the manifest of a run with every kind
// of file against the files written.
func TestMapResultWriterManifest(t *testing.T) {
	store := &objects{}
	def := distributed(`"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"out","Prefix":"runs"}},"MaxConcurrency":1,"ToleratedFailureCount":1,`, failMarked)
	_, err := runDef(t, def, `[{"n":1},{"n":2,"fail":true},{"n":3,"fail":true},{"n":4}]`,
		Options{WriteObject: store.write, Rand: func() float64 { return 0.5 }})
	check(t, "", err, "", "States.ExceedToleratedFailureThreshold")
	dir := "runs/" + runID
	sizes := map[string]int{}
	for _, status := range []string{"SUCCEEDED", "FAILED", "PENDING"} {
		sizes[status] = len(store.files["out/"+dir+"/"+status+"_0.json"])
	}
	if want := manifestOf("out", dir, sizes); store.files["out/"+dir+"/manifest.json"] != want {
		t.Fatalf("manifest\n%s\nwant\n%s", store.files["out/"+dir+"/manifest.json"], want)
	}
}

// TestMapResultsPayloadLimit: the results a Map state collects are its
// output and held to 256 KiB; written with a ResultWriter, they are not.
func TestMapResultsPayloadLimit(t *testing.T) {
	big := `"` + strings.Repeat("x", 50_000) + `"`
	input := "[" + big + "," + big + "," + big + "]"
	// Each iteration doubles its item: 150 kB in, 300 kB of results out.
	const double = `"P":{"Type":"Pass","Parameters":{"a.$":"$","b.$":"$"},"End":true}`
	_, err := runDef(t, distributed(``, double), input, Options{})
	check(t, "", err, "", "States.DataLimitExceeded")

	store := &objects{}
	out, err := runDef(t, distributed(`"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject","Parameters":{"Bucket":"b"}},`, double),
		input, Options{WriteObject: store.write})
	if err != nil || !strings.Contains(out, "manifest.json") {
		t.Fatalf("output %.200s, error %v", out, err)
	}
}
