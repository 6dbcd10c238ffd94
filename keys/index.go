package keys

import (
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// indexMAC is a reusable HMAC-SHA256 under the index key with scratch space,
// so Index and Pseudonym allocate only their result.
type indexMAC struct {
	h   hash.Hash
	buf []byte
	sum [32]byte
}

// Domain-separation labels: an Index and a Pseudonym of the same value are
// unrelated.
const (
	labelIndex     = "webusage/index/v1"
	labelPseudonym = "webusage/pseudonym/v1"
)

// mac returns HMAC(index key, label | len(domain) | domain | value) in m.sum;
// the length prefix makes the encoding unambiguous.
func (k *Keyring) mac(label, domain, value string, f func(sum []byte) string) string {
	m := k.macs.Get().(*indexMAC)
	b := append(m.buf[:0], label...)
	b = binary.AppendUvarint(b, uint64(len(domain)))
	b = append(b, domain...)
	b = append(b, value...)
	m.h.Reset()
	m.h.Write(b)
	out := f(m.h.Sum(m.sum[:0]))
	if cap(b) <= 4096 {
		m.buf = b
	}
	k.macs.Put(m)
	return out
}

// Index returns a keyed hash of value in domain (such as "user" or "device")
// for lookup columns: 32 lower-case hex characters (128 bits). Equal inputs
// give equal outputs for the life of the data directory, across Open calls,
// KEK rotations and new data keys; different domains give unrelated outputs.
// Without the index key the output reveals nothing about value.
func (k *Keyring) Index(domain, value string) string {
	return k.mac(labelIndex, domain, value, func(sum []byte) string {
		return hex.EncodeToString(sum[:16])
	})
}

var pseudonymEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Pseudonym returns a short, stable, irreversible pseudonym of value in
// domain, for the hashed username mode and anonymization: the first letter of
// domain (lower-case ASCII, "x" if domain does not start with one), a dash and
// 16 base32 characters (80 bits), e.g. "u-k3v7…" for domain "user". It is as
// stable as Index and unrelated to it.
func (k *Keyring) Pseudonym(domain, value string) string {
	prefix := byte('x')
	if domain != "" {
		switch c := domain[0]; {
		case 'a' <= c && c <= 'z':
			prefix = c
		case 'A' <= c && c <= 'Z':
			prefix = c + ('a' - 'A')
		}
	}
	return k.mac(labelPseudonym, domain, value, func(sum []byte) string {
		var out [18]byte
		out[0], out[1] = prefix, '-'
		pseudonymEncoding.Encode(out[2:], sum[:10])
		return string(out[:])
	})
}
