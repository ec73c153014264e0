package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vidgen/vidgen/client"
	"github.com/vidgen/vidgen/webhook"
)

// headerFlag collects repeated --header "Name: value" flags.
type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string { return "" }

func (f *headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q is not Name: value", v)
	}
	f.h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

func (r *runner) webhook(_ context.Context, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(r.env.Stdout, webhookUsage)
			return errHelp
		}
		return usagef("the webhook command has one subcommand, verify\n\n%s", webhookUsage)
	}
	fs := r.flags("webhook verify", "webhook verify --secret whsec_… --id ID --timestamp UNIX --signature SIG [--body FILE]", false)
	secret := fs.String("secret", "", "your tenant's signing secret (default $VIDGEN_WEBHOOK_SECRET; GET /v2/webhooks/secret)")
	body := fs.String("body", "-", "the file holding the raw body, exactly as received; - reads stdin")
	headers := &headerFlag{h: http.Header{}}
	fs.Var(headers, "header", "a received header as 'Name: value' (repeatable), instead of --id/--timestamp/--signature")
	id := fs.String("id", "", "the webhook-id header's value")
	ts := fs.String("timestamp", "", "the webhook-timestamp header's value")
	sig := fs.String("signature", "", "the webhook-signature header's value")
	tolerance := fs.Duration("tolerance", webhook.DefaultTolerance, "how far the timestamp may be from now")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *secret == "" {
		*secret = r.env.Getenv("VIDGEN_WEBHOOK_SECRET")
	}
	if *secret == "" {
		return usagef("--secret is required (or set VIDGEN_WEBHOOK_SECRET)")
	}
	for name, v := range map[string]string{webhook.HeaderID: *id, webhook.HeaderTimestamp: *ts, webhook.HeaderSignature: *sig} {
		if v != "" {
			headers.h.Set(name, v)
		}
	}
	var raw []byte
	if *body == "-" {
		raw, err = io.ReadAll(r.env.Stdin)
	} else {
		raw, err = os.ReadFile(*body)
	}
	if err != nil {
		return usagef("body: %v", err)
	}
	p, err := client.VerifyWebhookAt(*secret, headers.h, raw, time.Now(), *tolerance)
	if err != nil {
		if r.json {
			r.printJSON(r.env.Stdout, map[string]any{"ok": false, "error": err.Error()})
		} else {
			fmt.Fprintf(r.env.Stdout, "invalid: %v\n", err)
		}
		return errFailed
	}
	if r.json {
		r.printJSON(r.env.Stdout, map[string]any{"ok": true, "payload": p})
	} else {
		fmt.Fprintf(r.env.Stdout, "ok: %s for job %s (%s)\n", p.Type, p.Data.ID, p.Data.Status)
	}
	return nil
}

const webhookUsage = `usage: vidgen webhook verify --secret whsec_… [--body FILE] --id ID --timestamp UNIX --signature SIG
       vidgen webhook verify --secret whsec_… [--body FILE] --header 'webhook-id: …' --header …

Checks that a webhook body, with the headers it came with, was signed by vidgen
with your secret within the tolerance. Prints ok and exits 0, or invalid and
exits 1. The body is read raw from --body or stdin.
`
