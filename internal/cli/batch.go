package cli

import (
	"bufio"
	"bytes"
	"cmp"
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
// /v2/video/generations, one a line; blank lines are skipped). An image
// field that is not a URL or data URI is a file, relative to the batch
// file's directory. Any bad line fails the whole batch before anything is
// submitted.
func readBatch(file string) ([]vidgen.Request, []int, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, usagef("batch file: %v", err)
	}
	var reqs []vidgen.Request
	var lines []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 8<<20) // a line may hold a data URI
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var req vidgen.Request
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			return nil, nil, usagef("%s line %d: %v", file, n, err)
		}
		if err := knownFields(req); err != nil {
			return nil, nil, usagef("%s line %d: %v", file, n, err)
		}
		for _, f := range []*string{&req.ImageURL, &req.TailImageURL} {
			if *f == "" || strings.Contains(*f, ":") {
				continue // a URL or data URI: the API checks it
			}
			p := *f
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(file), p)
			}
			if *f, err = imageField(p); err != nil {
				return nil, nil, usagef("%s line %d: %v", file, n, err)
			}
		}
		reqs = append(reqs, req)
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, usagef("%s: %v", file, err)
	}
	if len(reqs) == 0 {
		return nil, nil, usagef("%s holds no requests", file)
	}
	return reqs, lines, nil
}

// knownFields refuses a field the request's model does not take, as the
// built-in catalogue knows the model (a typo in an optional field would
// otherwise fail the batch halfway through). A model the catalogue does
// not have is left to the API.
func knownFields(req vidgen.Request) error {
	c, err := catalog.Builtin()
	if err != nil {
		return err
	}
	id := cmp.Or(req.Model, client.DefaultModel)
	m, err := c.Model(id)
	if err != nil {
		return nil
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if _, ok := m.Schema.Properties[name]; !ok && name != "callback_url" {
			return fmt.Errorf("unknown field %q: model %s takes %s", name, id, strings.Join(slices.Sorted(maps.Keys(m.Schema.Properties)), ", "))
		}
	}
	return nil
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
