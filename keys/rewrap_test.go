package keys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sealedSample seals a few values and records the lookups, to check them
// after a rotation.
type sealedSample struct {
	sealed           []byte
	index, pseudonym string
	activeID         uint32
	instance         string
}

func sample(t *testing.T, k *Keyring) sealedSample {
	t.Helper()
	return sealedSample{
		sealed:    k.SealString("jdoe@corp.example", "users.upn"),
		index:     k.Index("user", "jdoe"),
		pseudonym: k.Pseudonym("user", "jdoe"),
		activeID:  k.ActiveKeyID(),
		instance:  k.InstanceID(),
	}
}

func (s sealedSample) check(t *testing.T, k *Keyring) {
	t.Helper()
	if got := unsealT(t, k, s.sealed, "users.upn"); got != "jdoe@corp.example" {
		t.Errorf("unsealed %q after rotation", got)
	}
	if k.Index("user", "jdoe") != s.index || k.Pseudonym("user", "jdoe") != s.pseudonym {
		t.Error("Index or Pseudonym changed")
	}
	if k.ActiveKeyID() != s.activeID || k.InstanceID() != s.instance {
		t.Errorf("active key %d / instance %s changed to %d / %s", s.activeID, s.instance, k.ActiveKeyID(), k.InstanceID())
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRewrapGeneratedToGenerated(t *testing.T) {
	dir := t.TempDir()
	k := openT(t, dir, "")
	s := sample(t, k)
	oldKEK := readFile(t, filepath.Join(dir, kekName))
	oldKeyring := readFile(t, filepath.Join(dir, keyringName))

	if err := Rewrap(dir, "", ""); err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	newKEK := readFile(t, filepath.Join(dir, kekName))
	if bytes.Equal(oldKEK, newKEK) {
		t.Fatal("DIR/kek did not change")
	}
	if fileExists(filepath.Join(dir, kekNewName)) {
		t.Error("DIR/kek.new left behind")
	}
	s.check(t, openT(t, dir, ""))

	// The old key no longer opens the directory; the old keyring still needs it.
	if _, err := Open(dir, writeKEKFile(t, "old", oldKEK)); !errors.Is(err, ErrWrongKEK) {
		t.Fatalf("old KEK after rotation: %v; want ErrWrongKEK", err)
	}
	if bytes.Equal(oldKeyring, readFile(t, filepath.Join(dir, keyringName))) {
		t.Fatal("keyring.json unchanged")
	}
	st, err := ReadStatus(dir, "")
	if err != nil || st.Rewrapped.IsZero() || st.KEKMatches == nil || !*st.KEKMatches {
		t.Fatalf("status after rotation: %+v, %v", st, err)
	}
}

func TestRewrapGeneratedToCustomerAndBack(t *testing.T) {
	dir := t.TempDir()
	s := sample(t, openT(t, dir, ""))
	generated := readFile(t, filepath.Join(dir, kekName))

	byok := writeKEKFile(t, "byok.hex", []byte(hex.EncodeToString(randomBytes(KEKSize))))
	if err := Rewrap(dir, "", byok); err != nil {
		t.Fatalf("Rewrap to customer key: %v", err)
	}
	if fileExists(filepath.Join(dir, kekName)) {
		t.Fatal("DIR/kek kept beside a keyring now wrapped by the customer key")
	}
	s.check(t, openT(t, dir, byok))
	if _, err := Open(dir, ""); err == nil || !strings.Contains(err.Error(), "--kek-file") {
		t.Fatalf("Open without the customer key: %v", err)
	}
	if _, err := Open(dir, writeKEKFile(t, "old", generated)); !errors.Is(err, ErrWrongKEK) {
		t.Fatalf("old generated KEK: %v; want ErrWrongKEK", err)
	}
	st, err := ReadStatus(dir, "")
	if err != nil || st.KEKSource != "customer" || st.KEKMatches != nil {
		t.Fatalf("status: %+v, %v", st, err)
	}

	byok2 := writeKEKFile(t, "byok2", randomBytes(KEKSize))
	if err := Rewrap(dir, byok, byok2); err != nil {
		t.Fatalf("Rewrap customer to customer: %v", err)
	}
	s.check(t, openT(t, dir, byok2))
	if _, err := Open(dir, byok); !errors.Is(err, ErrWrongKEK) {
		t.Fatalf("first customer key after rotation: %v; want ErrWrongKEK", err)
	}

	if err := Rewrap(dir, byok2, ""); err != nil {
		t.Fatalf("Rewrap customer to generated: %v", err)
	}
	s.check(t, openT(t, dir, ""))
	if _, err := Open(dir, byok2); !errors.Is(err, ErrWrongKEK) {
		t.Fatalf("customer key after going back to generated: %v; want ErrWrongKEK", err)
	}
}

func TestRewrapRefuses(t *testing.T) {
	dir := t.TempDir()
	byok := writeKEKFile(t, "byok", randomBytes(KEKSize))
	openT(t, dir, byok)
	before := readFile(t, filepath.Join(dir, keyringName))

	for _, tc := range []struct{ name, old, new, want string }{
		{"wrong old key", writeKEKFile(t, "wrong", randomBytes(KEKSize)), "", "does not match"},
		{"old key not given", "", "", "customer-supplied"},
		{"same key", byok, byok, "same as the current one"},
		{"missing new key file", byok, filepath.Join(t.TempDir(), "nope"), "--new-kek-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Rewrap(dir, tc.old, tc.new)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Rewrap: %v; want an error mentioning %q", err, tc.want)
			}
			if !bytes.Equal(before, readFile(t, filepath.Join(dir, keyringName))) {
				t.Fatal("a refused Rewrap changed keyring.json")
			}
			if fileExists(filepath.Join(dir, kekName)) || fileExists(filepath.Join(dir, kekNewName)) {
				t.Fatal("a refused Rewrap left a generated key behind")
			}
		})
	}
	if err := Rewrap(t.TempDir(), "", ""); err == nil || !strings.Contains(err.Error(), "no keyring") {
		t.Fatalf("Rewrap of an empty directory: %v", err)
	}
}

// TestRewrapInterrupted rebuilds the states a crash can leave during a
// rotation to a generated key and checks each one opens.
func TestRewrapInterrupted(t *testing.T) {
	t.Run("after keyring, before rename", func(t *testing.T) {
		dir := t.TempDir()
		s := sample(t, openT(t, dir, ""))
		old := readFile(t, filepath.Join(dir, kekName))
		if err := Rewrap(dir, "", ""); err != nil {
			t.Fatal(err)
		}
		// Put things back as they were just before kek.new was renamed.
		if err := os.Rename(filepath.Join(dir, kekName), filepath.Join(dir, kekNewName)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, kekName), old, 0o600); err != nil {
			t.Fatal(err)
		}
		s.check(t, openT(t, dir, ""))
		if fileExists(filepath.Join(dir, kekNewName)) {
			t.Error("kek.new not installed")
		}
		if bytes.Equal(readFile(t, filepath.Join(dir, kekName)), old) {
			t.Error("DIR/kek still holds the old key")
		}
	})
	t.Run("before keyring", func(t *testing.T) {
		dir := t.TempDir()
		s := sample(t, openT(t, dir, ""))
		stale := []byte(hex.EncodeToString(randomBytes(KEKSize)))
		if err := os.WriteFile(filepath.Join(dir, kekNewName), stale, 0o600); err != nil {
			t.Fatal(err)
		}
		s.check(t, openT(t, dir, ""))
		if fileExists(filepath.Join(dir, kekNewName)) {
			t.Error("stale kek.new not removed")
		}
	})
	t.Run("first creation, before rename", func(t *testing.T) {
		dir := t.TempDir()
		s := sample(t, openT(t, dir, ""))
		if err := os.Rename(filepath.Join(dir, kekName), filepath.Join(dir, kekNewName)); err != nil {
			t.Fatal(err)
		}
		s.check(t, openT(t, dir, ""))
	})
}
