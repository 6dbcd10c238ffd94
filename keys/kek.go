package keys

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KEKSize is the length in bytes of a key-encryption key.
const KEKSize = 32

// ErrWrongKEK is returned when the key-encryption key given does not match
// the one the keyring was wrapped with. No key is unwrapped in that case.
var ErrWrongKEK = errors.New("keys: the key-encryption key does not match this data directory's keyring")

// File names inside the data directory.
const (
	kekName     = "kek"
	kekNewName  = "kek.new" // a generated KEK not yet installed (see installGeneratedKEK)
	keyringName = "keyring.json"
	lockName    = "keyring.lock"
)

// KEKFlag names the command-line flag and environment variable that supply a
// customer KEK; errors about a missing or malformed file name them.
const KEKFlag = "--kek-file (WEBUSAGE_KEK_FILE)"

// ReadKEKFile reads a customer-supplied key-encryption key. The file may hold
// exactly 32 raw bytes, 64 hexadecimal characters, or the base64 (standard or
// URL alphabet, padded or not) of 32 bytes; surrounding white space is ignored
// in the text forms. A 32-byte file that is entirely printable text is refused
// as a likely passphrase rather than a random key. flagName names the flag in
// error messages.
func ReadKEKFile(path, flagName string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keys: key-encryption key file %s given by %s does not exist", path, flagName)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read key-encryption key file given by %s: %w", flagName, err)
	}
	kek, err := ParseKEK(data)
	if err != nil {
		return nil, fmt.Errorf("keys: key-encryption key file %s given by %s: %w", path, flagName, err)
	}
	return kek, nil
}

// ParseKEK decodes a key-encryption key in one of the forms ReadKEKFile accepts.
func ParseKEK(data []byte) ([]byte, error) {
	if len(data) == KEKSize {
		if isText(data) {
			return nil, errors.New("32 bytes of printable text look like a passphrase, not a random key; " +
				"use 32 random bytes, 64 hex characters or base64")
		}
		return bytes.Clone(data), nil
	}
	text := string(bytes.TrimSpace(data))
	if len(text) == 2*KEKSize {
		if k, err := hex.DecodeString(text); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(text); err == nil && len(k) == KEKSize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("want 32 raw bytes, 64 hex characters or base64 of 32 bytes (got %d bytes)", len(data))
}

// isText reports whether b is entirely printable ASCII or white space.
func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}

// newKEK returns a fresh random key-encryption key.
func newKEK() []byte {
	k := make([]byte, KEKSize)
	rand.Read(k)
	return k
}

// kekCheck is a key check value: it tells whether a KEK is the one a keyring
// was wrapped with, without unwrapping anything. It is bound to the keyring
// instance, so one KEK shared by two instances gives unrelated values.
func kekCheck(kek []byte, instance string) []byte {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte("webusage/keyring/kek-check/v1|" + instance))
	return m.Sum(nil)
}

// kekMatches reports whether kek is the key-encryption key of kr.
func kekMatches(kek []byte, kr *keyringFile) bool {
	return hmac.Equal(kekCheck(kek, kr.Instance), kr.KEKCheck)
}

// resolveKEK returns the key-encryption key that opens kr. With a customer
// file it is that file's key. Without one it is DIR/kek, finishing an
// interrupted installation of DIR/kek.new (see installGeneratedKEK) when that
// is the key that matches. The caller holds the directory lock.
func resolveKEK(dir, kekFile string, kr *keyringFile) ([]byte, error) {
	if kekFile != "" {
		kek, err := ReadKEKFile(kekFile, KEKFlag)
		if err != nil {
			return nil, err
		}
		if !kekMatches(kek, kr) {
			return nil, fmt.Errorf("%w (key read from %s)", ErrWrongKEK, kekFile)
		}
		return kek, nil
	}
	path := filepath.Join(dir, kekName)
	newPath := filepath.Join(dir, kekNewName)
	kek, err := readGeneratedKEK(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err == nil && kekMatches(kek, kr) {
		_ = os.Remove(newPath) // left over from a rotation that stopped before its keyring was written
		return kek, nil
	}
	if pending, perr := readGeneratedKEK(newPath); perr == nil && kekMatches(pending, kr) {
		if err := os.Rename(newPath, path); err != nil {
			return nil, fmt.Errorf("keys: install %s: %w", path, err)
		}
		if err := syncDir(dir); err != nil {
			return nil, err
		}
		return pending, nil
	}
	switch {
	case err == nil:
		return nil, fmt.Errorf("%w (key read from %s)", ErrWrongKEK, path)
	case kr.KEKSource == sourceCustomer:
		return nil, fmt.Errorf("keys: the keyring in %s is wrapped by a customer-supplied key-encryption key: pass %s", dir, KEKFlag)
	default:
		return nil, fmt.Errorf("keys: %s is missing but %s exists: restore the key file from backup, or pass %s",
			path, filepath.Join(dir, keyringName), KEKFlag)
	}
}

// readGeneratedKEK reads a KEK file this package wrote (64 hex characters).
func readGeneratedKEK(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	kek, err := ParseKEK(data)
	if err != nil {
		return nil, fmt.Errorf("keys: %s: %w", path, err)
	}
	return kek, nil
}

// installGeneratedKEK makes kek the data directory's generated KEK while
// writing kr, which must already be wrapped under kek, so that a crash at any
// point leaves a directory that opens: kek is first written to DIR/kek.new,
// then the keyring is replaced, then DIR/kek.new is renamed to DIR/kek.
// resolveKEK completes the last step if it did not happen.
func installGeneratedKEK(dir string, kek []byte, kr *keyringFile) error {
	newPath := filepath.Join(dir, kekNewName)
	if err := writeFileAtomic(newPath, []byte(hex.EncodeToString(kek)+"\n")); err != nil {
		return err
	}
	if err := writeKeyring(dir, kr); err != nil {
		return err
	}
	if err := os.Rename(newPath, filepath.Join(dir, kekName)); err != nil {
		return fmt.Errorf("keys: install %s: %w", filepath.Join(dir, kekName), err)
	}
	return syncDir(dir)
}
