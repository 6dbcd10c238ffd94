package keys

import (
	"regexp"
	"testing"
)

func TestIndexAndPseudonymShape(t *testing.T) {
	k := openT(t, t.TempDir(), "")
	if got := k.Index("user", "jdoe"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
		t.Errorf("Index = %q, want 32 hex characters", got)
	}
	for domain, re := range map[string]string{
		"user":   `^u-[a-z2-7]{16}$`,
		"device": `^d-[a-z2-7]{16}$`,
		"Host":   `^h-[a-z2-7]{16}$`,
		"":       `^x-[a-z2-7]{16}$`,
		"9lives": `^x-[a-z2-7]{16}$`,
	} {
		if got := k.Pseudonym(domain, "jdoe"); !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("Pseudonym(%q) = %q, want %s", domain, got, re)
		}
	}
}

func TestIndexAndPseudonymSeparation(t *testing.T) {
	k := openT(t, t.TempDir(), "")
	seen := map[string]string{}
	add := func(what, v string) {
		t.Helper()
		if prev, dup := seen[v[len(v)-16:]]; dup {
			t.Errorf("%s collides with %s", what, prev)
		}
		seen[v[len(v)-16:]] = what
	}
	for _, in := range []struct{ domain, value string }{
		{"user", "jdoe"}, {"device", "jdoe"}, {"user", "jdoe2"}, {"user", "Jdoe"},
		{"ab", "c"}, {"a", "bc"}, {"user", ""}, {"", "user"},
	} {
		add("Index("+in.domain+","+in.value+")", k.Index(in.domain, in.value))
		add("Pseudonym("+in.domain+","+in.value+")", k.Pseudonym(in.domain, in.value))
	}
	other := openT(t, t.TempDir(), "")
	if other.Index("user", "jdoe") == k.Index("user", "jdoe") || other.Pseudonym("user", "jdoe") == k.Pseudonym("user", "jdoe") {
		t.Error("two instances give the same Index or Pseudonym")
	}
}

func TestIndexStableAcrossOpenAndRotation(t *testing.T) {
	dir := t.TempDir()
	k := openT(t, dir, "")
	index, pseudo := k.Index("user", "jdoe"), k.Pseudonym("user", "jdoe")
	if k.Index("user", "jdoe") != index || k.Pseudonym("user", "jdoe") != pseudo {
		t.Fatal("not stable within one keyring")
	}
	byok := writeKEKFile(t, "byok", randomBytes(KEKSize))
	if err := Rewrap(dir, "", byok); err != nil {
		t.Fatal(err)
	}
	k2 := openT(t, dir, byok)
	if _, err := k2.AddDataKey(); err != nil {
		t.Fatal(err)
	}
	for _, kk := range []*Keyring{k2, openT(t, dir, byok)} {
		if kk.Index("user", "jdoe") != index || kk.Pseudonym("user", "jdoe") != pseudo {
			t.Fatal("Index or Pseudonym changed across Open, Rewrap and AddDataKey")
		}
	}
}
