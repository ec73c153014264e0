package asl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// s3PutObject is the only ResultWriter resource: it writes a distributed Map
// state's results through Options.WriteObject.
const s3PutObject = "arn:aws:states:::s3:putObject"

// Transformations and output types of a ResultWriter's WriterConfig.
const (
	transformNone    = "NONE"    // each child's output with its execution's metadata
	transformCompact = "COMPACT" // each child's output
	transformFlatten = "FLATTEN" // COMPACT, with array outputs spliced in
	outputJSON       = "JSON"
	outputJSONL      = "JSONL"
)

// A resultWriter is the ResultWriter of a distributed Map state.
type resultWriter struct {
	parameters     any    // compiled {"Bucket", "Prefix"}; nil: the results stay in the state output
	transformation string // one of the transform constants
	outputType     string // outputJSON or outputJSONL
}

// resultWriter reads a ResultWriter as AWS documents it for JSONPath:
// Resource and Parameters export the results to S3, WriterConfig shapes
// them, and either set or both may be given.
func (l *loader) resultWriter(where string, v any) *resultWriter {
	w := &resultWriter{outputType: outputJSON}
	obj := l.object(where, v)
	if obj == nil {
		return w
	}
	l.fields(where, obj, "Resource", "Parameters", "WriterConfig")
	_, hasResource := obj["Resource"]
	_, hasParams := obj["Parameters"]
	_, hasConfig := obj["WriterConfig"]
	switch {
	case hasResource != hasParams:
		l.errorf(where, "fields %q and %q must be given together", "Resource", "Parameters")
	case !hasResource && !hasConfig:
		l.errorf(where, "needs fields %q and %q, field %q, or all three", "Resource", "Parameters", "WriterConfig")
	}
	if res, ok := l.str(where, obj, "Resource", false); ok && res != s3PutObject {
		l.errorf(where, "field %q: %q is not supported, only %s", "Resource", res, s3PutObject)
	}
	if hasParams {
		w.parameters = l.template(where, obj, "Parameters", false)
		if params, ok := w.parameters.(map[string]any); ok {
			if _, ok := params["Bucket"]; !ok {
				l.errorf(where, "field %q needs field %q or %q", "Parameters", "Bucket", "Bucket.$")
			}
			for _, k := range sortedKeys(params) {
				if k != "Bucket" && k != "Prefix" {
					l.errorf(where, "field %q: field %q is not supported, only Bucket and Prefix", "Parameters", k)
				}
			}
		}
	}
	if hasConfig {
		cw := where + ": WriterConfig"
		if cfg := l.object(cw, obj["WriterConfig"]); cfg != nil {
			l.fields(cw, cfg, "Transformation", "OutputType")
			if t, ok := l.str(cw, cfg, "Transformation", false); ok {
				if t != transformNone && t != transformCompact && t != transformFlatten {
					l.errorf(cw, "field %q must be NONE, COMPACT or FLATTEN", "Transformation")
				}
				w.transformation = t
			}
			if o, ok := l.str(cw, cfg, "OutputType", false); ok {
				if o != outputJSON && o != outputJSONL {
					l.errorf(cw, "field %q must be JSON or JSONL", "OutputType")
				}
				w.outputType = o
			}
		}
	}
	switch {
	case w.transformation != "":
	case hasParams:
		w.transformation = transformNone // AWS's default when exporting
	default:
		w.transformation = transformCompact
	}
	if !hasParams && w.outputType == outputJSONL {
		// AWS defines JSON Lines for the objects it writes, not for a state
		// output, which is one JSON value.
		l.errorf(where+": WriterConfig", "field %q: JSONL needs %q and %q to write the results to S3",
			"OutputType", "Resource", "Parameters")
	}
	return w
}

// A childResult is one child execution as a ResultWriter reports it: the
// DescribeExecution fields AWS writes, in the order it writes them. Input
// and Output are JSON text.
type childResult struct {
	Cause               string   `json:"Cause,omitempty"`
	Error               string   `json:"Error,omitempty"`
	ExecutionArn        string   `json:"ExecutionArn,omitempty"`
	Input               string   `json:"Input"`
	InputDetails        details  `json:"InputDetails"`
	Name                string   `json:"Name,omitempty"`
	Output              *string  `json:"Output,omitempty"`
	OutputDetails       *details `json:"OutputDetails,omitempty"`
	RedriveCount        *int     `json:"RedriveCount,omitempty"`
	RedriveStatus       string   `json:"RedriveStatus,omitempty"`
	RedriveStatusReason string   `json:"RedriveStatusReason,omitempty"`
	StartDate           string   `json:"StartDate,omitempty"`
	StateMachineArn     string   `json:"StateMachineArn,omitempty"`
	Status              string   `json:"Status"`
	StopDate            string   `json:"StopDate,omitempty"`
}

// manifest is the manifest.json a ResultWriter writes last.
type manifest struct {
	DestinationBucket string      `json:"DestinationBucket"`
	MapRunArn         string      `json:"MapRunArn"`
	ResultFiles       resultFiles `json:"ResultFiles"`
}

type resultFiles struct {
	Failed    []resultFile `json:"FAILED"`
	Pending   []resultFile `json:"PENDING"`
	Succeeded []resultFile `json:"SUCCEEDED"`
}

type resultFile struct {
	Key  string `json:"Key"`
	Size int    `json:"Size"`
}

// writeResults finishes a Map state with a ResultWriter once its items ran
// (runErr is the outcome of iterate). With Resource and Parameters it
// writes AWS's files, SUCCEEDED_0.json, FAILED_0.json (failed, timed out
// and aborted children, also those the tolerance let pass) and
// PENDING_0.json (children never started), each only when it has entries,
// and then manifest.json, and returns {"MapRunArn", "ResultWriterDetails"}.
// The files are written when the Map Run ended, successfully or by
// exceeding its tolerated failures, whose error is returned after; an
// execution that times out or is cancelled writes nothing. With only
// WriterConfig the shaped results are the state's result.
func (r *runner) writeResults(ctx context.Context, st *state, s scope, inputs []any, items []item, runErr error) (any, error) {
	var se *Error
	if runErr != nil && (!errors.As(runErr, &se) || se.Name != errExceedTolerated) {
		return nil, runErr
	}
	w := st.mapping.writer
	if w.parameters == nil {
		if runErr != nil {
			return nil, runErr
		}
		return w.stateResults(r, st, inputs, items)
	}
	if r.opts.WriteObject == nil {
		return nil, runtimeError("The state writes its results with a ResultWriter (%s), but Options.WriteObject is not set, so they cannot be written",
			s3PutObject)
	}
	params, err := evalTemplate(w.parameters, s)
	if err != nil {
		return nil, err
	}
	p, _ := params.(map[string]any)
	bucket, ok := p["Bucket"].(string)
	if !ok || bucket == "" {
		return nil, runtimeError("The ResultWriter's Bucket must be a non-empty string, not %s", abbrev(p["Bucket"]))
	}
	prefix, ok := p["Prefix"].(string)
	if _, set := p["Prefix"]; set && !ok {
		return nil, runtimeError("The ResultWriter's Prefix must be a string, not %s", abbrev(p["Prefix"]))
	}
	runID, err := uuid(r.opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("asl: map run id: %w", err)
	}
	dir := runID
	if prefix != "" {
		dir = strings.TrimSuffix(prefix, "/") + "/" + runID
	}
	mapRun := r.mapRunARN(st.mapping.label, runID)
	m := manifest{DestinationBucket: bucket, MapRunArn: mapRun,
		ResultFiles: resultFiles{Failed: []resultFile{}, Pending: []resultFile{}, Succeeded: []resultFile{}}}
	groups := []struct {
		status string
		files  *[]resultFile
	}{{statusSucceeded, &m.ResultFiles.Succeeded}, {statusFailed, &m.ResultFiles.Failed}, {statusPending, &m.ResultFiles.Pending}}
	for _, g := range groups {
		var entries []any
		for i, it := range items {
			if group(it.status) != g.status {
				continue
			}
			es, err := w.fileEntries(r, st, inputs[i], it)
			if err != nil {
				return nil, err
			}
			entries = append(entries, es...)
		}
		if len(entries) == 0 {
			continue
		}
		body, err := w.body(entries)
		if err != nil {
			return nil, fmt.Errorf("asl: %s results: %w", g.status, err)
		}
		key := dir + "/" + g.status + "_0.json"
		if err := r.writeObject(ctx, bucket, key, body); err != nil {
			return nil, err
		}
		*g.files = append(*g.files, resultFile{Key: key, Size: len(body)})
	}
	body, err := encode(m)
	if err != nil {
		return nil, fmt.Errorf("asl: manifest: %w", err)
	}
	key := dir + "/manifest.json"
	if err := r.writeObject(ctx, bucket, key, body); err != nil {
		return nil, err
	}
	if runErr != nil {
		return nil, runErr
	}
	return map[string]any{
		"MapRunArn":           mapRun,
		"ResultWriterDetails": map[string]any{"Bucket": bucket, "Key": key},
	}, nil
}

// group is the results file an item's status goes to.
func group(status string) string {
	switch status {
	case statusSucceeded:
		return statusSucceeded
	case "":
		return statusPending
	}
	return statusFailed
}

// writeObject writes one object through Options.WriteObject.
func (r *runner) writeObject(ctx context.Context, bucket, key string, body []byte) error {
	err := r.opts.WriteObject(ctx, bucket, key, body)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("asl: %w", ctx.Err())
	}
	var se *Error
	if errors.As(err, &se) && se.Name != "" {
		return &Error{Name: se.Name, Cause: se.Cause}
	}
	return &Error{Name: errResultWriterFailed, Cause: fmt.Sprintf("Writing s3://%s/%s failed: %v", bucket, key, err)}
}

// body renders a results file: a JSON array, or JSON Lines.
func (w *resultWriter) body(entries []any) ([]byte, error) {
	if w.outputType == outputJSON {
		return encode(entries)
	}
	var b bytes.Buffer
	for _, e := range entries {
		line, err := encode(e)
		if err != nil {
			return nil, err
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// fileEntries is what an item contributes to its results file: the child's
// metadata for NONE and for every child that did not succeed (AWS returns
// a failed child unchanged), else its output, spliced when FLATTEN meets an
// array.
func (w *resultWriter) fileEntries(r *runner, st *state, input any, it item) ([]any, error) {
	if it.status != statusSucceeded || w.transformation == transformNone {
		d, err := r.describeChild(st, input, it)
		if err != nil {
			return nil, err
		}
		return []any{d}, nil
	}
	if a, ok := it.output.([]any); ok && w.transformation == transformFlatten {
		return a, nil
	}
	return []any{it.output}, nil
}

// stateResults is the result of a Map state whose ResultWriter has only a
// WriterConfig: its items, in order, shaped as the files would hold them.
func (w *resultWriter) stateResults(r *runner, st *state, inputs []any, items []item) (any, error) {
	results := []any{}
	for i, it := range items {
		es, err := w.fileEntries(r, st, inputs[i], it)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if d, ok := e.(childResult); ok {
				// A state result holds JSON values, not Go structs.
				b, err := encode(d)
				if err != nil {
					return nil, err
				}
				if e, err = decode(b); err != nil {
					return nil, err
				}
			}
			results = append(results, e)
		}
	}
	return results, nil
}

// describeChild reports an item's child execution as AWS does in a results
// file.
func (r *runner) describeChild(st *state, input any, it item) (childResult, error) {
	in, err := encode(input)
	if err != nil {
		return childResult{}, fmt.Errorf("asl: input of a child execution: %w", err)
	}
	d := childResult{Input: string(in), InputDetails: details{Included: true}, Status: it.status}
	if it.status == "" {
		// Never started: no execution, only the input it would have had.
		d.Status = statusPending
		return d, nil
	}
	zero := 0
	d.ExecutionArn, d.Name = it.exe.ID, it.exe.Name
	d.RedriveCount = &zero
	d.StartDate, d.StopDate = formatTime(it.exe.StartTime), formatTime(it.stop)
	d.StateMachineArn = r.childMachineARN(st.mapping.label)
	d.OutputDetails = &details{Included: true}
	switch it.status {
	case statusSucceeded:
		out, err := encode(it.output)
		if err != nil {
			return childResult{}, fmt.Errorf("asl: output of %s: %w", it.exe.Name, err)
		}
		o := string(out)
		d.Output = &o
		d.RedriveStatus, d.RedriveStatusReason = "NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven"
	default:
		if it.err != nil {
			d.Error, d.Cause = it.err.Name, it.err.Cause
		}
		d.RedriveStatus = "REDRIVABLE_BY_MAP_RUN"
	}
	return d, nil
}

// executionARN splits an execution ARN,
// arn:<partition>:states:<region>:<account>:execution:<machine>:<name>, into
// the part before ":execution:" and the state machine's name.
func executionARN(id string) (prefix, machine string, ok bool) {
	parts := strings.SplitN(id, ":", 8)
	if len(parts) != 8 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "execution" {
		return "", "", false
	}
	return strings.Join(parts[:5], ":"), parts[6], true
}

// mapRunARN names a Map Run as AWS does:
// arn:<partition>:states:<region>:<account>:mapRun:<machine>/<label>:<id>.
func (r *runner) mapRunARN(label, id string) string {
	prefix, machine, ok := executionARN(r.exe.ID)
	if !ok {
		return r.exe.ID + "/" + label + ":" + id
	}
	return prefix + ":mapRun:" + machine + "/" + label + ":" + id
}

// childMachineARN is the StateMachineArn of a Map Run's child executions:
// the parent's, with the label.
func (r *runner) childMachineARN(label string) string {
	prefix, machine, ok := executionARN(r.exe.ID)
	if !ok {
		return ""
	}
	return prefix + ":stateMachine:" + machine + "/" + label
}
