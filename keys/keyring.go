package keys

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Keyring holds the unwrapped keys of one data directory. It is safe for
// concurrent use; Seal, Unseal, Index and Pseudonym take no lock.
type Keyring struct {
	dir      string
	instance string
	kek      []byte

	set atomic.Pointer[dataKeys] // replaced whole by update

	mu sync.Mutex // serializes update within this process

	macs sync.Pool // of *indexMAC
}

// dataKeys is an immutable snapshot of the data keys.
type dataKeys struct {
	active   uint32
	activeGC cipher.AEAD
	byID     map[uint32]cipher.AEAD
}

// Open returns the keyring of the data directory dir, creating dir (mode
// 0700) and a new keyring on first use. kekFile names a customer-supplied
// key-encryption key (BYOK, see ReadKEKFile); when it is "" the key in
// DIR/kek is used, and generated (mode 0600) with a new keyring.
//
// Open fails with an error wrapping ErrWrongKEK when the key does not match
// the existing keyring, and refuses to create a new keyring beside an
// existing DIR/kek (the keyring was lost, and a new one could not open data
// sealed before).
func Open(dir, kekFile string) (*Keyring, error) {
	if dir == "" {
		return nil, errors.New("keys: open: no data directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys: create data directory: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	kr, err := readKeyring(dir)
	if err != nil {
		return nil, err
	}
	var kek []byte
	if kr == nil {
		kek, kr, err = createKeyring(dir, kekFile)
	} else {
		kek, err = resolveKEK(dir, kekFile, kr)
	}
	if err != nil {
		return nil, err
	}
	return load(dir, kek, kr)
}

// createKeyring writes a new keyring in dir, under the customer's key or a
// newly generated DIR/kek.
func createKeyring(dir, kekFile string) ([]byte, *keyringFile, error) {
	kekPath := filepath.Join(dir, kekName)
	if _, err := os.Stat(kekPath); !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("keys: %s exists but %s does not: restore the keyring from backup "+
			"(a new keyring could not open values sealed before)", kekPath, filepath.Join(dir, keyringName))
	}
	now := time.Now().UTC()
	if kekFile != "" {
		kek, err := ReadKEKFile(kekFile, KEKFlag)
		if err != nil {
			return nil, nil, err
		}
		kr, err := newKeyringFile(kek, sourceCustomer, now)
		if err != nil {
			return nil, nil, err
		}
		return kek, kr, writeKeyring(dir, kr)
	}
	kek := newKEK()
	kr, err := newKeyringFile(kek, sourceGenerated, now)
	if err != nil {
		return nil, nil, err
	}
	return kek, kr, installGeneratedKEK(dir, kek, kr)
}

// load unwraps every key of kr with kek (already checked against kr).
func load(dir string, kek []byte, kr *keyringFile) (*Keyring, error) {
	index, err := unwrapKey(kek, kr.Instance, purposeIndex, kr.IndexKey.ID, kr.IndexKey.Wrapped)
	if err != nil {
		return nil, err
	}
	k := &Keyring{dir: dir, instance: kr.Instance, kek: kek}
	k.macs.New = func() any { return &indexMAC{h: hmac.New(sha256.New, index)} }
	set := &dataKeys{byID: map[uint32]cipher.AEAD{}}
	if err := set.merge(kek, kr); err != nil {
		return nil, err
	}
	k.set.Store(set)
	return k, nil
}

// merge adds to s the data keys of kr it does not hold yet and takes kr's
// active key.
func (s *dataKeys) merge(kek []byte, kr *keyringFile) error {
	for _, fk := range kr.DataKeys {
		if _, ok := s.byID[fk.ID]; ok {
			continue
		}
		raw, err := unwrapKey(kek, kr.Instance, purposeData, fk.ID, fk.Wrapped)
		if err != nil {
			return err
		}
		a, err := newAEAD(raw)
		if err != nil {
			return fmt.Errorf("keys: data key %d: %w", fk.ID, err)
		}
		s.byID[fk.ID] = a
	}
	s.active = kr.Active
	s.activeGC = s.byID[kr.Active]
	return nil
}

// ActiveKeyID returns the id of the data key Seal uses now.
func (k *Keyring) ActiveKeyID() uint32 { return k.set.Load().active }

// KeyIDs returns the ids of every data key this keyring can open, in
// ascending order.
func (k *Keyring) KeyIDs() []uint32 {
	return slices.Sorted(maps.Keys(k.set.Load().byID))
}

// InstanceID returns a random identifier of this keyring, stable for its life
// (across KEK rotations and new data keys) and not secret. A store can record
// it to detect being opened with another instance's keyring.
func (k *Keyring) InstanceID() string { return k.instance }
