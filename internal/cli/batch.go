package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/client"
	"github.com/vidgen/vidgen/internal/catalog"
	"github.com/vidgen/vidgen/internal/job"
)

// batchItem is one line's outcome, as batch --json prints it.
type batchItem struct {
	Line           int           `json:"line"`
	IdempotencyKey string        `json:"idempotency_key"`
	ID             string        `json:"id,omitempty"`
	Status         vidgen.Status `json:"status,omitempty"`
	Video          *vidgen.Video `json:"video,omitempty"`
	// Error is why the line was not submitted (the API's error) or why its
	// job failed.
	Error *vidgen.ErrorDetail `json:"error,omitempty"`
	// refusal is the submit's error as text prints it, the API's status
	// and name included, which Error keeps in members of their own.
	refusal string
}

func (r *runner) batch(ctx context.Context, args []string) error {
	fs := r.flags("batch FILE.jsonl", "batch FILE.jsonl [--wait] [--concurrency N] [--key-prefix P]", true)
	wait := fs.Bool("wait", false, "wait for every job to end; exit 1 if any failed")
	conc := fs.Int("concurrency", client.DefaultBatchConcurrency, "submits in flight at once")
	prefix := fs.String("key-prefix", "", "line i's Idempotency-Key is P-i: running the file again with the same P within 24 h submits nothing new (default: a fresh prefix)")
	file, err := onePositional(fs, args, "JSON Lines file")
	if err != nil {
		return err
	}
	if *conc < 1 {
		return usagef("--concurrency must be 1 or more")
	}
	reqs, lines, err := readBatch(file)
	if err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	res := c.SubmitBatch(ctx, reqs, client.BatchOptions{Concurrency: *conc, KeyPrefix: *prefix})
	items := make([]batchItem, len(res))
	refused := 0
	for i, br := range res {
		items[i] = batchItem{Line: lines[i], IdempotencyKey: br.IdempotencyKey, ID: br.Generation.ID, Status: br.Generation.Status}
		if br.Err != nil {
			refused++
			items[i].Error, items[i].refusal = errorDetail(br.Err)
		}
	}
	failed := 0
	if *wait {
		var bar *progressbar.ProgressBar
		if !r.json && !r.env.NoProgress {
			bar = progressbar.NewOptions(len(items)-refused, progressbar.OptionSetWriter(r.env.Stderr),
				progressbar.OptionSetDescription("jobs ended"), progressbar.OptionShowCount(), progressbar.OptionSetElapsedTime(true),
				progressbar.OptionSetRenderBlankState(true), progressbar.OptionOnCompletion(func() { fmt.Fprintln(r.env.Stderr) }))
		}
		for i := range items {
			if items[i].ID == "" {
				continue
			}
			g, err := c.Wait(ctx, items[i].ID, nil)
			if err != nil {
				return err
			}
			items[i].Status, items[i].Video = g.Status, g.Video
			if g.Status == vidgen.Failed {
				failed++
				if g.Error != nil {
					items[i].Error = &vidgen.ErrorDetail{Name: g.Error.Name, Message: g.Error.Message}
				}
			}
			if bar != nil {
				_ = bar.Add(1)
			}
		}
	}
	if r.json {
		r.printJSON(r.env.Stdout, items)
	} else {
		for _, it := range items {
			switch {
			case it.ID == "":
				fmt.Fprintf(r.env.Stdout, "line %d: not submitted: %s\n", it.Line, it.refusal)
			case it.Error != nil:
				fmt.Fprintf(r.env.Stdout, "line %d: %s %s: %s: %s\n", it.Line, it.ID, it.Status, it.Error.Name, it.Error.Message)
			default:
				fmt.Fprintf(r.env.Stdout, "line %d: %s %s\n", it.Line, it.ID, it.Status)
			}
		}
		fmt.Fprintf(r.env.Stdout, "%d lines: %d submitted, %d refused", len(items), len(items)-refused, refused)
		if *wait {
			fmt.Fprintf(r.env.Stdout, ", %d completed, %d failed", len(items)-refused-failed, failed)
		}
		fmt.Fprintln(r.env.Stdout)
	}
	switch {
	case refused > 0:
		return &namedError{name: "NotSubmitted", msg: fmt.Sprintf("%d of %d lines were not submitted", refused, len(items))}
	case failed > 0:
		return errFailed
	}
	return nil
}

// readBatch reads a JSON Lines file of requests (the body of POST
// /v2/video/generations, one a line; blank lines are skipped). A media
// field that is not a URL or data URI is a file, relative to the batch
// file's directory. Every line is checked as the API would check it, by
// the built-in catalogue, and any bad line fails the whole batch before
// anything is submitted, with every bad line told at once.
func readBatch(file string) ([]vidgen.Request, []int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, usagef("batch file: %v", err)
	}
	c, err := catalog.Builtin()
	if err != nil {
		return nil, nil, fmt.Errorf("batch: %w", err)
	}
	var reqs []vidgen.Request
	var lines []int
	var problems []lineProblem
	bad := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 8<<20) // a line may hold a data URI
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		req, fields := checkLine(c, line, filepath.Dir(file))
		if len(fields) > 0 {
			bad++
			for _, f := range fields {
				problems = append(problems, lineProblem{Line: n, Field: f.Field, Message: f.Message})
			}
			continue
		}
		reqs = append(reqs, req)
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, usagef("%s: %v", file, err)
	}
	if bad > 0 {
		return nil, nil, &usageError{msg: fmt.Sprintf("%s: %d bad %s, nothing submitted", file, bad, plural(bad, "line")), lines: problems}
	}
	if len(reqs) == 0 {
		return nil, nil, usagef("%s holds no requests", file)
	}
	return reqs, lines, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// checkLine is one line's request, or every problem with it: the API's own
// validation (job.ParseSubmission, with the catalogue built in here) once
// local files are read into data URIs, so that a line the API would refuse
// stops the batch before any other line is submitted.
func checkLine(c *catalog.Catalog, line []byte, dir string) (vidgen.Request, []vidgen.FieldError) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil || body == nil {
		msg := "must be a JSON object"
		if err != nil {
			msg += ": " + err.Error()
		}
		return vidgen.Request{}, []vidgen.FieldError{{Field: "body", Message: msg}}
	}
	if dec.More() {
		return vidgen.Request{}, []vidgen.FieldError{{Field: "body", Message: "must hold one JSON object"}}
	}
	// As Submit does, a line naming no model asks for the default.
	if v, ok := body["model"]; !ok || v == nil || v == "" {
		body["model"] = client.DefaultModel
	}
	id, _ := body["model"].(string)
	m, err := c.Model(id)
	var unknown *catalog.UnknownModelError
	if errors.As(err, &unknown) {
		// Told short: the catalogue's error lists every model.
		return vidgen.Request{}, []vidgen.FieldError{{Field: "model", Message: fmt.Sprintf("unknown model %q (vidgen models lists them)", id)}}
	}
	var problems []vidgen.FieldError
	flagged := map[string]bool{}
	if m != nil {
		// Any media field of the model, at any depth (image_list[0],
		// keyframes.frame0.url), may name a local file.
		_ = m.EachMedia(body, func(path string, kind catalog.MediaKind, v string) (string, error) {
			if v == "" || strings.Contains(v, ":") {
				return v, nil // a URL or data URI: validated below
			}
			p := v
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			uri, err := mediaFile(p, kind)
			if err != nil {
				problems = append(problems, vidgen.FieldError{Field: path, Message: err.Error()})
				flagged[path] = true
				return v, nil // told; the other fields are still read
			}
			return uri, nil
		})
	}
	b, err := json.Marshal(body)
	if err != nil {
		return vidgen.Request{}, append(problems, vidgen.FieldError{Field: "body", Message: err.Error()})
	}
	// callback_url is taken as given: which URLs the API calls back is
	// its deployment's to say.
	_, err = job.ParseSubmission(b, job.ParseOptions{CheckCallback: func(string) error { return nil }})
	var ve *job.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if flagged[f.Field] {
				continue // its file's problem is told
			}
			if f.Message == "unknown field" && m != nil && !strings.ContainsAny(f.Field, ".[") {
				f.Message += fmt.Sprintf(": model %s takes %s", id, strings.Join(slices.Sorted(maps.Keys(m.Schema.Properties)), ", "))
			}
			problems = append(problems, vidgen.FieldError{Field: f.Field, Message: f.Message})
		}
	} else if err != nil {
		problems = append(problems, vidgen.FieldError{Field: "body", Message: err.Error()})
	}
	if len(problems) > 0 {
		return vidgen.Request{}, problems
	}
	var req vidgen.Request
	if err := json.Unmarshal(b, &req); err != nil {
		return vidgen.Request{}, []vidgen.FieldError{{Field: "body", Message: err.Error()}}
	}
	return req, nil
}

// errorDetail is a refused line's error as --json prints it, and as text
// does.
func errorDetail(err error) (*vidgen.ErrorDetail, string) {
	var ae *client.APIError
	if errors.As(err, &ae) {
		// The API's own message: its name and fields are members of
		// their own, which the text adds to it (ae.Error).
		return &vidgen.ErrorDetail{Name: ae.Name, Message: ae.Message, Fields: ae.Fields}, ae.Error()
	}
	return &vidgen.ErrorDetail{Message: err.Error()}, err.Error()
}
