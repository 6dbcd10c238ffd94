package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"webusage/keys"
)

// runKeysCmd runs `webusage keys args...` in-process.
func runKeysCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), append([]string{"keys"}, args...), stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestKeysRotateKeepsValuesAndRefusesOldKEK(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k, err := keys.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	sealed := k.SealString("jdoe", "users.name")
	index := k.Index("user", "jdoe")
	oldKEK := filepath.Join(t.TempDir(), "old-kek")
	if err := os.Rename(filepath.Join(dir, "kek"), oldKEK); err != nil {
		t.Fatal(err)
	}
	keyringBefore, err := os.ReadFile(filepath.Join(dir, "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}

	newKEK := filepath.Join(t.TempDir(), "new-kek")
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(newKEK, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WEBUSAGE_KEK_FILE", oldKEK) // the old key may come from the environment
	code, out, stderr := runKeysCmd(t, "rotate", "--data", dir, "--new-kek-file", newKEK)
	if code != 0 {
		t.Fatalf("rotate exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(out, "no database row was changed") || !strings.Contains(out, newKEK) {
		t.Errorf("rotate output %q", out)
	}
	keyringAfter, _ := os.ReadFile(filepath.Join(dir, "keyring.json"))
	if bytes.Equal(keyringBefore, keyringAfter) {
		t.Fatal("keyring.json unchanged")
	}

	k2, err := keys.Open(dir, newKEK)
	if err != nil {
		t.Fatalf("Open with the new key: %v", err)
	}
	if got, err := k2.UnsealString(sealed, "users.name"); err != nil || got != "jdoe" || k2.Index("user", "jdoe") != index {
		t.Fatalf("after rotate: %q, %v", got, err)
	}
	if _, err := keys.Open(dir, oldKEK); err == nil {
		t.Fatal("old key still opens the keyring")
	}

	// Rotating again with the old key is refused with the clear message.
	code, _, stderr = runKeysCmd(t, "rotate", "--data", dir, "--kek-file", oldKEK)
	if code != 1 || !strings.Contains(stderr, "does not match this data directory's keyring") {
		t.Fatalf("rotate with the old key: exit %d, stderr %q", code, stderr)
	}
}

func TestKeysRotateGeneratesDefaultKEK(t *testing.T) {
	dir := t.TempDir()
	if _, err := keys.Open(dir, ""); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "kek"))
	if code, _, stderr := runKeysCmd(t, "rotate", "--data", dir); code != 0 {
		t.Fatalf("rotate exit %d: %s", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "kek"))
	if len(after) == 0 || bytes.Equal(before, after) {
		t.Fatal("DIR/kek was not replaced by a new key")
	}
	if _, err := keys.Open(dir, ""); err != nil {
		t.Fatalf("Open after rotate: %v", err)
	}
}

func TestKeysStatusShowsNoKeyMaterial(t *testing.T) {
	dir := t.TempDir()
	k, err := keys.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.AddDataKey(); err != nil {
		t.Fatal(err)
	}
	kek, _ := os.ReadFile(filepath.Join(dir, "kek"))
	keyring, _ := os.ReadFile(filepath.Join(dir, "keyring.json"))
	var file struct {
		IndexKey struct{ Wrapped string }   `json:"index_key"`
		DataKeys []struct{ Wrapped string } `json:"data_keys"`
	}
	if err := json.Unmarshal(keyring, &file); err != nil {
		t.Fatal(err)
	}
	secrets := []string{strings.TrimSpace(string(kek)), file.IndexKey.Wrapped}
	for _, d := range file.DataKeys {
		secrets = append(secrets, d.Wrapped)
	}

	code, text, stderr := runKeysCmd(t, "status", "--data", dir)
	if code != 0 {
		t.Fatalf("status exit %d: %s", code, stderr)
	}
	for _, want := range []string{k.InstanceID(), "opens this keyring", "active", "retired"} {
		if !strings.Contains(text, want) {
			t.Errorf("status output lacks %q:\n%s", want, text)
		}
	}
	code, js, _ := runKeysCmd(t, "status", "--data", dir, "--json")
	var st keys.Status
	if err := json.Unmarshal([]byte(js), &st); code != 0 || err != nil {
		t.Fatalf("status --json: exit %d, %v", code, err)
	}
	if st.Active != 2 || len(st.DataKeys) != 2 || !st.DataKeys[1].Active || st.KEKMatches == nil || !*st.KEKMatches {
		t.Errorf("status --json = %+v", st)
	}
	for _, s := range secrets {
		if len(s) < 16 || strings.Contains(text, s) || strings.Contains(js, s) {
			t.Errorf("status prints key material (or the test found none to look for: %d chars)", len(s))
		}
	}
}

func TestKeysStatusWrongKEKFails(t *testing.T) {
	dir := t.TempDir()
	if _, err := keys.Open(dir, ""); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(other, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runKeysCmd(t, "status", "--data", dir, "--kek-file", other)
	if code != 1 || !strings.Contains(out, "does NOT open") {
		t.Fatalf("status with a wrong key: exit %d, %q", code, out)
	}
}

func TestKeysUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"frobnicate"}, 2, "unknown subcommand"},
		{[]string{"rotate", "--data", t.TempDir()}, 1, "no keyring"},
		{[]string{"status", "--data", t.TempDir(), "extra"}, 2, "unexpected argument"},
		{[]string{"rotate", "--bogus"}, 2, "flag provided but not defined"},
	} {
		code, _, stderr := runKeysCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("keys %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
