package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"sort"

	"webusage/keys"
	"webusage/store"
)

func init() {
	register("reencrypt", command{summary: "re-encrypt every sealed value under a new data key, then drop the old keys (server stopped)", run: runReencrypt})
}

func runReencrypt(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("webusage reencrypt", flag.ContinueOnError)
	fs.SetOutput(io.err)
	data := fs.String("data", "./data", "data directory holding webusage.db and keyring.json")
	kekFile := fs.String("kek-file", "", "customer key-encryption key file (BYOK); default DATA/kek")
	batch := fs.Int("batch", 1000, "rows re-encrypted per transaction")
	if err := envFlags(fs); err != nil {
		fmt.Fprintln(io.err, "webusage reencrypt: environment:", err)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *batch <= 0 {
		fmt.Fprintln(io.err, "usage: webusage reencrypt --data DIR [--kek-file FILE] [--batch N]")
		return 2
	}
	if err := reencrypt(ctx, *data, *kekFile, *batch, io); err != nil {
		fmt.Fprintf(io.err, "webusage reencrypt: %v\n", err)
		return 1
	}
	return 0
}

// reencrypt adds a data key, re-seals every value under it, checks that no
// value uses another key, and removes the others from the keyring.
func reencrypt(ctx context.Context, dir, kekFile string, batch int, io stdio) error {
	kr, err := keys.Open(dir, kekFile)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, filepath.Join(dir, "webusage.db"), kr, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	active, err := kr.AddDataKey()
	if err != nil {
		return err
	}
	fmt.Fprintf(io.out, "new data key %d is active\n", active)
	stale := func(v []byte) bool {
		id, ok := keys.KeyIDOf(v)
		return ok && id != kr.ActiveKeyID()
	}
	counts, err := st.Reseal(ctx, stale, batch)
	if err != nil {
		return fmt.Errorf("%w (run the command again to finish; every value opens with the keys kept so far)", err)
	}
	cols := make([]string, 0, len(counts))
	for c := range counts {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	for _, c := range cols {
		fmt.Fprintf(io.out, "re-encrypted %d values of %s\n", counts[c], c)
	}
	left, err := st.CountSealed(ctx, stale)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("values still under older keys %v: is a server writing to %s? stop it and run again", left, dir)
	}
	for _, id := range kr.KeyIDs() {
		if id == kr.ActiveKeyID() {
			continue
		}
		if err := kr.RemoveDataKey(id); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "removed data key %d\n", id)
	}
	fmt.Fprintln(io.out, "done. Backups made before now still need the keyring.json of their time.")
	return nil
}
