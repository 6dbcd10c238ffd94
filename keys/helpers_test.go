package keys

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// openT opens a keyring or fails the test.
func openT(t testing.TB, dir, kekFile string) *Keyring {
	t.Helper()
	k, err := Open(dir, kekFile)
	if err != nil {
		t.Fatalf("Open(%q, %q): %v", dir, kekFile, err)
	}
	return k
}

// writeKEKFile writes content to a fresh file outside any data directory and
// returns its path.
func writeKEKFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// randomBytes returns n random bytes that are not all printable text.
func randomBytes(n int) []byte {
	for {
		b := make([]byte, n)
		rand.Read(b)
		if !isText(b) {
			return b
		}
	}
}

func unsealT(t testing.TB, k *Keyring, sealed []byte, aad string) string {
	t.Helper()
	s, err := k.UnsealString(sealed, aad)
	if err != nil {
		t.Fatalf("UnsealString(%q): %v", aad, err)
	}
	return s
}
