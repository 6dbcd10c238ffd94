package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"webusage/store"
)

// keyringFileName is the keyring's file in the data directory (docs/keys.md).
const keyringFileName = "keyring.json"

func init() {
	register("backup", command{summary: "copy the database (online, consistent) and keyring.json to a backup file", run: runBackup})
}

func runBackup(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("webusage backup", flag.ContinueOnError)
	fs.SetOutput(io.err)
	data := fs.String("data", "./data", "data directory holding webusage.db")
	to := fs.String("to", "", "backup file to create (must not exist)")
	withKeyring := fs.Bool("keyring", true, "also copy DATA/keyring.json to FILE.keyring.json (never the key-encryption key)")
	if err := envFlags(fs); err != nil {
		fmt.Fprintln(io.err, "webusage backup: environment:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *to == "" || fs.NArg() > 0 {
		fmt.Fprintln(io.err, "usage: webusage backup --data DIR --to FILE [--keyring=false]")
		return 2
	}
	size, err := store.Backup(ctx, filepath.Join(*data, "webusage.db"), *to)
	if err != nil {
		fmt.Fprintf(io.err, "webusage backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(io.out, "database copied to %s (%d bytes)\n", *to, size)
	if *withKeyring {
		dst := *to + ".keyring.json"
		if err := copyNew(filepath.Join(*data, keyringFileName), dst); err != nil {
			fmt.Fprintf(io.err, "webusage backup: keyring: %v\n", err)
			return 1
		}
		fmt.Fprintf(io.out, "keyring copied to %s\n", dst)
	}
	fmt.Fprintln(io.out, "A restore also needs the key-encryption key (DATA/kek or your --kek-file): keep it apart from these files.")
	return 0
}

// copyNew copies src to a new file dst (mode 0600) and syncs it.
func copyNew(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	if _, err = io.Copy(out, in); err != nil {
		return err
	}
	return out.Sync()
}
