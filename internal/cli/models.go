package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vidgen/vidgen"
	"github.com/vidgen/vidgen/internal/catalog"
)

// paramFlag collects --param NAME=VALUE, in order.
type paramFlag []string

func (p *paramFlag) String() string { return strings.Join(*p, " ") }

func (p *paramFlag) Set(v string) error {
	name, _, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	*p = append(*p, v)
	return nil
}

// into adds the parameters to req's Params: a value that parses as JSON
// is that JSON value, any other a string (--param resolution=1080p). A
// field named twice, or also set by its own flag, is refused.
func (p paramFlag) into(req *vidgen.Request) error {
	flagged := map[string]string{"model": "--model", "image_url": "--image", "prompt": "--prompt", "duration": "--duration",
		"aspect_ratio": "--ratio", "callback_url": "--webhook"}
	typed, err := json.Marshal(req)
	if err != nil {
		return usagef("%v", err)
	}
	var set map[string]any
	if err := json.Unmarshal(typed, &set); err != nil {
		return usagef("%v", err)
	}
	for _, kv := range p {
		name, raw, _ := strings.Cut(kv, "=")
		if _, dup := req.Params[name]; dup {
			return usagef("--param %s is given twice", name)
		}
		if _, ok := set[name]; ok {
			if f, ok := flagged[name]; ok {
				return usagef("--param %s repeats %s; give it once", name, f)
			}
			return usagef("--param %s is given twice", name)
		}
		var v any = raw
		if json.Valid([]byte(raw)) {
			dec := json.NewDecoder(strings.NewReader(raw))
			dec.UseNumber() // 18446744073709551615 stays that number
			if err := dec.Decode(&v); err != nil {
				return usagef("--param %s: %v", name, err)
			}
		}
		if req.Params == nil {
			req.Params = map[string]any{}
		}
		req.Params[name] = v
	}
	return nil
}

// models lists the models the API serves, or shows one's fields.
func (r *runner) models(ctx context.Context, args []string) error {
	fs := r.flags("models", "models [ID]", true)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("give at most one model id, got %d arguments", len(pos))
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	list, err := c.Models(ctx, pos...)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		if len(list) != 1 || list[0].ID != pos[0] {
			return fmt.Errorf("the API serves no model %q; vidgen models lists them", pos[0])
		}
		if r.json {
			r.printJSON(r.env.Stdout, list[0])
			return nil
		}
		return r.showModel(list[0])
	}
	if r.json {
		r.printJSON(r.env.Stdout, list)
		return nil
	}
	w := tabwriter.NewWriter(r.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "MODEL\tPROVIDER\tMODES")
	for _, m := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\n", m.ID, m.Info.Developer, modes(m.Capabilities))
	}
	return w.Flush()
}

// modes are a model's capabilities as the catalogue names its modes
// (text-to-video, …).
func modes(caps []string) string {
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = strings.ReplaceAll(c, "_", "-")
	}
	return strings.Join(out, ", ")
}

// showModel prints a model and the fields of its request.
func (r *runner) showModel(m vidgen.Model) error {
	var s catalog.Schema
	dec := json.NewDecoder(bytes.NewReader(m.Schema))
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("model %s: the API's schema does not decode: %w", m.ID, err)
	}
	w := tabwriter.NewWriter(r.env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "model\t%s\nprovider\t%s\nmodes\t%s\n", m.ID, m.Info.Developer, modes(m.Capabilities))
	if m.Modalities != nil {
		fmt.Fprintf(w, "takes\t%s\n", strings.Join(m.Modalities.Input, ", "))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(r.env.Stdout, "\nfields (* required; give others with --param NAME=VALUE):")
	w = tabwriter.NewWriter(r.env.Stdout, 0, 0, 2, ' ', 0)
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		mark := " "
		if slices.Contains(s.Required, name) {
			mark = "*"
		}
		fmt.Fprintf(w, "%s %s\t%s\n", mark, name, describeField(s.Properties[name]))
	}
	return w.Flush()
}

// describeField says in a line what a field takes: its type, allowed values or
// range, default.
func describeField(s *catalog.Schema) string {
	if s == nil {
		return "any"
	}
	var parts []string
	t := strings.Join(slices.DeleteFunc(slices.Clone(s.Types), func(t string) bool { return t == "null" }), "|")
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if s.Items != nil {
		t += " of " + describeField(s.Items)
	}
	for _, alt := range append(slices.Clone(s.AnyOf), s.OneOf...) {
		if t != "" {
			t += " or "
		}
		t += describeField(alt)
	}
	if s.Properties != nil {
		t += " {" + strings.Join(slices.Sorted(maps.Keys(s.Properties)), ", ") + "}"
	}
	if t != "" {
		parts = append(parts, t)
	}
	if len(s.Enum) > 0 {
		vals := make([]string, 0, len(s.Enum))
		for _, e := range s.Enum {
			if e != nil {
				b, _ := json.Marshal(e)
				vals = append(vals, string(b))
			}
		}
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	}
	// Plain decimals: %g wrote a seed's range as 0 to 4.294967295e+09.
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch {
	case s.Minimum != nil && s.Maximum != nil:
		parts = append(parts, num(*s.Minimum)+" to "+num(*s.Maximum))
	case s.Minimum != nil:
		parts = append(parts, "at least "+num(*s.Minimum))
	case s.Maximum != nil:
		parts = append(parts, "at most "+num(*s.Maximum))
	}
	if s.MaxLength != nil {
		parts = append(parts, fmt.Sprintf("at most %d characters", *s.MaxLength))
	}
	if s.MaxItems != nil {
		parts = append(parts, fmt.Sprintf("at most %d items", *s.MaxItems))
	}
	if s.Default != nil {
		b, _ := json.Marshal(s.Default)
		parts = append(parts, "default "+string(b))
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, "; ")
}
