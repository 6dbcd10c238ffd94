package keys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Status describes a keyring without any key material: what an operator may
// print or log.
type Status struct {
	Dir       string `json:"dir"`
	Instance  string `json:"instance"`
	KEKSource string `json:"kek_source"` // "generated" (DIR/kek) or "customer" (BYOK file)
	KEKFile   string `json:"kek_file,omitempty"`
	// KEKMatches is set when a key was available to check: the given customer
	// file, or DIR/kek.
	KEKMatches *bool      `json:"kek_matches,omitempty"`
	Created    time.Time  `json:"created"`
	Rewrapped  time.Time  `json:"rewrapped,omitzero"`
	IndexKey   time.Time  `json:"index_key_created"`
	Active     uint32     `json:"active_data_key"`
	DataKeys   []KeyState `json:"data_keys"`
}

// KeyState is one data key's metadata.
type KeyState struct {
	ID      uint32    `json:"id"`
	Created time.Time `json:"created"`
	Active  bool      `json:"active"`
}

// ReadStatus reads the keyring metadata of dir. It needs no key; when
// kekFile is given, or DIR/kek exists, it also tells whether that key opens
// the keyring. It changes nothing on disk.
func ReadStatus(dir, kekFile string) (Status, error) {
	kr, err := readKeyring(dir)
	if err != nil {
		return Status{}, err
	}
	if kr == nil {
		return Status{}, fmt.Errorf("keys: status: no keyring in %s", dir)
	}
	st := Status{
		Dir: dir, Instance: kr.Instance, KEKSource: kr.KEKSource,
		Created: kr.Created, Rewrapped: kr.Rewrapped, IndexKey: kr.IndexKey.Created, Active: kr.Active,
	}
	for _, fk := range kr.DataKeys {
		st.DataKeys = append(st.DataKeys, KeyState{ID: fk.ID, Created: fk.Created, Active: fk.ID == kr.Active})
	}
	var kek []byte
	if kekFile != "" {
		if kek, err = ReadKEKFile(kekFile, KEKFlag); err != nil {
			return st, err
		}
		st.KEKFile = kekFile
	} else if path := filepath.Join(dir, kekName); fileExists(path) {
		if kek, err = readGeneratedKEK(path); err != nil {
			return st, err
		}
		st.KEKFile = path
	}
	if kek != nil {
		ok := kekMatches(kek, kr)
		st.KEKMatches = &ok
	}
	return st, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
