//go:build unix

package keys

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive advisory lock on DIR/keyring.lock, so that two
// processes (a running server and `webusage keys rotate`, say) never
// read-modify-write the keyring at the same time. It blocks until the lock is
// free and returns the function that releases it.
func lockDir(dir string) (func(), error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keys: lock keyring: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("keys: lock keyring: %w", err)
	}
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}
