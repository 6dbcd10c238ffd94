package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// keySize is the length of every data and index key.
const keySize = 32

// formatVersion is the keyring file format this package writes and reads.
const formatVersion = 1

// Values of keyringFile.KEKSource.
const (
	sourceGenerated = "generated" // DIR/kek
	sourceCustomer  = "customer"  // a file given by --kek-file (BYOK)
)

// Purposes bound into a wrapped key's additional data.
const (
	purposeData  = "data"
	purposeIndex = "index"
)

// keyringFile is DIR/keyring.json. Only wrapped keys are stored; the rest is
// metadata that may be shown to operators.
type keyringFile struct {
	Format    int       `json:"format"`
	Instance  string    `json:"instance"`   // random id of this keyring, stable across rotations
	KEKSource string    `json:"kek_source"` // sourceGenerated or sourceCustomer
	KEKCheck  []byte    `json:"kek_check"`  // kekCheck of the current KEK
	Created   time.Time `json:"created"`
	Rewrapped time.Time `json:"rewrapped,omitzero"` // last Rewrap
	Active    uint32    `json:"active_data_key"`
	IndexKey  fileKey   `json:"index_key"`
	DataKeys  []fileKey `json:"data_keys"`
}

// fileKey is one wrapped key: nonce | ciphertext | tag under the KEK.
type fileKey struct {
	ID      uint32    `json:"id"`
	Created time.Time `json:"created"`
	Wrapped []byte    `json:"wrapped"`
}

// wrapAAD binds a wrapped key to its keyring, purpose and id, so a wrapped key
// cannot be moved to another slot or another keyring under the same KEK.
func wrapAAD(instance, purpose string, id uint32) []byte {
	return []byte("webusage/keyring/v1|" + instance + "|" + purpose + "|" + strconv.FormatUint(uint64(id), 10))
}

// newAEAD returns AES-256-GCM with random nonces for key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

func wrapKey(kek []byte, instance, purpose string, id uint32, key []byte) ([]byte, error) {
	a, err := newAEAD(kek)
	if err != nil {
		return nil, fmt.Errorf("keys: wrap key: %w", err)
	}
	return a.Seal(nil, nil, key, wrapAAD(instance, purpose, id)), nil
}

func unwrapKey(kek []byte, instance, purpose string, id uint32, wrapped []byte) ([]byte, error) {
	a, err := newAEAD(kek)
	if err != nil {
		return nil, fmt.Errorf("keys: unwrap key: %w", err)
	}
	key, err := a.Open(nil, nil, wrapped, wrapAAD(instance, purpose, id))
	if err != nil || len(key) != keySize {
		return nil, fmt.Errorf("keys: keyring is corrupt: %s key %d cannot be unwrapped", purpose, id)
	}
	return key, nil
}

// newKeyringFile returns a fresh keyring with one data key and the index key,
// wrapped under kek.
func newKeyringFile(kek []byte, source string, now time.Time) (*keyringFile, error) {
	id := make([]byte, 16)
	rand.Read(id)
	kr := &keyringFile{
		Format:    formatVersion,
		Instance:  hex.EncodeToString(id),
		KEKSource: source,
		Created:   now,
		Active:    1,
	}
	kr.KEKCheck = kekCheck(kek, kr.Instance)
	index, err := wrapKey(kek, kr.Instance, purposeIndex, 0, randomKey())
	if err != nil {
		return nil, err
	}
	kr.IndexKey = fileKey{ID: 0, Created: now, Wrapped: index}
	data, err := wrapKey(kek, kr.Instance, purposeData, 1, randomKey())
	if err != nil {
		return nil, err
	}
	kr.DataKeys = []fileKey{{ID: 1, Created: now, Wrapped: data}}
	return kr, nil
}

func randomKey() []byte {
	k := make([]byte, keySize)
	rand.Read(k)
	return k
}

// readKeyring reads and checks DIR/keyring.json; it returns nil, nil when the
// file does not exist.
func readKeyring(dir string) (*keyringFile, error) {
	path := filepath.Join(dir, keyringName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read keyring: %w", err)
	}
	var kr keyringFile
	if err := json.Unmarshal(data, &kr); err != nil {
		return nil, fmt.Errorf("keys: keyring %s is corrupt: %w", path, err)
	}
	if err := kr.validate(); err != nil {
		return nil, fmt.Errorf("keys: keyring %s is corrupt: %w", path, err)
	}
	return &kr, nil
}

// validate checks the structure of the file (not the keys themselves).
func (kr *keyringFile) validate() error {
	if kr.Format != formatVersion {
		return fmt.Errorf("unsupported format %d (this build reads %d)", kr.Format, formatVersion)
	}
	if kr.Instance == "" || len(kr.KEKCheck) == 0 || len(kr.IndexKey.Wrapped) == 0 {
		return errors.New("missing instance, kek_check or index_key")
	}
	if kr.KEKSource != sourceGenerated && kr.KEKSource != sourceCustomer {
		return fmt.Errorf("unknown kek_source %q", kr.KEKSource)
	}
	seen := map[uint32]bool{}
	for _, k := range kr.DataKeys {
		if k.ID == 0 || seen[k.ID] || len(k.Wrapped) == 0 {
			return fmt.Errorf("bad or duplicate data key id %d", k.ID)
		}
		seen[k.ID] = true
	}
	if !seen[kr.Active] {
		return fmt.Errorf("active data key %d is not in the keyring", kr.Active)
	}
	return nil
}

// writeKeyring replaces DIR/keyring.json atomically.
func writeKeyring(dir string, kr *keyringFile) error {
	data, err := json.MarshalIndent(kr, "", "  ")
	if err != nil {
		return fmt.Errorf("keys: encode keyring: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, keyringName), append(data, '\n'))
}

// writeFileAtomic writes data to a temporary file with mode 0600 in the same
// directory, syncs it and renames it over path, then syncs the directory, so
// readers see either the old or the new content, never a mix.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // CreateTemp uses mode 0600
	if err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keys: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keys: sync %s: %w", dir, err)
	}
	return nil
}
