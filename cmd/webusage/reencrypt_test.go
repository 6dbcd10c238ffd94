package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webusage/keys"
	"webusage/store"
)

func TestReencryptMovesEveryValueToANewKey(t *testing.T) {
	dir, st, _ := seededDataDir(t, 5)
	before, err := keys.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	old := before.ActiveKeyID()
	st.Close()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "webusage.db"))
	if err != nil {
		t.Fatal(err)
	}
	var oldName []byte
	err = db.QueryRow("SELECT name_enc FROM users").Scan(&oldName)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := keys.KeyIDOf(oldName); id != old {
		t.Fatalf("control: name sealed under key %d, not %d", id, old)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, "webusage.db")); !bytes.Contains(raw, oldName) {
		t.Fatal("control: the sealed name is not in the file before")
	}

	code, out, stderr := runCmd(t, "reencrypt", "--data", dir, "--batch", "2")
	if code != 0 {
		t.Fatalf("reencrypt exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "re-encrypted 1 values of users.name") || !strings.Contains(out, "removed data key") {
		t.Errorf("output %q", out)
	}
	kr, err := keys.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if ids := kr.KeyIDs(); len(ids) != 1 || ids[0] == old {
		t.Fatalf("key ids after reencrypt %v (old %d)", ids, old)
	}
	st2, err := store.Open(context.Background(), filepath.Join(dir, "webusage.db"), kr, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	exp, err := st2.ExportUser(context.Background(), store.Actor{Name: "t"}, "alice")
	if err != nil || exp.Rows("events") != 5 {
		t.Fatalf("after reencrypt: %d events, %v", exp.Rows("events"), err)
	}
	left, err := st2.CountSealed(context.Background(), func(v []byte) bool { id, _ := keys.KeyIDOf(v); return id == old })
	if err != nil || len(left) != 0 {
		t.Fatalf("values under the old key: %v %v", left, err)
	}
	// The old ciphertext is gone from the files.
	st2.Checkpoint(context.Background())
	raw, _ := os.ReadFile(filepath.Join(dir, "webusage.db"))
	wal, _ := os.ReadFile(filepath.Join(dir, "webusage.db-wal"))
	if bytes.Contains(raw, oldName) || bytes.Contains(wal, oldName) {
		t.Error("the name sealed under the old key is still in the database files")
	}
}

func TestReencryptRefusesTheWrongKey(t *testing.T) {
	dir, st, _ := seededDataDir(t, 1)
	st.Close()
	wrong := filepath.Join(t.TempDir(), "wrong.kek")
	key := make([]byte, 32)
	rand.Read(key)
	os.WriteFile(wrong, []byte(hex.EncodeToString(key)), 0o600)
	code, _, stderr := runCmd(t, "reencrypt", "--data", dir, "--kek-file", wrong)
	if code != 1 || !strings.Contains(stderr, "does not match") {
		t.Fatalf("wrong key: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "backup", "--data", filepath.Join(t.TempDir(), "nothing"), "--to", filepath.Join(t.TempDir(), "b.db"))
	if code != 1 || stderr == "" {
		t.Fatalf("backup of a missing directory: exit %d, %q", code, stderr)
	}
}
