package keys

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealRoundTrip(t *testing.T) {
	k := openT(t, filepath.Join(t.TempDir(), "data"), "")
	for _, tc := range []struct{ name, value string }{
		{"empty", ""},
		{"ascii", "jdoe"},
		{"upn", "jdoe@corp.example"},
		{"unicode", "Zoë Ångström-Łukasz 山田"},
		{"ip", "2001:db8::1"},
		{"long", strings.Repeat("x", 100_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed := k.SealString(tc.value, "users.name")
			if len(sealed) != len(tc.value)+SealOverhead {
				t.Errorf("len(sealed) = %d, want %d", len(sealed), len(tc.value)+SealOverhead)
			}
			if tc.value != "" && bytes.Contains(sealed, []byte(tc.value)) {
				t.Errorf("sealed value contains the plaintext")
			}
			if got := unsealT(t, k, sealed, "users.name"); got != tc.value {
				t.Errorf("round trip = %q, want %q", got, tc.value)
			}
			pt, err := k.Unseal(k.Seal([]byte(tc.value), "x"), "x")
			if err != nil || pt == nil || string(pt) != tc.value {
				t.Errorf("Unseal = %q, %v (nil: %v)", pt, err, pt == nil)
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	k := openT(t, t.TempDir(), "")
	a, b := k.SealString("jdoe", "users.name"), k.SealString("jdoe", "users.name")
	if bytes.Equal(a, b) {
		t.Fatal("sealing the same value twice gave the same output")
	}
	if !bytes.Equal(a[:headerLen], b[:headerLen]) {
		t.Fatalf("headers differ: %x vs %x", a[:headerLen], b[:headerLen])
	}
}

func TestUnsealDetectsEveryBitFlip(t *testing.T) {
	k := openT(t, t.TempDir(), "")
	sealed := k.SealString("LAP-042", "devices.name")
	for i := range len(sealed) * 8 {
		bad := bytes.Clone(sealed)
		bad[i/8] ^= 1 << (i % 8)
		pt, err := k.Unseal(bad, "devices.name")
		if err == nil {
			t.Fatalf("bit %d flipped: Unseal succeeded with %q", i, pt)
		}
		if pt != nil {
			t.Fatalf("bit %d flipped: Unseal returned bytes with its error", i)
		}
		// The version byte makes it malformed, the key id unknown, the rest unauthentic.
		var want error
		switch {
		case i < 8:
			want = ErrMalformed
		case i < headerLen*8:
			want = ErrUnknownKey
		default:
			want = ErrAuth
		}
		if !errors.Is(err, want) {
			t.Fatalf("bit %d flipped: error %v, want %v", i, err, want)
		}
	}
}

func TestUnsealRejectsOtherColumn(t *testing.T) {
	k := openT(t, t.TempDir(), "")
	sealed := k.SealString("jdoe", "users.name")
	for _, aad := range []string{"users.upn", "", "users.nam", "users.name ", "USERS.NAME"} {
		if _, err := k.UnsealString(sealed, aad); !errors.Is(err, ErrAuth) {
			t.Errorf("aad %q: error %v, want ErrAuth", aad, err)
		}
	}
}

func TestUnsealRejectsTruncatedAndForeign(t *testing.T) {
	k := openT(t, t.TempDir(), "")
	sealed := k.SealString("jdoe", "users.name")
	for _, n := range []int{0, 1, headerLen, SealOverhead - 1} {
		if _, err := k.Unseal(sealed[:n], "users.name"); !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated to %d: error %v, want ErrMalformed", n, err)
		}
	}
	if _, err := k.Unseal(sealed[:len(sealed)-1], "users.name"); !errors.Is(err, ErrAuth) {
		t.Errorf("one byte short: error %v, want ErrAuth", err)
	}
	// Another instance has a data key with the same id 1 but another key.
	other := openT(t, t.TempDir(), "")
	if _, err := other.Unseal(sealed, "users.name"); !errors.Is(err, ErrAuth) {
		t.Errorf("other instance: error %v, want ErrAuth", err)
	}
}

func TestKeyIDOf(t *testing.T) {
	k := openT(t, t.TempDir(), "")
	if id, ok := KeyIDOf(k.SealString("a", "c")); !ok || id != 1 || id != k.ActiveKeyID() {
		t.Errorf("KeyIDOf = %d, %v; want 1, true", id, ok)
	}
	for _, b := range [][]byte{nil, []byte("jdoe"), make([]byte, SealOverhead)} {
		if id, ok := KeyIDOf(b); ok {
			t.Errorf("KeyIDOf(%x) = %d, true; want false", b, id)
		}
	}
}
