package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// UsernameMode says how the instance stores user names.
type UsernameMode string

// The username modes (settings key "username").
const (
	UsernameClear  UsernameMode = "clear"  // stored as reported (default)
	UsernameHashed UsernameMode = "hashed" // stored as a keyed hash: stable, not reversible without the key
	UsernameNone   UsernameMode = "none"   // not stored at all
)

// StoragePolicy is the before-storage half of the engine: what the instance
// keeps out of the store whatever the reader's roles. What is not stored can
// never leak.
type StoragePolicy struct {
	Username    UsernameMode
	CollectUPN  bool
	CollectURLs bool
}

// DefaultStoragePolicy is the privacy policy's default: user names in
// clear, no UPN, no URLs.
func DefaultStoragePolicy() StoragePolicy {
	return StoragePolicy{Username: UsernameClear}
}

// Validate refuses an unknown username mode with a *FieldError on
// "username".
func (p StoragePolicy) Validate() error {
	switch p.Username {
	case UsernameClear, UsernameHashed, UsernameNone:
		return nil
	}
	return fieldErr("username", `must be "clear", "hashed" or "none"`)
}

// HiddenClass reports whether the policy keeps a whole class out of the
// store: Users when user names are not collected (or the mode is invalid:
// fail closed), Destinations when URLs are not collected. Devices are always
// stored: assignment and location need them.
func (p StoragePolicy) HiddenClass(c Class) bool {
	switch c {
	case Users:
		return p.Username != UsernameClear && p.Username != UsernameHashed
	case Destinations:
		return !p.CollectURLs
	case Devices, "":
		return false
	}
	return true
}

// Hidden reports whether the policy keeps output field out of the store: the
// fields of a hidden class, and "upn" when UPNs are not collected. Unknown
// fields are hidden. Per-application URL collection is finer than this and
// applies per event.
func (p StoragePolicy) Hidden(field string) bool {
	c, ok := ClassOf(field)
	if !ok || p.HiddenClass(c) {
		return true
	}
	return field == "upn" && !p.CollectUPN
}

// Identity returns what to store for a user reported as name and upn:
//   - clear: name as is; upn when UPNs are collected, else "";
//   - hashed: hash(name), and hash(upn) when UPNs are collected (a clear UPN
//     would undo the hash); empty inputs stay empty;
//   - none, an invalid mode, or hashed with a nil hash: "", "" (fail closed).
func (p StoragePolicy) Identity(name, upn string, hash func(string) string) (storedName, storedUPN string) {
	if !p.CollectUPN {
		upn = ""
	}
	switch p.Username {
	case UsernameClear:
		return name, upn
	case UsernameHashed:
		if hash == nil {
			return "", ""
		}
		if name != "" {
			storedName = hash(name)
		}
		if upn != "" {
			storedUPN = hash(upn)
		}
		return storedName, storedUPN
	}
	return "", ""
}

// MinHashKeyLen is the shortest key KeyedHash accepts.
const MinHashKeyLen = 32

// KeyedHash returns a keyed hash for StoragePolicy.Identity: HMAC-SHA256
// under key, hex-encoded and truncated to 128 bits (32 hex characters). It
// is deterministic for a key and not reversible without it. The key is
// copied; it must be at least MinHashKeyLen bytes.
func KeyedHash(key []byte) (func(string) string, error) {
	if len(key) < MinHashKeyLen {
		return nil, errors.New("privacy: hash key must be at least 32 bytes")
	}
	k := append([]byte(nil), key...)
	return func(s string) string {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(s))
		return hex.EncodeToString(m.Sum(nil)[:16])
	}, nil
}
