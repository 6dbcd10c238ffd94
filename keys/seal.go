package keys

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Layout of a sealed value: version | key id (big-endian) | nonce | ciphertext | tag.
const (
	sealVersion = 1
	headerLen   = 1 + 4
	nonceLen    = 12
	tagLen      = 16
	// SealOverhead is how many bytes Seal adds to a plaintext.
	SealOverhead = headerLen + nonceLen + tagLen
)

// Errors from Unseal; each is wrapped with detail, test with errors.Is.
var (
	// ErrMalformed: the input is too short or has an unknown version byte.
	ErrMalformed = errors.New("keys: not a sealed value")
	// ErrUnknownKey: the value names a data key this keyring does not hold.
	ErrUnknownKey = errors.New("keys: sealed under an unknown data key")
	// ErrAuth: the value was altered, belongs to another column (aad) or to
	// another keyring.
	ErrAuth = errors.New("keys: sealed value failed authentication (tampered, or sealed for another column or instance)")
)

// Seal encrypts plaintext with the active data key (AES-256-GCM, random
// nonce). aad names the value's place, such as "users.name": Unseal succeeds
// only with the same aad, so a value cannot be moved to another column. The
// output is version | key id | nonce | ciphertext | tag, len(plaintext) +
// SealOverhead bytes; sealing the same plaintext twice gives different
// outputs. A data key should seal fewer than 2^32 values; AddDataKey starts a
// new one.
func (k *Keyring) Seal(plaintext []byte, aad string) []byte {
	s := k.set.Load()
	out := make([]byte, headerLen, len(plaintext)+SealOverhead)
	out[0] = sealVersion
	binary.BigEndian.PutUint32(out[1:headerLen], s.active)
	return s.activeGC.Seal(out, nil, plaintext, additionalData(out[:headerLen], aad))
}

// additionalData binds the header (version and key id) and the caller's aad.
func additionalData(header []byte, aad string) []byte {
	ad := make([]byte, 0, headerLen+len(aad))
	return append(append(ad, header...), aad...)
}

// SealString is Seal for a string.
func (k *Keyring) SealString(s, aad string) []byte { return k.Seal([]byte(s), aad) }

// Unseal decrypts a value made by Seal with the same aad, under any data key
// of this keyring. It never returns unauthenticated bytes: any change to the
// value, a different aad or a value from another instance gives an error
// wrapping ErrAuth, ErrUnknownKey or ErrMalformed.
func (k *Keyring) Unseal(sealed []byte, aad string) ([]byte, error) {
	id, ok := KeyIDOf(sealed)
	if !ok {
		return nil, fmt.Errorf("%w (%d bytes)", ErrMalformed, len(sealed))
	}
	a, ok := k.set.Load().byID[id]
	if !ok {
		return nil, fmt.Errorf("%w %d", ErrUnknownKey, id)
	}
	pt, err := a.Open(nil, nil, sealed[headerLen:], additionalData(sealed[:headerLen], aad))
	if err != nil {
		return nil, fmt.Errorf("%w (aad %q)", ErrAuth, aad)
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// UnsealString is Unseal returning a string.
func (k *Keyring) UnsealString(b []byte, aad string) (string, error) {
	pt, err := k.Unseal(b, aad)
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// KeyIDOf returns the id of the data key a sealed value was made with, and
// false if sealed is not shaped like a sealed value. It does not authenticate
// the value; it lets a re-encryption job skip values already under the active
// key.
func KeyIDOf(sealed []byte) (uint32, bool) {
	if len(sealed) < SealOverhead || sealed[0] != sealVersion {
		return 0, false
	}
	return binary.BigEndian.Uint32(sealed[1:headerLen]), true
}
