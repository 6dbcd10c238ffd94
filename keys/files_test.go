package keys

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestFileAndDirectoryPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	k := openT(t, dir, "")
	check := func(when string) {
		t.Helper()
		if m := mode(t, dir); m != 0o700 {
			t.Errorf("%s: data dir mode %o, want 700", when, m)
		}
		for _, name := range []string{kekName, keyringName, lockName} {
			if m := mode(t, filepath.Join(dir, name)); m != 0o600 {
				t.Errorf("%s: %s mode %o, want 600", when, name, m)
			}
		}
	}
	check("created")
	if _, err := k.AddDataKey(); err != nil {
		t.Fatal(err)
	}
	check("after AddDataKey")
	if err := Rewrap(dir, "", ""); err != nil {
		t.Fatal(err)
	}
	check("after Rewrap")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Errorf("data dir holds %d entries, want kek, keyring.json and keyring.lock only", len(entries))
	}
}

// TestKeyringFileHoldsNoKeyInClear unwraps every key and looks for it, in
// every encoding, in keyring.json.
func TestKeyringFileHoldsNoKeyInClear(t *testing.T) {
	dir := t.TempDir()
	k := openT(t, dir, "")
	if _, err := k.AddDataKey(); err != nil {
		t.Fatal(err)
	}
	kr, err := readKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw := [][]byte{k.kek}
	index, err := unwrapKey(k.kek, kr.Instance, purposeIndex, 0, kr.IndexKey.Wrapped)
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, index)
	for _, fk := range kr.DataKeys {
		key, err := unwrapKey(k.kek, kr.Instance, purposeData, fk.ID, fk.Wrapped)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, key)
	}
	file, err := os.ReadFile(filepath.Join(dir, keyringName))
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range raw {
		for _, enc := range [][]byte{key, []byte(hex.EncodeToString(key)), []byte(base64.StdEncoding.EncodeToString(key))} {
			if bytes.Contains(file, enc) {
				t.Errorf("keyring.json contains key %d in clear", i)
			}
		}
	}
}
