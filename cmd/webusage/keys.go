package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"webusage/keys"
)

func init() {
	register("keys", command{summary: "rotate the key-encryption key, show the keyring (keys rotate|status)", run: runKeys})
}

func keysUsage(w io.Writer) {
	fmt.Fprintln(w, `usage:
  webusage keys rotate --data DIR [--kek-file OLD] [--new-kek-file NEW]
      re-wrap the data keys and the index key under a new key-encryption key;
      without --new-kek-file a new key is generated into DIR/kek.
      No database row is read or written.
  webusage keys status --data DIR [--kek-file FILE] [--json]
      show key ids, creation times and the active data key (never key material).

Every flag also reads WEBUSAGE_<FLAG> (WEBUSAGE_DATA, WEBUSAGE_KEK_FILE, WEBUSAGE_NEW_KEK_FILE).`)
}

func runKeys(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 {
		keysUsage(io.err)
		return 2
	}
	switch args[0] {
	case "rotate":
		return runKeysRotate(args[1:], io)
	case "status":
		return runKeysStatus(args[1:], io)
	case "-h", "--help", "help":
		keysUsage(io.out)
		return 0
	}
	fmt.Fprintf(io.err, "webusage keys: unknown subcommand %q\n", args[0])
	keysUsage(io.err)
	return 2
}

// keysFlags parses the flags shared by the keys subcommands.
func keysFlags(name string, args []string, io stdio, extra func(fs *flag.FlagSet)) (data, kekFile string, ok bool, code int) {
	fs := flag.NewFlagSet("webusage keys "+name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.StringVar(&data, "data", "data", "data directory holding keyring.json")
	fs.StringVar(&kekFile, "kek-file", "", "customer key-encryption key file (BYOK) now in use; default DIR/kek")
	if extra != nil {
		extra(fs)
	}
	if err := envFlags(fs); err != nil {
		fmt.Fprintf(io.err, "webusage keys %s: %v\n", name, err)
		return "", "", false, 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", "", false, 0
		}
		return "", "", false, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(io.err, "webusage keys %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", "", false, 2
	}
	return data, kekFile, true, 0
}

func runKeysRotate(args []string, io stdio) int {
	var newKEKFile string
	data, kekFile, ok, code := keysFlags("rotate", args, io, func(fs *flag.FlagSet) {
		fs.StringVar(&newKEKFile, "new-kek-file", "", "new customer key-encryption key file (BYOK); default: generate a new DIR/kek")
	})
	if !ok {
		return code
	}
	if err := keys.Rewrap(data, kekFile, newKEKFile); err != nil {
		fmt.Fprintf(io.err, "webusage keys rotate: %v\n", err)
		return 1
	}
	where := newKEKFile
	if where == "" {
		where = "a new generated key in " + filepath.Join(data, "kek")
	}
	fmt.Fprintf(io.out, "re-wrapped the keyring in %s under %s; no database row was changed.\n", data, where)
	fmt.Fprintln(io.out, "Keep the previous key-encryption key as long as backups of keyring.json made before now are kept: they still need it.")
	if newKEKFile != "" {
		fmt.Fprintf(io.out, "From now on pass --kek-file %s (or set WEBUSAGE_KEK_FILE) to every webusage command using %s.\n", newKEKFile, data)
	}
	return 0
}

func runKeysStatus(args []string, io stdio) int {
	var asJSON bool
	data, kekFile, ok, code := keysFlags("status", args, io, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the status as one JSON object")
	})
	if !ok {
		return code
	}
	st, err := keys.ReadStatus(data, kekFile)
	if err != nil {
		fmt.Fprintf(io.err, "webusage keys status: %v\n", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			fmt.Fprintf(io.err, "webusage keys status: %v\n", err)
			return 1
		}
	} else {
		printKeysStatus(io.out, st)
	}
	if st.KEKMatches != nil && !*st.KEKMatches {
		return 1
	}
	return 0
}

func printKeysStatus(w io.Writer, st keys.Status) {
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(w, "keyring:   %s (instance %s)\n", filepath.Join(st.Dir, "keyring.json"), st.Instance)
	fmt.Fprintf(w, "created:   %s\n", ts(st.Created))
	kek := "generated, in " + filepath.Join(st.Dir, "kek")
	if st.KEKSource == "customer" {
		kek = "customer-supplied (BYOK), not stored in the data directory"
	}
	fmt.Fprintf(w, "kek:       %s\n", kek)
	switch {
	case st.KEKMatches == nil:
		fmt.Fprintln(w, "kek check: not checked (pass --kek-file to check a key file)")
	case *st.KEKMatches:
		fmt.Fprintf(w, "kek check: %s opens this keyring\n", st.KEKFile)
	default:
		fmt.Fprintf(w, "kek check: %s does NOT open this keyring\n", st.KEKFile)
	}
	if !st.Rewrapped.IsZero() {
		fmt.Fprintf(w, "rewrapped: %s\n", ts(st.Rewrapped))
	}
	fmt.Fprintf(w, "index key: created %s (never rotated)\n", ts(st.IndexKey))
	fmt.Fprintln(w, "data keys:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tCREATED\tSTATE")
	for _, k := range st.DataKeys {
		state := "retired (opens older values)"
		if k.Active {
			state = "active"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", k.ID, ts(k.Created), state)
	}
	tw.Flush()
}
