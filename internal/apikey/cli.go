package apikey

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vidgen/vidgen/internal/clock"
)

// Usage is vidgen-keys' help text.
const Usage = `usage:
  vidgen-keys create -tenant TENANT [-name NAME]
        make a key for TENANT; prints the key once, and its hash
  vidgen-keys list [-tenant TENANT]
        list the keys (hash prefix, tenant, name, created, revoked)
  vidgen-keys revoke HASH
        revoke the key with this hash, or with this unique hash prefix
        of at least 8 characters

Keys live in the DynamoDB table VIDGEN_KEYS_TABLE names, if set (AWS
credentials and region as for the AWS CLI), else in VIDGEN_DATA_DIR/jobs.db
(default ./.vidgen), which local mode must not hold open meanwhile.
`

// Lengths of hash prefixes: what list shows, and the least revoke takes.
const (
	ShownHash     = 12
	MinHashPrefix = 8
)

// UsageError is a command line Run cannot make sense of.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg + "\n\n" + Usage }

func usageErr(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Run carries out the vidgen-keys command line args (without the program
// name) on store, writing what it reports to stdout. The store is not
// touched when the command line is wrong, so it may be nil then.
func Run(ctx context.Context, args []string, stdout io.Writer, store Store, clock clock.Clock) error {
	if len(args) == 0 {
		return usageErr("no command given")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "create":
		return create(ctx, args, stdout, store, clock)
	case "list":
		return list(ctx, args, stdout, store)
	case "revoke":
		return revoke(ctx, args, stdout, store, clock)
	case "help", "-h", "-help", "--help":
		_, err := io.WriteString(stdout, Usage)
		return err
	}
	return usageErr("unknown command %q", cmd)
}

// parse parses a subcommand's flags. help reports -h, which Run answers
// with the usage and success.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	fs.SetOutput(io.Discard) // errors are returned, not printed
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		_, werr := io.WriteString(stdout, Usage)
		return true, werr
	case err != nil:
		return false, usageErr("%s: %v", fs.Name(), err)
	}
	return false, nil
}

func create(ctx context.Context, args []string, stdout io.Writer, store Store, clock clock.Clock) error {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "")
	name := fs.String("name", "", "")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("create: unexpected argument %q", fs.Arg(0))
	case *tenant == "":
		return usageErr("create: -tenant is required")
	}
	plaintext, hash, err := Generate()
	if err != nil {
		return err
	}
	k := Key{Hash: hash, Tenant: *tenant, Name: *name, CreatedAt: clock.Now().UTC()}
	if err := k.Validate(); err != nil {
		return usageErr("create: %v", err)
	}
	if err := store.Put(ctx, k); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "key\t%s\n", plaintext)
	fmt.Fprintf(w, "hash\t%s\n", hash)
	fmt.Fprintf(w, "tenant\t%s\n", k.Tenant)
	if k.Name != "" {
		fmt.Fprintf(w, "name\t%s\n", k.Name)
	}
	fmt.Fprintln(w, "\nThis is the only time the key is shown: vidgen keeps just its hash. Store it now.")
	return w.Flush()
}

func list(ctx context.Context, args []string, stdout io.Writer, store Store) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("list: unexpected argument %q", fs.Arg(0))
	}
	keys, err := store.List(ctx, *tenant)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if len(keys) == 0 {
		_, err := fmt.Fprintln(stdout, "no keys")
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "HASH\tTENANT\tNAME\tCREATED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = stamp(*k.RevokedAt)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.Hash[:ShownHash], k.Tenant, or(k.Name, "-"), stamp(k.CreatedAt), revoked)
	}
	return w.Flush()
}

func revoke(ctx context.Context, args []string, stdout io.Writer, store Store, clock clock.Clock) error {
	fs := flag.NewFlagSet("revoke", flag.ContinueOnError)
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("revoke: give one hash or hash prefix")
	}
	prefix := strings.ToLower(fs.Arg(0))
	if len(prefix) < MinHashPrefix || len(prefix) > 2*sha256.Size || !isHex(prefix) {
		return usageErr("revoke: %q is not a hash or a hash prefix of at least %d hex digits", fs.Arg(0), MinHashPrefix)
	}
	k, err := find(ctx, store, prefix)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if k.Revoked() {
		_, err := fmt.Fprintf(stdout, "key %s of tenant %s was already revoked at %s\n", k.Hash, k.Tenant, stamp(*k.RevokedAt))
		return err
	}
	if k, err = store.Revoke(ctx, k.Hash, clock.Now().UTC()); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "revoked key %s of tenant %s at %s\n", k.Hash, k.Tenant, stamp(*k.RevokedAt))
	return err
}

// find returns the one key whose hash starts with prefix.
func find(ctx context.Context, store Store, prefix string) (Key, error) {
	if ValidHash(prefix) {
		return store.Get(ctx, prefix)
	}
	keys, err := store.List(ctx, "")
	if err != nil {
		return Key{}, err
	}
	var found []Key
	for _, k := range keys {
		if strings.HasPrefix(k.Hash, prefix) {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return Key{}, fmt.Errorf("no key's hash starts with %s: %w", prefix, ErrNotFound)
	case 1:
		return found[0], nil
	}
	return Key{}, fmt.Errorf("%d keys' hashes start with %s; give more of the hash", len(found), prefix)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
