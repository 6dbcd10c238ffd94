package keys

import "testing"

func BenchmarkSeal(b *testing.B) {
	k := openT(b, b.TempDir(), "")
	v := []byte("jdoe@corp.example")
	b.ReportAllocs()
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		k.Seal(v, "users.upn")
	}
}

func BenchmarkUnseal(b *testing.B) {
	k := openT(b, b.TempDir(), "")
	sealed := k.SealString("jdoe@corp.example", "users.upn")
	b.ReportAllocs()
	b.SetBytes(int64(len(sealed) - SealOverhead))
	for b.Loop() {
		if _, err := k.Unseal(sealed, "users.upn"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndex(b *testing.B) {
	k := openT(b, b.TempDir(), "")
	b.ReportAllocs()
	for b.Loop() {
		k.Index("user", "jdoe@corp.example")
	}
}

func BenchmarkPseudonym(b *testing.B) {
	k := openT(b, b.TempDir(), "")
	b.ReportAllocs()
	for b.Loop() {
		k.Pseudonym("user", "jdoe@corp.example")
	}
}
