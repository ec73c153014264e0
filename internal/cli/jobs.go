package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/client"
)

func (r *runner) submit(ctx context.Context, args []string) error {
	fs := r.flags("submit", "submit [--model ID] [--image PATH|URL|DATA_URI] [--prompt TEXT] [--duration N] [--ratio R] [--param NAME=VALUE]… [--webhook URL] [--wait] [--out FILE]", true)
	model := fs.String("model", client.DefaultModel, "the model (vidgen models lists them)")
	image := fs.String("image", "", "the first frame (image_url): a PNG/JPEG/WebP file (sent as a data URI, at most 4 MiB), an https URL or a data URI; "+client.DefaultModel+" requires it")
	prompt := fs.String("prompt", "", "what should happen in the video")
	duration := fs.Int("duration", 0, "seconds of video (default: the model's; "+client.DefaultModel+": 5 or 10)")
	ratio := fs.String("ratio", "", "aspect ratio (aspect_ratio; default: the model's; "+client.DefaultModel+": 16:9 or 9:16)")
	var params paramFlag
	fs.Var(&params, "param", "one more field of the model's request, NAME=VALUE; VALUE is JSON if it parses as JSON (10, true, [\"a\"], {\"k\":1}, \"5\"), else a string; repeat for each field (vidgen models ID lists them)")
	hook := fs.String("webhook", "", "an https URL that receives a signed webhook when the job ends")
	wait := fs.Bool("wait", false, "wait for the job to end, with a progress bar; exit 1 if it fails")
	out := fs.String("out", "", "save the video to this file (implies --wait)")
	key := fs.String("idempotency-key", "", "send this Idempotency-Key (default: a fresh one)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	gen3 := *model == client.DefaultModel
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case *model == "":
		return usagef("--model must name a model (vidgen models lists them)")
	case gen3 && *duration != 0 && *duration != 5 && *duration != 10:
		return usagef("--duration must be 5 or 10, got %d", *duration)
	case *duration < 0:
		return usagef("--duration must be positive, got %d", *duration)
	case gen3 && *ratio != "" && *ratio != "16:9" && *ratio != "9:16":
		return usagef("--ratio must be 16:9 or 9:16, got %q", *ratio)
	}
	img := ""
	if *image != "" || gen3 {
		if img, err = imageField(*image); err != nil {
			return err
		}
	}
	req := vidgen.Request{Model: *model, ImageURL: img, Prompt: *prompt, Duration: *duration, AspectRatio: *ratio, CallbackURL: *hook}
	if err := params.into(&req); err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	var answer json.RawMessage
	opts := []client.SubmitOption{client.Answer(&answer)}
	if *key != "" {
		opts = append(opts, client.IdempotencyKey(*key))
	}
	g, err := c.Submit(ctx, req, opts...)
	if err != nil {
		return err
	}
	if !*wait && *out == "" {
		if r.json {
			// The answer as the API gave it: the Generation would add
			// every field the submit's answer leaves out, as zeros.
			r.printJSON(r.env.Stdout, answer)
			return nil
		}
		r.show(g)
		return nil
	}
	if !r.json {
		fmt.Fprintf(r.env.Stderr, "submitted %s\n", g.ID)
	}
	return r.follow(ctx, c, g.ID, *out, 0)
}

// follow waits for the job with a progress bar, downloads its video to
// out if given, and shows the final record. A timeout above 0 bounds the
// wait: when it expires the job still runs, which is a *timeoutError, not
// the failed call the expired context makes of it.
func (r *runner) follow(ctx context.Context, c *client.Client, id, out string, timeout time.Duration) error {
	bar := r.newJobBar(id)
	waitCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var last vidgen.Generation
	g, err := c.Wait(waitCtx, id, func(g vidgen.Generation) {
		last = g
		bar.update(g)
	})
	if err != nil && ctx.Err() == nil && errors.Is(waitCtx.Err(), context.DeadlineExceeded) {
		g, err = r.timedOut(ctx, c, id, last, timeout)
	}
	bar.finish(g)
	if err != nil {
		return err
	}
	if g.Status == vidgen.Failed {
		r.show(g)
		if !r.json {
			fmt.Fprintf(r.env.Stderr, "job %s failed: %s\n", g.ID, describeError(g.Error))
		}
		return errFailed
	}
	if out != "" {
		n, err := r.save(ctx, c, id, out)
		if err != nil {
			return err
		}
		if !r.json {
			fmt.Fprintf(r.env.Stderr, "saved %s (%s)\n", out, size(n))
		}
	}
	r.show(g)
	return nil
}

// timedOut is the outcome of a wait whose --timeout expired: the job as
// one more quick query finds it, since a long-poll cut short may never have
// answered (last is then empty); a job that ended meanwhile is returned as
// a wait would have, one still running is a *timeoutError (beside the
// job as last seen, for the progress bar).
func (r *runner) timedOut(ctx context.Context, c *client.Client, id string, last vidgen.Generation, timeout time.Duration) (vidgen.Generation, error) {
	ctx, cancel := context.WithTimeout(ctx, timeoutQuery)
	defer cancel()
	if g, err := c.Get(ctx, id); err == nil {
		if client.Terminal(g.Status) {
			return g, nil
		}
		last = g
	}
	return last, &timeoutError{id: id, status: last.Status, after: timeout}
}

// timeoutQuery bounds the query timedOut makes once --timeout expired.
const timeoutQuery = 10 * time.Second

// save downloads the video into a temporary file beside out and renames
// it, so that out is never a partial video.
func (r *runner) save(ctx context.Context, c *client.Client, id, out string) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.part")
	if err != nil {
		return 0, fmt.Errorf("save video: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	bar, done := r.newBytesBar()
	n, err := c.Download(ctx, id, io.MultiWriter(f, bar))
	done()
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("save video: %w", cerr)
	}
	if err != nil {
		return 0, err
	}
	// CreateTemp makes the file private; a saved video is an ordinary file.
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return 0, fmt.Errorf("save video: %w", err)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return 0, fmt.Errorf("save video: %w", err)
	}
	return n, nil
}

func (r *runner) get(ctx context.Context, args []string) error {
	return r.onJob(ctx, args, "get", "get ID [--json]", (*client.Client).Get)
}

// onJob runs a command that takes one job id, makes one call and shows the
// job it answers with (get, cancel).
func (r *runner) onJob(ctx context.Context, args []string, name, usage string, call func(*client.Client, context.Context, string) (vidgen.Generation, error)) error {
	fs := r.flags(name, usage, true)
	id, c, err := r.jobClient(fs, args)
	if err != nil {
		return err
	}
	g, err := call(c, ctx, id)
	if err != nil {
		return err
	}
	r.show(g)
	return nil
}

// jobClient reads a command's one job id and makes the client to ask about it.
func (r *runner) jobClient(fs *flag.FlagSet, args []string) (string, *client.Client, error) {
	id, err := onePositional(fs, args, "job id")
	if err != nil {
		return "", nil, err
	}
	c, err := r.client()
	return id, c, err
}

func (r *runner) wait(ctx context.Context, args []string) error {
	fs := r.flags("wait", "wait ID [--out FILE] [--timeout DURATION]", true)
	out := fs.String("out", "", "save the video to this file once completed")
	timeout := fs.Duration("timeout", 0, "give up waiting after this long, such as 10m (exit 4; the job runs on)")
	id, c, err := r.jobClient(fs, args)
	if err != nil {
		return err
	}
	if *timeout < 0 {
		return usagef("--timeout must be positive, got %s", *timeout)
	}
	return r.follow(ctx, c, id, *out, *timeout)
}

func (r *runner) download(ctx context.Context, args []string) error {
	fs := r.flags("download", "download ID --out FILE", true)
	out := fs.String("out", "", "the file to write (required)")
	id, err := onePositional(fs, args, "job id")
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	n, err := r.save(ctx, c, id, *out)
	if err != nil {
		return err
	}
	if r.json {
		r.printJSON(r.env.Stdout, map[string]any{"id": id, "file": *out, "bytes": n})
	} else {
		fmt.Fprintf(r.env.Stdout, "saved %s (%s)\n", *out, size(n))
	}
	return nil
}

func (r *runner) cancel(ctx context.Context, args []string) error {
	return r.onJob(ctx, args, "cancel", "cancel ID", (*client.Client).Cancel)
}

func (r *runner) list(ctx context.Context, args []string) error {
	fs := r.flags("list", "list [--status queued|generating|completed|error] [--model ID] [--limit N]", true)
	status := fs.String("status", "", "only jobs in this status")
	model := fs.String("model", "", "only jobs of this model")
	limit := fs.Int("limit", 20, "at most this many jobs (0: all of them)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch vidgen.Status(*status) {
	case "", vidgen.Queued, vidgen.Generating, vidgen.Completed, vidgen.Failed:
	default:
		return usagef("--status must be queued, generating, completed or error, got %q", *status)
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *limit < 0 {
		return usagef("--limit must be 0 or more")
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	opts := client.ListOptions{Status: vidgen.Status(*status), Model: *model}
	if *limit > 0 {
		opts.PageSize = min(*limit, 100)
	}
	jobs := []vidgen.Generation{}
	for g, err := range c.List(ctx, opts) {
		if err != nil {
			return err
		}
		jobs = append(jobs, g)
		if *limit > 0 && len(jobs) == *limit {
			break
		}
	}
	if r.json {
		r.printJSON(r.env.Stdout, jobs)
		return nil
	}
	// MODEL comes after the fixed-width columns and before DETAIL, the
	// free text: a model id runs to ~45 characters, and is shown whole so
	// that it can be copied into --model.
	w := tabwriter.NewWriter(r.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSTATUS\tCREATED\tMODEL\tDETAIL")
	for _, g := range jobs {
		detail := ""
		switch {
		case g.Error != nil:
			detail = describeError(g.Error)
		case g.Video != nil && g.Video.Duration != nil:
			detail = strconv.FormatFloat(*g.Video.Duration, 'f', -1, 64) + " s video"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", g.ID, g.Status, g.CreatedAt.Local().Format(time.DateTime), g.Model, detail)
	}
	return w.Flush()
}

// show prints a job: JSON with --json, else one field a line.
func (r *runner) show(g vidgen.Generation) {
	if r.json {
		r.printJSON(r.env.Stdout, g)
		return
	}
	w := tabwriter.NewWriter(r.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "id\t%s\n", g.ID)
	fmt.Fprintf(w, "status\t%s\n", g.Status)
	if g.Model != "" {
		// A submit's answer is {"id","status"} alone, as the upstream's.
		fmt.Fprintf(w, "model\t%s\n", g.Model)
	}
	if g.Video != nil {
		fmt.Fprintf(w, "video\t%s\n", g.Video.URL)
		if g.Video.Duration != nil {
			fmt.Fprintf(w, "duration\t%s s\n", strconv.FormatFloat(*g.Video.Duration, 'f', -1, 64))
		}
	}
	if g.Error != nil {
		fmt.Fprintf(w, "error\t%s\n", describeError(g.Error))
	}
	if g.QueuePosition != nil {
		fmt.Fprintf(w, "in line\t#%d\n", *g.QueuePosition)
	}
	if g.ETA != nil {
		fmt.Fprintf(w, "eta\t%s (%.0f%% between %s and %s)\n", stamp(g.ETA.At), 100*g.ETA.Confidence, stamp(g.ETA.Earliest), stamp(g.ETA.Latest))
	}
	fmt.Fprintf(w, "polls\t%d\n", g.Polls)
	for _, t := range []struct {
		name string
		at   *time.Time
	}{{"created", &g.CreatedAt}, {"started", g.StartedAt}, {"checked", g.LastCheckedAt}, {"ended", g.EndedAt}, {"updated", &g.UpdatedAt}} {
		if t.at != nil && !t.at.IsZero() {
			fmt.Fprintf(w, "%s\t%s\n", t.name, stamp(*t.at))
		}
	}
	w.Flush()
}

func stamp(t time.Time) string { return t.Local().Format(time.RFC3339) }

func describeError(e *vidgen.Error) string {
	if e == nil {
		return "no error recorded"
	}
	return e.Name + ": " + e.Message
}
