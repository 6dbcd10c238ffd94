//go:build !unix

package keys

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir creates DIR/keyring.lock but takes no lock on systems without
// flock: there, run `webusage keys rotate` only while the server is stopped.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keys: lock keyring: %w", err)
	}
	return func() { f.Close() }, nil
}
