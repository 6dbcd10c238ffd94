package keys

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKEKFormats(t *testing.T) {
	key := randomBytes(KEKSize)
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"raw", key},
		{"hex", []byte(hex.EncodeToString(key))},
		{"hex upper with newline", []byte(strings.ToUpper(hex.EncodeToString(key)) + "\n")},
		{"base64", []byte(base64.StdEncoding.EncodeToString(key))},
		{"base64 with CRLF", []byte(base64.StdEncoding.EncodeToString(key) + "\r\n")},
		{"base64 unpadded", []byte(base64.RawStdEncoding.EncodeToString(key))},
		{"base64url", []byte(base64.URLEncoding.EncodeToString(key))},
		{"base64url unpadded", []byte(base64.RawURLEncoding.EncodeToString(key) + "\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKEK(tc.content)
			if err != nil {
				t.Fatalf("ParseKEK: %v", err)
			}
			if !bytes.Equal(got, key) {
				t.Fatalf("ParseKEK = %x, want %x", got, key)
			}
		})
	}
}

func TestParseKEKRejects(t *testing.T) {
	key := randomBytes(KEKSize)
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"31 raw bytes", key[:31]},
		{"33 raw bytes", append(bytes.Clone(key), 0xff)},
		{"32-char passphrase", []byte("correct horse battery staple!!!!")},
		{"short hex", []byte(hex.EncodeToString(key[:16]))},
		{"64 non-hex chars", []byte(strings.Repeat("zz", 32))},
		{"base64 of 16 bytes", []byte(base64.StdEncoding.EncodeToString(key[:16]))},
		{"base64 of 48 bytes", []byte(base64.StdEncoding.EncodeToString(append(bytes.Clone(key), key[:16]...)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := ParseKEK(tc.content); err == nil {
				t.Fatalf("ParseKEK accepted %q as %x", tc.content, got)
			}
		})
	}
}

// TestBYOKFileFormatsOpenTheSameKeyring writes one key in every accepted
// format and checks each file opens the keyring made with the first.
func TestBYOKFileFormatsOpenTheSameKeyring(t *testing.T) {
	key := randomBytes(KEKSize)
	dir := t.TempDir()
	k := openT(t, dir, writeKEKFile(t, "kek.bin", key))
	sealed := k.SealString("jdoe", "users.name")
	if fileExists(filepath.Join(dir, kekName)) {
		t.Fatal("a BYOK keyring wrote DIR/kek")
	}
	for name, content := range map[string][]byte{
		"kek.hex": []byte(hex.EncodeToString(key) + "\n"),
		"kek.b64": []byte(base64.StdEncoding.EncodeToString(key)),
		"kek.url": []byte(base64.RawURLEncoding.EncodeToString(key)),
	} {
		k2 := openT(t, dir, writeKEKFile(t, name, content))
		if got := unsealT(t, k2, sealed, "users.name"); got != "jdoe" {
			t.Errorf("%s: unsealed %q", name, got)
		}
	}
}

func TestMissingBYOKFileNamesTheFlag(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-kek")
	_, err := Open(t.TempDir(), missing)
	if err == nil {
		t.Fatal("Open with a missing KEK file succeeded")
	}
	for _, want := range []string{"--kek-file", "WEBUSAGE_KEK_FILE", missing, "does not exist"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestMalformedBYOKFile(t *testing.T) {
	path := writeKEKFile(t, "kek", []byte("hunter2\n"))
	_, err := Open(t.TempDir(), path)
	if err == nil || !strings.Contains(err.Error(), "--kek-file") || !strings.Contains(err.Error(), "64 hex") {
		t.Fatalf("Open with a malformed KEK file: %v", err)
	}
}

func TestWrongKEKIsRefusedClearly(t *testing.T) {
	const msg = "keys: the key-encryption key does not match this data directory's keyring"
	t.Run("customer key", func(t *testing.T) {
		dir := t.TempDir()
		openT(t, dir, writeKEKFile(t, "right", randomBytes(KEKSize)))
		k, err := Open(dir, writeKEKFile(t, "wrong", randomBytes(KEKSize)))
		if !errors.Is(err, ErrWrongKEK) || !strings.Contains(err.Error(), msg) || k != nil {
			t.Fatalf("Open with the wrong key = %v, %v; want ErrWrongKEK", k, err)
		}
	})
	t.Run("generated key replaced", func(t *testing.T) {
		dir := t.TempDir()
		openT(t, dir, "")
		if err := os.WriteFile(filepath.Join(dir, kekName), []byte(hex.EncodeToString(randomBytes(KEKSize))), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir, ""); !errors.Is(err, ErrWrongKEK) {
			t.Fatalf("Open with a replaced DIR/kek: %v; want ErrWrongKEK", err)
		}
	})
	t.Run("generated keyring opened with a customer key", func(t *testing.T) {
		dir := t.TempDir()
		openT(t, dir, "")
		if _, err := Open(dir, writeKEKFile(t, "byok", randomBytes(KEKSize))); !errors.Is(err, ErrWrongKEK) {
			t.Fatalf("error %v; want ErrWrongKEK", err)
		}
	})
}

func TestCustomerKeyringWithoutKeyFileSaysWhatToPass(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir, writeKEKFile(t, "byok", randomBytes(KEKSize)))
	_, err := Open(dir, "")
	if err == nil || !strings.Contains(err.Error(), "customer-supplied") || !strings.Contains(err.Error(), "--kek-file") {
		t.Fatalf("Open without the customer key: %v", err)
	}
}

func TestLostKEKFile(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir, "")
	if err := os.Remove(filepath.Join(dir, kekName)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, "")
	if err == nil || !strings.Contains(err.Error(), "is missing") || errors.Is(err, ErrWrongKEK) {
		t.Fatalf("Open without DIR/kek: %v", err)
	}
}

func TestLostKeyringIsNotSilentlyReplaced(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir, "")
	if err := os.Remove(filepath.Join(dir, keyringName)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, "")
	if err == nil || !strings.Contains(err.Error(), "restore the keyring") {
		t.Fatalf("Open without keyring.json beside DIR/kek: %v", err)
	}
	if fileExists(filepath.Join(dir, keyringName)) {
		t.Fatal("a new keyring was written")
	}
}

func TestCorruptKeyring(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir, "")
	path := filepath.Join(dir, keyringName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, content, want string }{
		{"not json", "{", "corrupt"},
		{"future format", strings.Replace(string(data), `"format": 1`, `"format": 99`, 1), "unsupported format 99"},
		{"no active key", strings.Replace(string(data), `"active_data_key": 1`, `"active_data_key": 7`, 1), "active data key 7"},
		{"key moved to another id", strings.NewReplacer(`"id": 1`, `"id": 2`, `"active_data_key": 1`, `"active_data_key": 2`).Replace(string(data)),
			"data key 2 cannot be unwrapped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir, "")
			if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v; want a corrupt-keyring error mentioning %q", err, tc.want)
			}
		})
	}
}
