package keys

import (
	"bytes"
	"testing"
)

// FuzzUnseal checks that Unseal never panics and accepts no input but the
// exact sealed value with its aad.
func FuzzUnseal(f *testing.F) {
	k := openT(f, f.TempDir(), "")
	good := k.SealString("jdoe", "users.name")
	f.Add(good, "users.name")
	f.Add(good[:SealOverhead], "users.name")
	f.Add([]byte{sealVersion, 0, 0, 0, 1}, "")
	f.Add([]byte{}, "users.name")
	f.Fuzz(func(t *testing.T, b []byte, aad string) {
		pt, err := k.Unseal(b, aad)
		if err != nil {
			if pt != nil {
				t.Fatal("bytes returned with an error")
			}
			return
		}
		if !bytes.Equal(b, good) || aad != "users.name" || string(pt) != "jdoe" {
			t.Fatalf("Unseal accepted a forged value %x (aad %q): %q", b, aad, pt)
		}
	})
}
