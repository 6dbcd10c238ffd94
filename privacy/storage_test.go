package privacy

import (
	"errors"
	"strings"
	"testing"
)

func TestStoragePolicyValidate(t *testing.T) {
	for _, m := range []UsernameMode{UsernameClear, UsernameHashed, UsernameNone} {
		if err := (StoragePolicy{Username: m}).Validate(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	for _, m := range []UsernameMode{"", "Clear", "hash"} {
		var fe *FieldError
		if err := (StoragePolicy{Username: m}).Validate(); !errors.As(err, &fe) || fe.Field != "username" {
			t.Errorf("%q: Validate = %v", m, err)
		}
	}
	if d := DefaultStoragePolicy(); d != (StoragePolicy{Username: UsernameClear}) {
		t.Errorf("default = %+v", d)
	}
}

func TestStoragePolicyHidden(t *testing.T) {
	tests := []struct {
		p      StoragePolicy
		hidden []string
		stored []string
	}{
		{DefaultStoragePolicy(), []string{"upn", "url", "template", "host", "bogus"}, []string{"user", "users", "user_id", "device", "public_ip", "application", "entity"}},
		{StoragePolicy{Username: UsernameClear, CollectUPN: true, CollectURLs: true}, []string{"bogus"}, []string{"user", "upn", "url", "template", "host", "device"}},
		{StoragePolicy{Username: UsernameHashed, CollectUPN: true}, []string{"url"}, []string{"user", "upn", "users"}},
		{StoragePolicy{Username: UsernameNone, CollectUPN: true, CollectURLs: true}, []string{"user", "upn", "user_id", "users"}, []string{"url", "device", "devices"}},
		{StoragePolicy{Username: "bogus", CollectUPN: true}, []string{"user", "upn"}, []string{"device"}},
	}
	for _, tt := range tests {
		for _, f := range tt.hidden {
			if !tt.p.Hidden(f) {
				t.Errorf("%+v: %q is stored, want kept out", tt.p, f)
			}
		}
		for _, f := range tt.stored {
			if tt.p.Hidden(f) {
				t.Errorf("%+v: %q is kept out, want stored", tt.p, f)
			}
		}
	}
	p := StoragePolicy{Username: UsernameNone}
	if !p.HiddenClass(Users) || p.HiddenClass(Devices) || !p.HiddenClass(Destinations) || p.HiddenClass("") || !p.HiddenClass("weird") {
		t.Error("HiddenClass wrong")
	}
}

func TestStoragePolicyIdentity(t *testing.T) {
	hash := func(s string) string { return "h(" + s + ")" }
	tests := []struct {
		p           StoragePolicy
		hash        func(string) string
		name, upn   string
		wName, wUPN string
	}{
		{StoragePolicy{Username: UsernameClear}, hash, "jdoe", "jdoe@corp", "jdoe", ""},
		{StoragePolicy{Username: UsernameClear, CollectUPN: true}, hash, "jdoe", "jdoe@corp", "jdoe", "jdoe@corp"},
		{StoragePolicy{Username: UsernameHashed}, hash, "jdoe", "jdoe@corp", "h(jdoe)", ""},
		{StoragePolicy{Username: UsernameHashed, CollectUPN: true}, hash, "jdoe", "jdoe@corp", "h(jdoe)", "h(jdoe@corp)"},
		{StoragePolicy{Username: UsernameHashed, CollectUPN: true}, hash, "", "", "", ""},
		{StoragePolicy{Username: UsernameHashed, CollectUPN: true}, nil, "jdoe", "jdoe@corp", "", ""},
		{StoragePolicy{Username: UsernameNone, CollectUPN: true}, hash, "jdoe", "jdoe@corp", "", ""},
		{StoragePolicy{Username: "", CollectUPN: true}, hash, "jdoe", "jdoe@corp", "", ""},
	}
	for _, tt := range tests {
		n, u := tt.p.Identity(tt.name, tt.upn, tt.hash)
		if n != tt.wName || u != tt.wUPN {
			t.Errorf("%+v Identity(%q, %q) = %q, %q; want %q, %q", tt.p, tt.name, tt.upn, n, u, tt.wName, tt.wUPN)
		}
	}
}

func TestKeyedHash(t *testing.T) {
	if _, err := KeyedHash([]byte("short")); err == nil {
		t.Fatal("accepted a short key")
	}
	key := []byte(strings.Repeat("k", MinHashKeyLen))
	h1, err := KeyedHash(key)
	if err != nil {
		t.Fatal(err)
	}
	key[0] = 'x' // the key is copied
	h2, _ := KeyedHash([]byte(strings.Repeat("k", MinHashKeyLen)))
	h3, _ := KeyedHash(key)
	a := h1("jdoe")
	if len(a) != 32 || a != h2("jdoe") || a == h1("jdoe2") || a == h3("jdoe") || strings.Contains(a, "jdoe") {
		t.Fatalf("hash %q is not stable, keyed and opaque", a)
	}
	// Through the policy the hash is what gets stored.
	n, _ := StoragePolicy{Username: UsernameHashed}.Identity("jdoe", "", h1)
	if n != a {
		t.Fatalf("stored %q, want %q", n, a)
	}
}
