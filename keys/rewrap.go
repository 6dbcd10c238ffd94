package keys

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Rewrap re-wraps every key of the data directory dir under a new
// key-encryption key, leaving the keys themselves (so every sealed value,
// index and pseudonym) unchanged. oldKEKFile is the current customer key file,
// or "" for DIR/kek. newKEKFile is the new customer key file (BYOK), or "" to
// generate a new DIR/kek.
//
// The keyring file is replaced atomically: a crash leaves either the old
// keyring, which the old key still opens, or the new one, which the new key
// opens. When the new key is a customer file, DIR/kek is removed once the new
// keyring is in place, so no key that opens the keyring stays beside it.
// Backups of keyring.json taken before still need the old key.
func Rewrap(dir, oldKEKFile, newKEKFile string) error {
	if dir == "" {
		return errors.New("keys: rewrap: no data directory given")
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("keys: rewrap: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()

	kr, err := readKeyring(dir)
	if err != nil {
		return err
	}
	if kr == nil {
		return fmt.Errorf("keys: rewrap: no keyring in %s", dir)
	}
	oldKEK, err := resolveKEK(dir, oldKEKFile, kr)
	if err != nil {
		return err
	}
	var fresh []byte
	if newKEKFile != "" {
		if fresh, err = ReadKEKFile(newKEKFile, "--new-kek-file"); err != nil {
			return err
		}
		if bytes.Equal(fresh, oldKEK) {
			return errors.New("keys: rewrap: the new key-encryption key is the same as the current one")
		}
	} else {
		fresh = newKEK()
	}

	next, err := rewrapped(kr, oldKEK, fresh)
	if err != nil {
		return err
	}
	if newKEKFile == "" {
		next.KEKSource = sourceGenerated
		return installGeneratedKEK(dir, fresh, next)
	}
	next.KEKSource = sourceCustomer
	if err := writeKeyring(dir, next); err != nil {
		return err
	}
	for _, name := range []string{kekName, kekNewName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("keys: rewrap: the keyring now uses %s, but the old key file could not be removed: %w", newKEKFile, err)
		}
	}
	return syncDir(dir)
}

// rewrapped returns a copy of kr with every key unwrapped by oldKEK and
// wrapped again by newKEK under fresh nonces.
func rewrapped(kr *keyringFile, oldKEK, newKEK []byte) (*keyringFile, error) {
	next := *kr
	next.KEKCheck = kekCheck(newKEK, kr.Instance)
	next.Rewrapped = time.Now().UTC()
	rw := func(purpose string, fk fileKey) (fileKey, error) {
		raw, err := unwrapKey(oldKEK, kr.Instance, purpose, fk.ID, fk.Wrapped)
		if err != nil {
			return fk, err
		}
		fk.Wrapped, err = wrapKey(newKEK, kr.Instance, purpose, fk.ID, raw)
		return fk, err
	}
	var err error
	if next.IndexKey, err = rw(purposeIndex, kr.IndexKey); err != nil {
		return nil, err
	}
	next.DataKeys = make([]fileKey, len(kr.DataKeys))
	for i, fk := range kr.DataKeys {
		if next.DataKeys[i], err = rw(purposeData, fk); err != nil {
			return nil, err
		}
	}
	return &next, nil
}
