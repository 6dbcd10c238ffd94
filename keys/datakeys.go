package keys

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"time"
)

// AddDataKey creates a new random data key, persists it wrapped under the KEK
// and makes it the active key: later Seal calls use it, while values sealed
// under older keys still open. Data keys another process added to the same
// directory since Open are picked up on the way. It fails, changing nothing,
// if the keyring file was re-wrapped under another KEK since Open.
func (k *Keyring) AddDataKey() (uint32, error) {
	var id uint32
	err := k.update("add data key", func(kr *keyringFile) error {
		for _, fk := range kr.DataKeys {
			id = max(id, fk.ID)
		}
		if id == math.MaxUint32 {
			return errors.New("no key id left")
		}
		id++
		wrapped, err := wrapKey(k.kek, kr.Instance, purposeData, id, randomKey())
		if err != nil {
			return err
		}
		kr.DataKeys = append(kr.DataKeys, fileKey{ID: id, Created: time.Now().UTC(), Wrapped: wrapped})
		kr.Active = id
		return nil
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// RemoveDataKey deletes a retired data key from the keyring file and from
// this keyring, for after every value sealed under it has been re-sealed
// under the active key (KeyIDOf tells which key a value uses). Values still
// sealed under it can no longer be opened, except with a backup of the
// keyring taken before. The active key cannot be removed.
func (k *Keyring) RemoveDataKey(id uint32) error {
	return k.update(fmt.Sprintf("remove data key %d", id), func(kr *keyringFile) error {
		if id == kr.Active {
			return errors.New("it is the active data key")
		}
		i := slices.IndexFunc(kr.DataKeys, func(fk fileKey) bool { return fk.ID == id })
		if i < 0 {
			return errors.New("no such data key")
		}
		kr.DataKeys = slices.Delete(kr.DataKeys, i, i+1)
		return nil
	})
}

// update applies change to the keyring file under the directory lock, writes
// it and makes this keyring hold exactly the file's data keys. Nothing
// changes if change fails or the file is no longer this keyring under this
// keyring's KEK.
func (k *Keyring) update(op string, change func(kr *keyringFile) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	unlock, err := lockDir(k.dir)
	if err != nil {
		return err
	}
	defer unlock()

	kr, err := readKeyring(k.dir)
	if err != nil {
		return err
	}
	if kr == nil {
		return fmt.Errorf("keys: %s: %s has disappeared", op, filepath.Join(k.dir, keyringName))
	}
	if kr.Instance != k.instance || !kekMatches(k.kek, kr) {
		return fmt.Errorf("keys: %s: the keyring file was replaced or re-wrapped since it was opened; reopen it", op)
	}
	if err := change(kr); err != nil {
		return fmt.Errorf("keys: %s: %w", op, err)
	}
	next := &dataKeys{byID: map[uint32]cipher.AEAD{}}
	for _, fk := range kr.DataKeys {
		if a, ok := k.set.Load().byID[fk.ID]; ok {
			next.byID[fk.ID] = a
		}
	}
	if err := next.merge(k.kek, kr); err != nil {
		return err
	}
	if err := writeKeyring(k.dir, kr); err != nil {
		return err
	}
	k.set.Store(next)
	return nil
}
